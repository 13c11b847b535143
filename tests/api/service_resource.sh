#!/usr/bin/env bash
# The resource engine's generic verbs (api/core/resource.c), through the
# resources that use it today, against the real cloud-api and PostgreSQL:
# filters with several values, sort_key/sort_dir, limit and marker paging
# (every row once, in order, across pages), PATCH updates, HEAD, delete and
# the family's 404, and the errors of each query argument.
#
#   service_resource.sh CLOUD_API SOURCE_DIR
set -u

API_BIN=${1:?usage: service_resource.sh CLOUD_API SOURCE_DIR}
SRC=${2:?usage: service_resource.sh CLOUD_API SOURCE_DIR}
export NUBE_SRC=$SRC
# shellcheck source=tests/lib/services.sh
. "$SRC/tests/lib/services.sh"

test_api_cloud "$API_BIN" </dev/null # nothing here casts
# check DESCRIPTION WANT_STATUS PYTHON_EXPR_TRUE METHOD PATH [curl args]
check() {
    local what=$1 want=$2 expr=$3
    shift 3
    req "$@"
    if [ "$STATUS" = "$want" ] && { [ -z "$expr" ] || [ "$(json "$expr" 2>/dev/null)" = True ]; }; then
        ok "$what"
    else
        bad "$what: got $STATUS $(head -c 300 "$BODY")"
    fi
}

# ---- filters: any of several values ----
check "roles ?name=a&name=b: both, nothing else" 200 \
    "sorted(r['name'] for r in b['roles']) == ['admin', 'member']" GET "/v3/roles?name=admin&name=member"
check "roles ?name=nobody: none" 200 "b['roles'] == []" GET "/v3/roles?name=nobody"
check "Keystone's list links" 200 "b['links']['next'] is None and b['links']['self'].endswith('/v3/roles')" \
    GET /v3/roles

# ---- sorting and paging (Nova flavors: five defaults) ----
check "flavors sorted by memory_mb desc" 200 \
    "[f['ram'] for f in b['flavors']] == sorted((f['ram'] for f in b['flavors']), reverse=True) and len(b['flavors']) == 5" \
    GET "/compute/v2.1/flavors/detail?sort_key=memory_mb&sort_dir=desc"
check "flavors sorted by name asc" 200 \
    "[f['name'] for f in b['flavors']] == sorted(f['name'] for f in b['flavors'])" \
    GET "/compute/v2.1/flavors/detail?sort_key=name&sort_dir=asc"
# walk every page of 2 by the next links: each flavor once, in order
seen=""
path="/compute/v2.1/flavors/detail?sort_key=vcpus&sort_dir=desc&sort_key=name&sort_dir=asc&limit=2"
pages=0
while [ -n "$path" ] && [ $pages -lt 10 ]; do
    req GET "$path"
    [ "$STATUS" = 200 ] || break
    seen="$seen $(json "' '.join(f['name'] for f in b['flavors'])")"
    path=$(json "next((l['href'] for l in b.get('flavors_links', []) if l['rel'] == 'next'), '')" |
        sed "s|^$URL||")
    pages=$((pages + 1))
done
req GET "/compute/v2.1/flavors/detail?sort_key=vcpus&sort_dir=desc&sort_key=name&sort_dir=asc"
all=$(json "' '.join(f['name'] for f in b['flavors'])")
if [ "$(echo $seen)" = "$(echo $all)" ] && [ $pages -ge 3 ]; then
    ok "paging by 2 over two sort keys: $pages pages, every flavor once, in order"
else
    bad "paging: got '$seen' in $pages pages, want '$all'"
fi
check "a bad sort_key is 400" 400 "" GET "/compute/v2.1/flavors/detail?sort_key=password"
check "a bad sort_dir is 400" 400 "" GET "/compute/v2.1/flavors/detail?sort_key=name&sort_dir=up"
check "a negative limit is 400" 400 "" GET "/compute/v2.1/flavors/detail?limit=-1"
check "an unknown marker is 400" 400 "" GET "/compute/v2.1/flavors/detail?marker=nope"

# ---- update, HEAD, delete ----
req POST /v3/roles -d '{"role":{"name":"engine-role","description":"before"}}'
ROLE=$(json "b['role']['id']")
check "create answers 201 with a 32-hex id" 201 "len(b['role']['id']) == 32" \
    POST /v3/roles -d '{"role":{"name":"engine-role-2"}}'
check "PATCH changes only what it names" 200 \
    "b['role']['name'] == 'engine-role' and b['role']['description'] == 'after'" \
    PATCH "/v3/roles/$ROLE" -d '{"role":{"description":"after"}}'
check "PATCH with an empty name is 400 naming it" 400 "'name' in b['error']['message']" \
    PATCH "/v3/roles/$ROLE" -d '{"role":{"name":""}}'
check "PATCH to a taken name is 409" 409 "" PATCH "/v3/roles/$ROLE" -d '{"role":{"name":"admin"}}'
STATUS=$(curl -s -I -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$URL/v3/roles/$ROLE")
[ "$STATUS" = 200 ] && ok "HEAD answers as GET" || bad "HEAD: $STATUS"
req GET /v3/services
SERVICE=$(json "next(s['id'] for s in b['services'] if s['type'] == 'compute')")
check "PATCH a catalog service" 200 "b['service']['description'] == 'Nova'" \
    PATCH "/v3/services/$SERVICE" -d '{"service":{"description":"Nova"}}'
check "DELETE answers 204" 204 "" DELETE "/v3/roles/$ROLE"
check "then the family's 404" 404 "b['error']['message'] == 'Could not find role: $ROLE.'" \
    GET "/v3/roles/$ROLE"
check "DELETE again is 404" 404 "" DELETE "/v3/roles/$ROLE"

test_done
