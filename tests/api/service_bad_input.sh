#!/usr/bin/env bash
# Bad input, service by service: every case the resource layer answers
# (400 naming the field for a wrong type, a missing required field, an unknown
# field where the API forbids one, a string too long, a bad enum value, a bad
# UUID; 413 for an oversized body; 404 for an unknown id; 403 for a policy
# refusal; 409 for a conflict) driven through at least one resource of
# identity, compute and image, against the real cloud-api and PostgreSQL.
# Each answer must carry the family's error body, and nothing half-made may
# be left behind.
#
#   service_bad_input.sh CLOUD_API SOURCE_DIR
set -u

API_BIN=${1:?usage: service_bad_input.sh CLOUD_API SOURCE_DIR}
SRC=${2:?usage: service_bad_input.sh CLOUD_API SOURCE_DIR}
export NUBE_SRC=$SRC
# shellcheck source=tests/lib/services.sh
. "$SRC/tests/lib/services.sh"

test_api_cloud "$API_BIN" <<'CONF' # no broker: nothing here casts
[api]
max_body_size = 65536
CONF
ADMIN=$TOKEN
# The error body of each family: Keystone (and Glance here) {"error": {code,
# message}}, Nova {"<kind>": {code, message}}.
message() {
    python3 -c "
import json, sys
b = json.load(open('$BODY'))
e = b.get('error') or next(iter(b.values()))
assert e['code'] == $STATUS, e
print(e['message'])" 2>/dev/null
}
# expect STATUS WORD DESCRIPTION METHOD PATH [curl args]: the status, the
# family's body with that code, and a message containing WORD (e.g. the field)
expect() {
    local want=$1 word=$2 what=$3 msg
    shift 3
    req "$@"
    msg=$(message)
    if [ "$STATUS" = "$want" ] && [ -n "$msg" ] && printf '%s' "$msg" | grep -qiF -- "$word"; then
        ok "$what ($STATUS: $msg)"
    else
        bad "$what: wanted $want naming '$word', got $STATUS $(head -c 300 "$BODY")"
    fi
}
psql_q() { "$PG_BINDIR/psql" "$NUBE_TEST_PG_CONNINFO" -tAc "$1"; }
LONG=$(printf 'x%.0s' $(seq 1 256))

# a member of a project of its own, for the policy cases
req POST /v3/projects -d '{"project":{"name":"demo","domain_id":"default"}}'
DEMO=$(python3 -c "import json; print(json.load(open('$BODY'))['project']['id'])")
req POST /v3/users -d "{\"user\":{\"name\":\"alice\",\"password\":\"s3cret\",\"default_project_id\":\"$DEMO\"}}"
ALICE=$(python3 -c "import json; print(json.load(open('$BODY'))['user']['id'])")
MEMBER_ROLE=$(psql_q "SELECT id FROM role WHERE name = 'member'")
req PUT "/v3/projects/$DEMO/users/$ALICE/roles/$MEMBER_ROLE"
MEMBER=$(test_token "$URL" alice s3cret demo)
[ -n "$MEMBER" ] || bad "alice's token"

# ---- identity (Keystone) ----
expect 400 name "identity: wrong type" POST /v3/projects -d '{"project":{"name":5}}'
expect 400 name "identity: missing required field" POST /v3/projects -d '{"project":{"description":"x"}}'
expect 400 name "identity: string too long" POST /v3/projects -d "{\"project\":{\"name\":\"$LONG\"}}"
expect 400 enabled "identity: boolean field given a string" POST /v3/projects -d '{"project":{"name":"p1","enabled":"yes"}}'
expect 404 "could not find" "identity: unknown project id" GET /v3/projects/0123456789abcdef0123456789abcdef
expect 409 "" "identity: duplicate project name" POST /v3/projects -d '{"project":{"name":"demo"}}'
expect 413 "" "identity: oversized body" POST /v3/projects -d "{\"project\":{\"name\":\"big\",\"description\":\"$(head -c 70000 /dev/zero | tr '\0' x)\"}}"
TOKEN=$MEMBER
expect 403 "" "identity: a member may not create projects" POST /v3/projects -d '{"project":{"name":"p2"}}'
TOKEN=$ADMIN
[ "$(psql_q "SELECT count(*) FROM project WHERE name IN ('p1', 'p2', 'big')")" = 0 ] &&
    ok "identity: nothing half-made" || bad "identity: a refused project was stored"

# ---- compute (Nova) ----
expect 400 ram "compute: wrong type" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f1","ram":"lots","vcpus":1,"disk":0}}'
expect 400 vcpus "compute: missing required field" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f1","ram":64,"disk":0}}'
expect 400 bogus "compute: unknown field" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f1","ram":64,"vcpus":1,"disk":0,"bogus":1}}'
expect 400 name "compute: string too long" POST /compute/v2.1/flavors -d "{\"flavor\":{\"name\":\"$LONG\",\"ram\":64,\"vcpus\":1,\"disk\":0}}"
expect 400 ram "compute: integer out of bounds" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f1","ram":0,"vcpus":1,"disk":0}}'
expect 400 is_public "compute: boolean field given an object" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f1","ram":64,"vcpus":1,"disk":0,"os-flavor-access:is_public":{}}}'
expect 400 imageRef "compute: bad UUID" POST /compute/v2.1/servers -d '{"server":{"name":"s","imageRef":"not-a-uuid","flavorRef":"1"}}'
expect 400 networks "compute: bad enum value" POST /compute/v2.1/servers -d '{"server":{"name":"s","imageRef":"00000000-0000-0000-0000-000000000000","flavorRef":"1","networks":"some"}}'
expect 404 "could not be found" "compute: unknown flavor" GET /compute/v2.1/flavors/nope
expect 404 "could not be found" "compute: unknown server" GET /compute/v2.1/servers/00000000-0000-0000-0000-000000000000
expect 409 "already exists" "compute: duplicate flavor name" POST /compute/v2.1/flavors -d '{"flavor":{"name":"m1.tiny","ram":64,"vcpus":1,"disk":0}}'
expect 413 "" "compute: oversized body" POST /compute/v2.1/flavors -d "{\"flavor\":{\"name\":\"$(head -c 70000 /dev/zero | tr '\0' x)\"}}"
TOKEN=$MEMBER
expect 403 "" "compute: a member may not create flavors" POST /compute/v2.1/flavors -d '{"flavor":{"name":"f2","ram":64,"vcpus":1,"disk":0}}'
TOKEN=$ADMIN
[ "$(psql_q "SELECT count(*) FROM flavor WHERE name IN ('f1', 'f2')")" = 0 ] &&
    ok "compute: nothing half-made" || bad "compute: a refused flavor was stored"

# ---- image (Glance) ----
expect 400 visibility "image: bad enum value" POST /image/v2/images -d '{"name":"i1","visibility":"everyone"}'
expect 400 min_ram "image: wrong type" POST /image/v2/images -d '{"name":"i1","min_ram":"lots"}'
expect 400 name "image: string too long" POST /image/v2/images -d "{\"name\":\"$LONG\"}"
expect 400 id "image: bad UUID" POST /image/v2/images -d '{"name":"i1","id":"not-a-uuid"}'
expect 403 status "image: read-only property" POST /image/v2/images -d '{"name":"i1","status":"active"}'
expect 404 "" "image: unknown image" GET /image/v2/images/00000000-0000-0000-0000-000000000000
req POST /image/v2/images -d '{"name":"i2","id":"11111111-2222-3333-4444-555555555555"}'
[ "$STATUS" = 201 ] && ok "image: create with an id" || bad "image: create with an id: $STATUS"
expect 409 "" "image: duplicate id" POST /image/v2/images -d '{"name":"i3","id":"11111111-2222-3333-4444-555555555555"}'
expect 413 "" "image: oversized body" POST /image/v2/images -d "{\"name\":\"$(head -c 70000 /dev/zero | tr '\0' x)\"}"
TOKEN=$MEMBER
expect 403 "" "image: a member may not publicize an image" POST /image/v2/images -d '{"name":"i4","visibility":"public"}'
TOKEN=$ADMIN
[ "$(psql_q "SELECT count(*) FROM image WHERE name IN ('i1', 'i3', 'i4')")" = 0 ] &&
    ok "image: nothing half-made" || bad "image: a refused image was stored"

test_done
