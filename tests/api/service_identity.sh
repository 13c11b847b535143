#!/usr/bin/env bash
# Service test for cloud-api's identity (Keystone v3): a private PostgreSQL in
# a temporary folder, `cloud-api bootstrap`, then cloud-api on a free loopback
# port driven with curl and the real openstack CLI.
#
#   service_identity.sh CLOUD_API_BINARY SOURCE_DIR
#
# Exit 0 when every check passed, 1 otherwise, 77 (skip) when PostgreSQL, curl
# or the openstack CLI is missing. Everything it starts is stopped on exit.
set -u

API_BIN=${1:?usage: service_identity.sh CLOUD_API_BINARY SOURCE_DIR}
SRC=${2:?usage: service_identity.sh CLOUD_API_BINARY SOURCE_DIR}

# shellcheck source=scripts/lib/postgres.sh
. "$SRC/scripts/lib/postgres.sh"

command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
command -v openstack >/dev/null || { echo "SKIP: the openstack CLI is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -x "${PG_BINDIR:-}/initdb" ] || { echo "SKIP: no PostgreSQL server (initdb) found"; exit 77; }

TMP=$(mktemp -d /tmp/nube-api-test.XXXXXX)
API_PID=
fail=0
checks=0

cleanup() {
    if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null
        wait "$API_PID" 2>/dev/null
    fi
    pg_stop "$TMP" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
    checks=$((checks + 1))
    echo "ok: $*"
}
bad() {
    checks=$((checks + 1))
    fail=$((fail + 1))
    echo "FAIL: $*"
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PG_PORT=$(free_port)
API_PORT=$(free_port)
pg_start "$TMP" "$PG_PORT" --fast || { echo "FAIL: PostgreSQL did not start"; exit 1; }

# public_url names the host differently from the bind address, to prove self
# links come from the configuration
PUBLIC=http://localhost:$API_PORT
URL=http://127.0.0.1:$API_PORT
cat >"$TMP/api.conf" <<EOF
[api]
host = 127.0.0.1
port = $API_PORT
public_url = $PUBLIC
workers = 2
connection_timeout = 75
[database]
connection = $(pg_conninfo "$TMP")
migrations_dir = $SRC/db/migrations
[identity]
key_dir = $TMP/keys
token_expiration = 3600
role_cache_ttl = 10
revocation_refresh_ms = 500
[bus]
# required by cloud-api; no broker runs in this test, so the compute API's bus
# is set but unreachable (the api keeps serving and its consumer retries)
url = amqp://nube:unused@127.0.0.1:1/
[catalog]
volumev3 = http://localhost:8776/v3/\$(project_id)s
[log]
level = info
file = $TMP/api.log
EOF

# ---- bootstrap (twice: idempotent) ----
check "bootstrap runs" "$API_BIN" bootstrap --config "$TMP/api.conf" --admin-password 'Adm1n!pw'
check "bootstrap runs again" "$API_BIN" bootstrap --config "$TMP/api.conf" --admin-password 'Adm1n!pw'
check "token key created with mode 0600" test "$(stat -c %a "$TMP/keys/token.key")" = 600
psql_q() {
    PGPASSWORD=$(cat "$TMP/pg-password") "$PG_BINDIR/psql" -h 127.0.0.1 -p "$PG_PORT" -U nube \
        -d nube -tAc "$1"
}
check "bootstrap is idempotent (1 admin user, 3 roles, 1 admin project, 3 identity endpoints)" \
    test "$(psql_q "SELECT (SELECT count(*) FROM identity_user WHERE name = 'admin') || ',' ||
                          (SELECT count(*) FROM role) || ',' ||
                          (SELECT count(*) FROM project WHERE name = 'admin') || ',' ||
                          (SELECT count(*) FROM catalog_endpoint e JOIN catalog_service s
                             ON s.id = e.service_id WHERE s.type = 'identity')")" = "1,3,1,3"

# ---- [bus] url is required: never a guessed broker ----
sed -e '/^\[bus\]/,/^url/d' -e "s|^file = .*|file = $TMP/api-nobus.log|" "$TMP/api.conf" >"$TMP/api-nobus.conf"
check "serve without [bus] url exits 1 at once" \
    bash -c "timeout 10 '$API_BIN' --config '$TMP/api-nobus.conf'; [ \$? = 1 ]"
check "serve without [bus] url says to set it" grep -q '\[bus\] url is not set' "$TMP/api-nobus.log"

start_api() {
    "$API_BIN" --config "$TMP/api.conf" &
    API_PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$URL/v3" && return 0
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: cloud-api did not start; log:"
    cat "$TMP/api.log"
    exit 1
}
start_api

# ---- helpers over curl ----
# req METHOD PATH [curl args...]: sets STATUS, BODY (file), HEADERS (file)
BODY=$TMP/body
HEADERS=$TMP/headers
req() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' "$@" "$URL$path")
}
header() { # header NAME: value of a response header
    grep -i "^$1:" "$HEADERS" | head -n 1 | cut -d' ' -f2- | tr -d '\r'
}
json() { # json PYTHON-EXPR over the body as `b`
    python3 -c "import json,sys; b = json.load(open('$BODY')); print($1)"
}
# expect_error METHOD PATH STATUS DESCRIPTION [curl args...]: the status, a
# Keystone error body with that code, and a request id
expect_error() {
    local method=$1 path=$2 want=$3 what=$4
    shift 4
    req "$method" "$path" "$@"
    local code
    code=$(python3 -c "import json; print(json.load(open('$BODY'))['error']['code'])" 2>/dev/null)
    if [ "$STATUS" = "$want" ] && [ "$code" = "$want" ] && [[ $(header X-OpenStack-Request-Id) == req-* ]]; then
        ok "$what -> $want"
    else
        bad "$what: got $STATUS, body $(head -c 300 "$BODY")"
    fi
}

# ---- discovery ----
req GET /
check "GET / is 300" test "$STATUS" = 300
check "GET / lists v3 as stable" test "$(json "b['versions']['values'][0]['status']")" = stable
req GET /v3
check "GET /v3 is 200" test "$STATUS" = 200
check "self link built from public_url" test "$(json "b['version']['links'][0]['href']")" = "$PUBLIC/v3/"
check "media type" test "$(json "b['version']['media-types'][0]['type']")" = application/vnd.openstack.identity-v3+json
check "X-OpenStack-Request-Id on every response" test "$(header X-OpenStack-Request-Id | cut -c1-4)" = req-
RID=$(header X-OpenStack-Request-Id)
sleep 0.2
check "one log line per request (id, method, path, status, ms)" \
    grep -Eq "\\[$RID\\] GET /v3 200 [0-9.]+ms" "$TMP/api.log"

# ---- the openstack CLI as admin ----
export OS_AUTH_URL=$URL/v3 OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD='Adm1n!pw' \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
unset OS_CLOUD OS_TOKEN OS_AUTH_TYPE
osc() { openstack "$@" 2>"$TMP/osc.err"; }
check "openstack token issue (admin)" osc token issue -f value -c id
check "unversioned OS_AUTH_URL (GET / -> 300 -> follow the v3 self link)" \
    env OS_AUTH_URL="$URL" openstack token issue -f value -c id
check "openstack catalog list shows identity" bash -c "openstack catalog list -f value 2>/dev/null | grep -q identity"
check "openstack project create demo" osc project create demo -f value -c id
check "openstack user create --project demo --password s3cret alice" \
    osc user create --project demo --password s3cret alice -f value -c id
check "openstack role add --project demo --user alice member" osc role add --project demo --user alice member
check "role add again is idempotent" osc role add --project demo --user alice member
check "openstack role assignment list --names" \
    bash -c "openstack role assignment list --names -f value 2>/dev/null | grep -q 'member alice@Default  demo@Default'"
check "openstack project show demo (name lookup: 404 then ?name=)" osc project show demo -f value -c id
check "openstack user show alice" osc user show alice -f value -c id
check "openstack role list shows admin, member, reader" \
    bash -c "[ \"\$(openstack role list -f value -c Name 2>/dev/null | sort | tr '\n' ' ')\" = 'admin member reader ' ]"
check "openstack domain list" bash -c "openstack domain list -f value 2>/dev/null | grep -q '^default Default True'"
check "openstack endpoint list" bash -c "openstack endpoint list -f value 2>/dev/null | grep -q identity"
# placement: a type bootstrap registers only when [catalog] names it
check "openstack service create --name placement placement" osc service create --name placement placement
check "openstack endpoint create placement public" \
    osc endpoint create --region RegionOne placement public http://localhost:8778
if osc endpoint create --region RegionOne placement public http://localhost:8778; then
    bad "a duplicate endpoint was accepted"
else
    check "duplicate endpoint: 409" grep -q "HTTP 409" "$TMP/osc.err"
fi
check "a new token's catalog lists placement" bash -c "openstack catalog list -f value -c Type 2>/dev/null | grep -qx placement"
check "openstack endpoint delete" bash -c "openstack endpoint delete \$(openstack endpoint list --service placement -f value -c ID 2>/dev/null)"
check "openstack service delete placement" osc service delete placement
check "placement is gone from the catalog" bash -c "! openstack catalog list -f value -c Type 2>/dev/null | grep -qx placement"
DEMO_ID=$(openstack project show demo -f value -c id 2>/dev/null)
ALICE_ID=$(openstack user show alice -f value -c id 2>/dev/null)

# ---- as alice (member of demo) ----
as_alice() { OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack "$@" 2>"$TMP/osc.err"; }
check "openstack token issue as alice" as_alice token issue -f value -c id
check "alice's token is scoped to demo" test "$(as_alice token issue -f value -c project_id)" = "$DEMO_ID"
# Keystone's current defaults: listing projects and users is for admins (GET
# /v3/projects is 403 for her, checked over curl below; the CLI then falls
# back to her own projects, /v3/users/{id}/projects)
check "alice's project list is her own projects" test "$(as_alice project list -f value -c Name)" = demo
if as_alice user list >/dev/null; then
    bad "alice (member) listed users"
else
    check "alice cannot list users: 403" grep -q "HTTP 403" "$TMP/osc.err"
fi
check "alice still sees her own project" test "$(as_alice project show demo -f value -c name)" = demo
check "alice still sees herself" test "$(as_alice user show alice -f value -c name)" = alice
if as_alice project create nope >/dev/null; then
    bad "alice (member) created a project"
else
    check "alice cannot create a project: 403" grep -q "HTTP 403" "$TMP/osc.err"
fi
if OS_USERNAME=alice OS_PASSWORD=wrong OS_PROJECT_NAME=demo openstack token issue >/dev/null 2>"$TMP/osc.err"; then
    bad "wrong password accepted"
else
    check "wrong password: a clear 401" grep -q "Invalid username or password. (HTTP 401)" "$TMP/osc.err"
fi

# ---- tokens over curl ----
AUTH_ADMIN='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"Adm1n!pw","domain":{"name":"Default"}}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
issue() { # issue BODY: sets TOKEN and STATUS, leaves the body in $BODY
    req POST /v3/auth/tokens -H 'Content-Type: application/json' -d "$1"
    TOKEN=$(header X-Subject-Token)
}
issue "$AUTH_ADMIN"
ADMIN_TOKEN=$TOKEN
check "POST /v3/auth/tokens is 201" test "$STATUS" = 201
check "token body fields" python3 - "$BODY" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))["token"]
assert t["methods"] == ["password"]
assert t["expires_at"] > t["issued_at"] and t["expires_at"].endswith("Z")
assert len(t["audit_ids"]) == 1 and len(t["audit_ids"][0]) == 22
assert t["user"]["name"] == "admin" and t["user"]["domain"] == {"id": "default", "name": "Default"}
assert "password_expires_at" in t["user"]
assert t["project"]["name"] == "admin" and t["project"]["domain"]["name"] == "Default"
assert t["is_domain"] is False
assert any(r["name"] == "admin" for r in t["roles"])
ident = [s for s in t["catalog"] if s["type"] == "identity"][0]
assert sorted(e["interface"] for e in ident["endpoints"]) == ["admin", "internal", "public"]
for e in ident["endpoints"]:
    assert e["region"] == e["region_id"] == "RegionOne"
EOF
cp "$BODY" "$TMP/issued.json"
req GET /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
check "GET /v3/auth/tokens is 200" test "$STATUS" = 200
check "validation body equals the issue body" \
    python3 -c "import json,sys; sys.exit(json.load(open('$TMP/issued.json')) != json.load(open('$BODY')))"
check "X-Subject-Token echoed" test "$(header X-Subject-Token)" = "$ADMIN_TOKEN"
req HEAD /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN" -I
check "HEAD /v3/auth/tokens is 200" test "$STATUS" = 200
req GET /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
check "validated again (from the token cache): still equal to the issue body" \
    python3 -c "import json,sys; sys.exit(json.load(open('$TMP/issued.json')) != json.load(open('$BODY')))"
req GET "/v3/auth/tokens?nocatalog" -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
check "?nocatalog is cached apart: no catalog" test "$STATUS:$(json "'catalog' in b['token']")" = "200:False"
req GET /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
check "and the full body still has it" test "$STATUS:$(json "'catalog' in b['token']")" = "200:True"

# a catalog change made here shows in validation bodies at once (the cache is warm)
catalog_types() { # the service types in a validation of the admin token
    req GET /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
    json "' '.join(sorted(s['type'] for s in b['token']['catalog']))"
}
req POST /v3/services -H "X-Auth-Token: $ADMIN_TOKEN" -d '{"service":{"type":"placement","name":"placement"}}'
PLACEMENT_ID=$(json "b['service']['id']")
req POST /v3/endpoints -H "X-Auth-Token: $ADMIN_TOKEN" \
    -d '{"endpoint":{"service_id":"'"$PLACEMENT_ID"'","interface":"public","region":"RegionOne","url":"http://localhost:8778"}}'
PLACEMENT_EP=$(json "b['endpoint']['id']")
check "an endpoint created here: the next validation lists it" \
    bash -c "[[ ' $(catalog_types) ' == *' placement '* ]]"
req DELETE "/v3/endpoints/$PLACEMENT_EP" -H "X-Auth-Token: $ADMIN_TOKEN"
req DELETE "/v3/services/$PLACEMENT_ID" -H "X-Auth-Token: $ADMIN_TOKEN"
check "deleted here: the next validation no longer lists it" \
    bash -c "[[ ' $(catalog_types) ' != *' placement '* ]]"

# alice's token: the $(project_id)s of the catalog is filled with her project
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$ALICE_ID"'","password":"s3cret"}}},"scope":{"project":{"id":"'"$DEMO_ID"'"}}}}'
ALICE_TOKEN=$TOKEN
check "token by user id and project id" test "$STATUS" = 201
check "catalog URL carries the token's project id" \
    test "$(json "[e['url'] for s in b['token']['catalog'] if s['type'] == 'volumev3' for e in s['endpoints'] if e['interface'] == 'public'][0]")" = "http://localhost:8776/v3/$DEMO_ID"
req GET /v3/auth/tokens -H "X-Auth-Token: $ALICE_TOKEN" -H "X-Subject-Token: $ALICE_TOKEN"
check "a user validates their own token" test "$STATUS" = 200
expect_error GET /v3/auth/tokens 403 "alice validating the admin's token" \
    -H "X-Auth-Token: $ALICE_TOKEN" -H "X-Subject-Token: $ADMIN_TOKEN"
expect_error GET /v3/projects 403 "a member listing projects" -H "X-Auth-Token: $ALICE_TOKEN"
expect_error GET /v3/users 403 "a member listing users" -H "X-Auth-Token: $ALICE_TOKEN"

# unscoped (no scope, no default project) and rescoped by the token method
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"Adm1n!pw","domain":{"id":"default"}}}}}}'
UNSCOPED=$TOKEN
check "unscoped token: 201, no project, no catalog" \
    test "$STATUS:$(json "'project' in b['token'] or 'catalog' in b['token']")" = "201:False"
issue '{"auth":{"identity":{"methods":["token"],"token":{"id":"'"$UNSCOPED"'"}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
RESCOPED=$TOKEN
check "token method rescopes to a project (keeping the password method, as Keystone)" \
    test "$STATUS:$(json "','.join(b['token']['methods']) + ',' + str(len(b['token']['audit_ids']))")" = "201:password,token,2"

# revocation: DELETE, then GET/HEAD 404 and use 401; revoking the parent
# revokes the rescoped token (same audit chain)
issue "$AUTH_ADMIN"
VICTIM=$TOKEN
for _ in 1 2; do # warm: served from the token cache
    req GET /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $VICTIM"
done
check "the victim validates before its revocation" test "$STATUS" = 200
req DELETE /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $VICTIM"
check "DELETE /v3/auth/tokens is 204" test "$STATUS" = 204
check "204 has no body" test ! -s "$BODY"
expect_error GET /v3/auth/tokens 404 "GET of a revoked token" \
    -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $VICTIM"
req HEAD /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $VICTIM" -I
check "HEAD of a revoked token is 404" test "$STATUS" = 404
expect_error GET /v3/projects 401 "using a revoked token" -H "X-Auth-Token: $VICTIM"
req DELETE /v3/auth/tokens -H "X-Auth-Token: $ADMIN_TOKEN" -H "X-Subject-Token: $UNSCOPED"
expect_error GET /v3/projects 401 "a token rescoped from a revoked one" -H "X-Auth-Token: $RESCOPED"

# ---- bad input ----
T=$ADMIN_TOKEN
expect_error POST /v3/projects 400 "malformed JSON" -H "X-Auth-Token: $T" -d '{"project": {"name": '
check "the parse error says where" grep -q "position" "$BODY"
expect_error POST /v3/projects 400 "wrong type (name is a number)" -H "X-Auth-Token: $T" -d '{"project":{"name":5}}'
expect_error POST /v3/projects 400 "wrong type (enabled is a string)" -H "X-Auth-Token: $T" -d '{"project":{"name":"p","enabled":"yes"}}'
expect_error POST /v3/projects 400 "missing field (name)" -H "X-Auth-Token: $T" -d '{"project":{}}'
expect_error POST /v3/projects 400 "missing wrapper object" -H "X-Auth-Token: $T" -d '{"name":"p"}'
expect_error POST /v3/projects 400 "JSON that is not an object" -H "X-Auth-Token: $T" -d '[1,2]'
expect_error POST /v3/projects 400 "empty body" -H "X-Auth-Token: $T" -H 'Content-Type: application/json'
expect_error POST /v3/auth/tokens 400 "token request without identity" -d '{"auth":{}}'
expect_error POST /v3/auth/tokens 400 "methods not an array" -d '{"auth":{"identity":{"methods":"password"}}}'
expect_error POST /v3/auth/tokens 401 "unknown auth method" -d '{"auth":{"identity":{"methods":["kerberos"]}}}'
expect_error POST /v3/auth/tokens 401 "unknown user" \
    -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"nobody","password":"x","domain":{"id":"default"}}}}}}'
expect_error PATCH /v3/auth/tokens 405 "known path, wrong method" -H "X-Auth-Token: $T"
expect_error DELETE /v3/projects 405 "DELETE on a collection" -H "X-Auth-Token: $T"
expect_error FROB /v3/projects 405 "unknown HTTP method" -H "X-Auth-Token: $T"
expect_error GET /v3/no-such-thing 404 "unknown path" -H "X-Auth-Token: $T"
expect_error GET /v3/projects 401 "no token"
expect_error GET /v3/projects 401 "garbage token" -H "X-Auth-Token: garbage"
printf '{"project":{"name":"\xff\xfe"}}' >"$TMP/bad-utf8.json"
expect_error POST /v3/projects 400 "non-UTF-8 body" -H "X-Auth-Token: $T" --data-binary "@$TMP/bad-utf8.json"
expect_error GET "/v3/projects?name=%ff" 400 "non-UTF-8 query" -H "X-Auth-Token: $T"
head -c 2000000 /dev/zero | tr '\0' a >"$TMP/big.json"
expect_error POST /v3/projects 413 "oversized body (Content-Length)" -H "X-Auth-Token: $T" --data-binary "@$TMP/big.json"
expect_error POST /v3/projects 413 "oversized body (chunked)" -H "X-Auth-Token: $T" \
    -H 'Transfer-Encoding: chunked' --data-binary "@$TMP/big.json"
expect_error GET "/v3/projects/..%2F..%2Fetc%2Fpasswd" 404 "path traversal in an id (encoded)" -H "X-Auth-Token: $T"
expect_error GET "/v3/projects/../users" 404 "path traversal segment" -H "X-Auth-Token: $T" --path-as-is
expect_error GET "/v3/users/..%2Fx" 404 "path traversal in a user id" -H "X-Auth-Token: $T"
expect_error GET "/v3/projects/$(printf 'a%.0s' $(seq 1 300))" 404 "over-long id" -H "X-Auth-Token: $T"
SQLNAME="x'; DROP TABLE project; --"
req POST /v3/projects -H "X-Auth-Token: $T" -d "{\"project\":{\"name\":\"$SQLNAME\"}}"
check "SQL metacharacters in a name are stored as data (201)" test "$STATUS" = 201
req GET "/v3/projects?name=x%27%3B%20DROP%20TABLE%20project%3B%20--" -H "X-Auth-Token: $T"
check "and found by exact name" test "$STATUS:$(json "len(b['projects'])")" = "200:1"
expect_error POST /v3/projects 409 "duplicate project name" -H "X-Auth-Token: $T" -d '{"project":{"name":"demo"}}'
expect_error POST /v3/projects 400 "over-long name" -H "X-Auth-Token: $T" \
    -d "{\"project\":{\"name\":\"$(printf 'n%.0s' $(seq 1 300))\"}}"
expect_error GET /v3/projects/nosuchproject 404 "GET project by name is 404" -H "X-Auth-Token: $T"
check "the server is still up after the bad input" curl -sf -o /dev/null "$URL/v3"
check "no 500 in the log" bash -c "! grep -Eq ' 5[0-9][0-9] [0-9.]+ms' '$TMP/api.log'"

# ---- readers: read their project, never write ----
check "create user bob (reader of demo)" osc user create --project demo --password b0bpw bob -f value -c id
check "role add reader" osc role add --project demo --user bob reader
as_bob() { OS_USERNAME=bob OS_PASSWORD=b0bpw OS_PROJECT_NAME=demo openstack "$@" 2>"$TMP/osc.err"; }
check "bob sees demo" test "$(as_bob project show demo -f value -c name)" = demo
if as_bob user create eve --password x >/dev/null; then bad "a reader created a user"; else ok "a reader cannot create a user"; fi
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"bob","password":"b0bpw","domain":{"name":"Default"}}}},"scope":{"project":{"name":"demo","domain":{"name":"Default"}}}}}'
BOB_TOKEN0=$TOKEN
as_alice_pw() {
    local pw=$1
    shift
    OS_USERNAME=alice OS_PASSWORD=$pw OS_PROJECT_NAME=demo openstack "$@" 2>"$TMP/osc.err"
}

# ---- role definitions, grant checks, password change ----
check "openstack role create auditor" osc role create auditor -f value -c id
AUDITOR_ID=$(openstack role show auditor -f value -c id 2>/dev/null)
expect_error POST /v3/roles 409 "duplicate role" -H "X-Auth-Token: $T" -d '{"role":{"name":"auditor"}}'
token_roles() { # token_roles TOKEN: the role names in its validation by the admin, or the status
    req GET /v3/auth/tokens -H "X-Auth-Token: $T" -H "X-Subject-Token: $1"
    if [ "$STATUS" = 200 ]; then json "','.join(sorted(r['name'] for r in b['token']['roles']))"; else echo "$STATUS"; fi
}
check "alice's token shows role member (and is now cached)" test "$(token_roles "$ALICE_TOKEN")" = member
check "cached" test "$(token_roles "$ALICE_TOKEN")" = member
req PUT "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/$AUDITOR_ID" -H "X-Auth-Token: $T"
check "PUT grant is 204" test "$STATUS" = 204
check "a role granted here shows in her token's body at once" \
    test "$(token_roles "$ALICE_TOKEN")" = auditor,member
req PUT "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/$AUDITOR_ID" -H "X-Auth-Token: $T"
check "PUT grant again is 204 (idempotent)" test "$STATUS" = 204
req HEAD "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/$AUDITOR_ID" -H "X-Auth-Token: $T" -I
check "HEAD grant is 204" test "$STATUS" = 204
req GET "/v3/role_assignments?user.id=$ALICE_ID&scope.project.id=$DEMO_ID" -H "X-Auth-Token: $T"
check "GET /v3/role_assignments lists member and auditor" test "$(json "len(b['role_assignments'])")" = 2
check "openstack role delete auditor" osc role delete auditor
check "a role deleted here leaves her token's body at once" test "$(token_roles "$ALICE_TOKEN")" = member
project_name_now() { req GET /v3/auth/tokens -H "X-Auth-Token: $T" -H "X-Subject-Token: $ALICE_TOKEN"; json "b['token']['project']['name']"; }
req PATCH "/v3/projects/$DEMO_ID" -H "X-Auth-Token: $T" -d '{"project":{"name":"demo-renamed"}}'
check "a project renamed here: the cached body shows the new name at once" \
    test "$(project_name_now)" = demo-renamed
req PATCH "/v3/projects/$DEMO_ID" -H "X-Auth-Token: $T" -d '{"project":{"name":"demo"}}'
check "and renamed back" test "$(project_name_now)" = demo
req HEAD "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/$AUDITOR_ID" -H "X-Auth-Token: $T" -I
check "HEAD grant of a deleted role is 404" test "$STATUS" = 404
expect_error PUT "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/nosuchrole" 404 "grant of an unknown role" -H "X-Auth-Token: $T"
expect_error PUT "/v3/projects/$DEMO_ID/users/$ALICE_ID/roles/$AUDITOR_ID" 403 "a member granting roles" -H "X-Auth-Token: $ALICE_TOKEN"
expect_error POST "/v3/users/$ALICE_ID/password" 401 "password change with a wrong original" \
    -H "X-Auth-Token: $ALICE_TOKEN" -d '{"user":{"password":"n3w","original_password":"nope"}}'
expect_error POST "/v3/users/$ALICE_ID/password" 403 "changing someone else's password" \
    -H "X-Auth-Token: $BOB_TOKEN0" -d '{"user":{"password":"n3w","original_password":"s3cret"}}'
req POST "/v3/users/$ALICE_ID/password" -H "X-Auth-Token: $ALICE_TOKEN" \
    -d '{"user":{"password":"n3wpass","original_password":"s3cret"}}'
check "alice changes her password (204)" test "$STATUS" = 204
expect_error GET /v3/projects 401 "tokens from before a password change" -H "X-Auth-Token: $ALICE_TOKEN"
check "the new password works" as_alice_pw n3wpass token issue -f value -c id
req PATCH "/v3/users/$ALICE_ID" -H "X-Auth-Token: $T" -d '{"user":{"password":"s3cret"}}'
check "an admin resets it (PATCH)" test "$STATUS" = 200
check "the PATCH response has no password hash" bash -c "! grep -q pbkdf2 '$BODY'"

# ---- disabled / deleted users and projects lose their tokens ----
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$ALICE_ID"'","password":"s3cret"}}},"scope":{"project":{"id":"'"$DEMO_ID"'"}}}}'
ALICE_TOKEN=$TOKEN
req GET "/v3/projects/$DEMO_ID" -H "X-Auth-Token: $ALICE_TOKEN"
check "alice's fresh token works" test "$STATUS" = 200
check "and validates (cached since its issue)" test "$(token_roles "$ALICE_TOKEN")" = member
check "openstack role remove --project demo --user alice member" osc role remove --project demo --user alice member
check "her last role removed here: validation is 404 at once" test "$(token_roles "$ALICE_TOKEN")" = 404
expect_error GET /v3/projects 401 "token of a user whose last role went" -H "X-Auth-Token: $ALICE_TOKEN"
check "role add back" osc role add --project demo --user alice member
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$ALICE_ID"'","password":"s3cret"}}},"scope":{"project":{"id":"'"$DEMO_ID"'"}}}}'
ALICE_TOKEN=$TOKEN
check "alice's new token validates (cached)" test "$(token_roles "$ALICE_TOKEN")" = member
check "openstack user set --disable alice" osc user set --disable alice
check "a disabled user's cached token: validation is 404" test "$(token_roles "$ALICE_TOKEN")" = 404
expect_error GET /v3/projects 401 "token of a disabled user" -H "X-Auth-Token: $ALICE_TOKEN"
expect_error POST /v3/auth/tokens 401 "a disabled user cannot authenticate" \
    -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$ALICE_ID"'","password":"s3cret"}}}}}'
check "openstack user set --enable alice" osc user set --enable alice
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"bob","password":"b0bpw","domain":{"name":"Default"}}}},"scope":{"project":{"name":"demo","domain":{"name":"Default"}}}}}'
BOB_TOKEN=$TOKEN
check "openstack project delete demo" osc project delete demo
expect_error GET /v3/users 401 "token of a deleted project" -H "X-Auth-Token: $BOB_TOKEN"
check "openstack user delete alice" osc user delete alice
expect_error GET "/v3/users/$ALICE_ID" 404 "deleted user is gone" -H "X-Auth-Token: $T"

# ---- domains: create, list, show, set, disable, delete ----
ids_of() { json "','.join(sorted(x['$1'] for x in b['$2']))"; } # ids_of FIELD COLLECTION
names_of() { json "','.join(sorted(x['name'] for x in b['$1']))"; }
check "openstack domain create acme" osc domain create --description "Acme Inc" acme -f value -c id
ACME_ID=$(openstack domain show acme -f value -c id 2>/dev/null)
check "openstack domain show acme (name lookup)" \
    test "$(openstack domain show acme -f value -c description 2>/dev/null)" = "Acme Inc"
check "openstack domain list shows acme, enabled" \
    bash -c "openstack domain list -f value 2>/dev/null | grep -qx '$ACME_ID acme True Acme Inc'"
expect_error POST /v3/domains 409 "duplicate domain name" -H "X-Auth-Token: $T" -d '{"domain":{"name":"acme"}}'
expect_error POST /v3/domains 400 "domain without a name" -H "X-Auth-Token: $T" -d '{"domain":{}}'
check "the 400 names the field" grep -q "'name'" "$BODY"
expect_error POST /v3/domains 400 "a blank domain name" -H "X-Auth-Token: $T" -d '{"domain":{"name":"   "}}'
check "the 400 names the field" grep -q "'name'" "$BODY"
expect_error POST /v3/domains 400 "a 65-character domain name" -H "X-Auth-Token: $T" \
    -d "{\"domain\":{\"name\":\"$(printf 'd%.0s' $(seq 1 65))\"}}"
expect_error POST /v3/projects 400 "a blank project name" -H "X-Auth-Token: $T" -d '{"project":{"name":" "}}'
expect_error POST /v3/domains 400 "domain enabled not a boolean" -H "X-Auth-Token: $T" \
    -d '{"domain":{"name":"x","enabled":"no"}}'
check "the 400 names the field" grep -q "'enabled'" "$BODY"
expect_error GET /v3/domains/0123456789abcdef0123456789abcdef 404 "unknown domain id" -H "X-Auth-Token: $T"
expect_error PATCH /v3/domains/0123456789abcdef0123456789abcdef 404 "update of an unknown domain" \
    -H "X-Auth-Token: $T" -d '{"domain":{"description":"x"}}'
expect_error PATCH /v3/domains/default 403 "disabling the default domain" -H "X-Auth-Token: $T" \
    -d '{"domain":{"enabled":false}}'
check "openstack project create --domain acme web" osc project create --domain acme web
check "openstack user create --domain acme carol" osc user create --domain acme --password c4rolpw carol
check "openstack role add (acme's user on acme's project)" \
    osc role add --project web --project-domain acme --user carol --user-domain acme member
check "openstack role add admin on web (to scope to it)" \
    osc role add --project web --project-domain acme --user admin --user-domain Default admin
as_carol() {
    OS_USERNAME=carol OS_PASSWORD=c4rolpw OS_USER_DOMAIN_NAME=acme OS_PROJECT_NAME=web \
        OS_PROJECT_DOMAIN_NAME=acme openstack "$@" 2>"$TMP/osc.err"
}
check "carol (domain acme) authenticates" as_carol token issue -f value -c id
WEB_ID=$(openstack project show --domain acme web -f value -c id 2>/dev/null)
CAROL_ID=$(openstack user show --domain acme carol -f value -c id 2>/dev/null)
CAROL_AUTH='{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$CAROL_ID"'","password":"c4rolpw"}}},"scope":{"project":{"id":"'"$WEB_ID"'"}}}}'
ADMIN_WEB='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","password":"Adm1n!pw","domain":{"id":"default"}}}},"scope":{"project":{"id":"'"$WEB_ID"'"}}}}'
issue "$CAROL_AUTH"
CAROL_TOKEN=$TOKEN
expect_error POST /v3/domains 403 "a member creating a domain" -H "X-Auth-Token: $CAROL_TOKEN" \
    -d '{"domain":{"name":"carols"}}'
expect_error DELETE "/v3/domains/$ACME_ID" 403 "a member deleting a domain" -H "X-Auth-Token: $CAROL_TOKEN"
expect_error DELETE "/v3/domains/$ACME_ID" 403 "deleting an enabled domain" -H "X-Auth-Token: $T"
check "says to disable it first" grep -q "please disable it first" "$BODY"
check "openstack domain set --description" osc domain set --description "Acme Corp" acme
check "openstack domain set --disable acme" osc domain set --disable acme
req GET "/v3/domains/$ACME_ID" -H "X-Auth-Token: $T"
check "GET shows it disabled, with the new description" \
    test "$(json "str(b['domain']['enabled']) + ',' + b['domain']['description']")" = "False,Acme Corp"
req GET "/v3/domains?enabled=false" -H "X-Auth-Token: $T"
check "?enabled=false lists acme" test "$(names_of domains)" = acme
req GET "/v3/domains?name=acme&enabled=true" -H "X-Auth-Token: $T"
check "?name=acme&enabled=true lists nothing" test "$(json "len(b['domains'])")" = 0
if as_carol token issue -f value -c id >/dev/null; then
    bad "a user of a disabled domain authenticated (by name)"
else
    check "a user of a disabled domain cannot authenticate (by name): 401" grep -q "HTTP 401" "$TMP/osc.err"
fi
expect_error POST /v3/auth/tokens 401 "a user of a disabled domain, by id" -d "$CAROL_AUTH"
expect_error POST /v3/auth/tokens 401 "scoping to a project of a disabled domain" -d "$ADMIN_WEB"
expect_error GET /v3/projects 401 "a token from before its domain was disabled" -H "X-Auth-Token: $CAROL_TOKEN"
check "openstack domain set --enable acme" osc domain set --enable acme
check "carol authenticates again" as_carol token issue -f value -c id
check "openstack domain set --disable acme (again)" osc domain set --disable acme
check "openstack domain delete acme" osc domain delete acme
expect_error GET "/v3/domains/$ACME_ID" 404 "a deleted domain" -H "X-Auth-Token: $T"
expect_error GET "/v3/projects/$WEB_ID" 404 "its project went with it" -H "X-Auth-Token: $T"
expect_error GET "/v3/users/$CAROL_ID" 404 "its user went with it" -H "X-Auth-Token: $T"

# ---- project tags ----
check "openstack project create --tag alpha --tag beta tagged" osc project create --tag alpha --tag beta tagged
TAGGED_ID=$(openstack project show tagged -f value -c id 2>/dev/null)
check "openstack project create --tag beta --tag gamma gammap" osc project create --tag beta --tag gamma gammap
check "openstack project create plain" osc project create plain
req GET "/v3/projects/$TAGGED_ID" -H "X-Auth-Token: $T"
check "GET lists the tags" test "$(json "','.join(sorted(b['project']['tags']))")" = alpha,beta
req GET "/v3/projects?name=tagged" -H "X-Auth-Token: $T"
check "the list shows them too" test "$(json "','.join(sorted(b['projects'][0]['tags']))")" = alpha,beta
tagq() { req GET "/v3/projects?$1" -H "X-Auth-Token: $T"; json "','.join(sorted(p['name'] for p in b['projects'] if p['name'] in ('tagged', 'gammap', 'plain')))"; }
check "?tags=alpha,beta (all)" test "$(tagq tags=alpha,beta)" = tagged
check "?tags-any=alpha,gamma" test "$(tagq tags-any=alpha,gamma)" = gammap,tagged
check "?not-tags=alpha,beta" test "$(tagq not-tags=alpha,beta)" = gammap,plain
check "?not-tags-any=beta" test "$(tagq not-tags-any=beta)" = plain
check "openstack project list --tags-any gamma" \
    test "$(openstack project list --tags-any gamma -f value -c Name 2>/dev/null)" = gammap
req GET "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $T"
check "GET .../tags" test "$STATUS:$(json "','.join(sorted(b['tags']))")" = 200:alpha,beta
req PUT "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $T" -d '{"tags":["x","y"]}'
check "PUT .../tags replaces the list" test "$STATUS:$(json "','.join(sorted(b['tags']))")" = 200:x,y
req PUT "/v3/projects/$TAGGED_ID/tags/z%20z" -H "X-Auth-Token: $T"
check "PUT .../tags/{tag} is 201" test "$STATUS" = 201
req HEAD "/v3/projects/$TAGGED_ID/tags/z%20z" -H "X-Auth-Token: $T" -I
check "HEAD .../tags/{tag} is 204" test "$STATUS" = 204
expect_error GET "/v3/projects/$TAGGED_ID/tags/nope" 404 "an absent tag" -H "X-Auth-Token: $T"
req DELETE "/v3/projects/$TAGGED_ID/tags/z%20z" -H "X-Auth-Token: $T"
check "DELETE .../tags/{tag} is 204" test "$STATUS" = 204
expect_error DELETE "/v3/projects/$TAGGED_ID/tags/z%20z" 404 "deleting it again" -H "X-Auth-Token: $T"
req DELETE "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $T"
req GET "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $T"
check "DELETE .../tags removes them all" test "$(json "len(b['tags'])")" = 0
check "openstack project set --tag alpha tagged" osc project set --tag alpha tagged
req GET "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $T"
check "and it shows" test "$(json "','.join(b['tags'])")" = alpha
expect_error PUT "/v3/projects/$TAGGED_ID/tags/a,b" 400 "a tag with a comma" -H "X-Auth-Token: $T"
check "the 400 names the field" grep -q "'tags'" "$BODY"
expect_error PUT "/v3/projects/$TAGGED_ID/tags" 400 "a tag with a slash" -H "X-Auth-Token: $T" -d '{"tags":["a/b"]}'
expect_error PUT "/v3/projects/$TAGGED_ID/tags/$(printf 't%.0s' $(seq 1 256))" 400 "a 256-character tag" -H "X-Auth-Token: $T"
expect_error PUT "/v3/projects/$TAGGED_ID/tags" 400 "81 tags" -H "X-Auth-Token: $T" \
    -d "{\"tags\":[$(seq -s, -f '"t%g"' 1 81)]}"
expect_error POST /v3/projects 400 "create with a tag that is not a string" -H "X-Auth-Token: $T" \
    -d '{"project":{"name":"badtags","tags":[1]}}'
expect_error GET /v3/projects/0123456789abcdef0123456789abcdef/tags 404 "tags of an unknown project" -H "X-Auth-Token: $T"

# a member reads the tags of their project, never writes them
check "create user dave (member of tagged)" osc user create --project tagged --password d4vepw dave
check "role add member" osc role add --project tagged --user dave member
DAVE_ID=$(openstack user show dave -f value -c id 2>/dev/null)
issue '{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"'"$DAVE_ID"'","password":"d4vepw"}}},"scope":{"project":{"id":"'"$TAGGED_ID"'"}}}}'
DAVE_TOKEN=$TOKEN
req GET "/v3/projects/$TAGGED_ID/tags" -H "X-Auth-Token: $DAVE_TOKEN"
check "a member reads their project's tags" test "$STATUS" = 200
expect_error PUT "/v3/projects/$TAGGED_ID/tags/mine" 403 "a member adding a tag" -H "X-Auth-Token: $DAVE_TOKEN"

# ---- hierarchical projects ----
check "openstack project create --parent tagged child" osc project create --parent tagged child
CHILD_ID=$(openstack project show child -f value -c id 2>/dev/null)
check "child's parent_id is tagged" test "$(openstack project show child -f value -c parent_id 2>/dev/null)" = "$TAGGED_ID"
check "a top-level project's parent_id is its domain" \
    test "$(openstack project show tagged -f value -c parent_id 2>/dev/null)" = default
req POST /v3/projects -H "X-Auth-Token: $T" -d '{"project":{"name":"grandchild","parent_id":"'"$CHILD_ID"'"}}'
GRAND_ID=$(json "b['project']['id']")
check "a grandchild (201, is_domain false)" test "$STATUS:$(json "b['project']['is_domain']")" = 201:False
req GET "/v3/projects?parent_id=$TAGGED_ID" -H "X-Auth-Token: $T"
check "?parent_id lists the children" test "$(names_of projects)" = child
req GET "/v3/projects/$GRAND_ID?parents_as_list" -H "X-Auth-Token: $T"
check "parents_as_list: nearest first" \
    test "$(json "','.join(x['project']['name'] for x in b['project']['parents'])")" = child,tagged
req GET "/v3/projects/$TAGGED_ID?subtree_as_list" -H "X-Auth-Token: $T"
check "subtree_as_list" \
    test "$(json "','.join(x['project']['name'] for x in b['project']['subtree'])")" = child,grandchild
if osc project delete tagged; then
    bad "a project with children was deleted"
else
    check "deleting a project with children: 403" grep -q "HTTP 403" "$TMP/osc.err"
fi
expect_error POST /v3/projects 400 "is_domain true" -H "X-Auth-Token: $T" -d '{"project":{"name":"d","is_domain":true}}'
check "the 400 says why" grep -q "acting as domains" "$BODY"
expect_error POST /v3/projects 404 "an unknown parent" -H "X-Auth-Token: $T" \
    -d '{"project":{"name":"orphan","parent_id":"0123456789abcdef0123456789abcdef"}}'
expect_error POST /v3/projects 409 "a duplicate name under a parent" -H "X-Auth-Token: $T" \
    -d '{"project":{"name":"child","parent_id":"'"$TAGGED_ID"'"}}'
expect_error PATCH "/v3/projects/$CHILD_ID" 403 "changing parent_id" -H "X-Auth-Token: $T" \
    -d '{"project":{"parent_id":"'"$GRAND_ID"'"}}'
expect_error PATCH "/v3/projects/$TAGGED_ID" 403 "disabling a project with enabled children" \
    -H "X-Auth-Token: $T" -d '{"project":{"enabled":false}}'
parent=$GRAND_ID
for n in 4 5; do
    req POST /v3/projects -H "X-Auth-Token: $T" -d '{"project":{"name":"level'$n'","parent_id":"'"$parent"'"}}'
    parent=$(json "b['project']['id']")
done
check "five levels of projects" test "$STATUS" = 201
expect_error POST /v3/projects 403 "a sixth level" -H "X-Auth-Token: $T" \
    -d '{"project":{"name":"level6","parent_id":"'"$parent"'"}}'

# ---- what a token's user may scope to ----
req GET /v3/auth/projects -H "X-Auth-Token: $DAVE_TOKEN"
check "GET /v3/auth/projects (dave): tagged" test "$STATUS:$(names_of projects)" = 200:tagged
req GET /v3/auth/domains -H "X-Auth-Token: $DAVE_TOKEN"
check "GET /v3/auth/domains: 200, no domain role, none" test "$STATUS:$(json "len(b['domains'])")" = 200:0
req GET "/v3/users/$DAVE_ID/projects" -H "X-Auth-Token: $DAVE_TOKEN"
check "GET /v3/users/{dave}/projects" test "$STATUS:$(names_of projects)" = 200:tagged
expect_error GET "/v3/users/$(openstack user show admin -f value -c id 2>/dev/null)/projects" 403 \
    "a member listing another user's projects" -H "X-Auth-Token: $DAVE_TOKEN"
as_dave() { OS_USERNAME=dave OS_PASSWORD=d4vepw OS_PROJECT_NAME=tagged openstack "$@" 2>"$TMP/osc.err"; }
check "openstack project list --my-projects (dave)" test "$(as_dave project list --my-projects -f value -c Name)" = tagged

# ---- rescoping keeps the methods; role assignments by the CLI ----
issue '{"auth":{"identity":{"methods":["token"],"token":{"id":"'"$DAVE_TOKEN"'"}}}}'
check "a password token rescoped: methods password,token" \
    test "$STATUS:$(json "','.join(b['token']['methods'])")" = 201:password,token
issue '{"auth":{"identity":{"methods":["token"],"token":{"id":"'"$TOKEN"'"}}}}'
check "rescoped twice: still password,token" \
    test "$STATUS:$(json "','.join(b['token']['methods'])")" = 201:password,token
check "openstack role assignment list --user dave --project tagged --names" \
    bash -c "openstack role assignment list --user dave --project tagged --names -f value 2>/dev/null | grep -q '^member dave@Default  tagged@Default'"
check "... --effective" \
    bash -c "openstack role assignment list --user dave --project tagged --names --effective -f value 2>/dev/null | grep -q '^member dave@Default  tagged@Default'"
MEMBER_ID=$(openstack role show member -f value -c id 2>/dev/null)
req GET "/v3/role_assignments?user.id=$DAVE_ID&scope.project.id=$TAGGED_ID&role.id=$MEMBER_ID&include_names" -H "X-Auth-Token: $T"
check "GET /v3/role_assignments by user, project and role, with names" \
    test "$(json "b['role_assignments'][0]['role']['name'] + ',' + b['role_assignments'][0]['scope']['project']['name'] + ',' + str(len(b['role_assignments']))")" = member,tagged,1
check "no 500 in the log after the new checks" bash -c "! grep -Eq ' 5[0-9][0-9] [0-9.]+ms' '$TMP/api.log'"

# ---- keep-alive: one connection serves requests seconds apart ----
check "a kept-alive connection is reused after an idle pause" python3 - "$API_PORT" <<'EOF'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/v3"); r = c.getresponse(); r.read()
sock = c.sock
time.sleep(3)
c.request("GET", "/v3"); r = c.getresponse(); r.read()
sys.exit(0 if r.status == 200 and c.sock is sock else 1)
EOF

# ---- graceful shutdown: requests in flight at SIGTERM complete ----
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d "$AUTH_ADMIN" "$URL/v3/auth/tokens" >"$TMP/inflight.$i" 2>&1 &
done
sleep 0.05
kill -TERM "$API_PID"
wait "$API_PID"
api_rc=$?
API_PID=
wait
ok_count=$(cat "$TMP"/inflight.* | grep -c '^201$')
bad_count=$(cat "$TMP"/inflight.* | grep -vc -e '^201$' -e '^000$')
check "SIGTERM: exit 0, 'stopped' logged" bash -c "[ $api_rc = 0 ] && grep -q 'stopped' '$TMP/api.log'"
check "SIGTERM: no request cut short ($ok_count completed, $bad_count broken)" test "$bad_count" = 0

# ---- tokens survive a restart (keys on disk) ----
start_api
req GET /v3/auth/tokens -H "X-Auth-Token: $T" -H "X-Subject-Token: $T"
check "a token issued before a restart still validates" test "$STATUS" = 200

echo "$checks checks, $fail failed"
[ "$fail" = 0 ]
