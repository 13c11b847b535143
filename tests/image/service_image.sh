#!/usr/bin/env bash
# Service test for the image API (Glance v2) of cloud-api: a private
# PostgreSQL, `cloud-api bootstrap` with the image endpoint in the catalog,
# then cloud-api driven with the real openstack CLI and curl: create and
# upload (Content-Length and chunked), hashes, download, list filters and
# paging, PATCH, tags, deactivate/reactivate, protected, delete, visibility
# between two projects, members, interrupted and oversized uploads, and the
# memory an upload costs.
#
#   service_image.sh CLOUD_API_BINARY SOURCE_DIR
#
# Exit 0 when every check passed, 1 otherwise, 77 (skip) when PostgreSQL,
# curl or the openstack CLI is missing.
set -u

API_BIN=${1:?usage: service_image.sh CLOUD_API_BINARY SOURCE_DIR}
SRC=${2:?usage: service_image.sh CLOUD_API_BINARY SOURCE_DIR}
NUBE_SRC=$SRC
# shellcheck source=tests/lib/services.sh
. "$SRC/tests/lib/services.sh"

command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
command -v openstack >/dev/null || { echo "SKIP: the openstack CLI is not installed"; exit 77; }
[ -x "${PG_BINDIR:-}/initdb" ] || { echo "SKIP: no PostgreSQL server (initdb) found"; exit 77; }

TMP=$(test_tmpdir)
fail=0
checks=0
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
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

test_pg_start || { echo "FAIL: PostgreSQL did not start"; exit 1; }
API_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
STORE=$TMP/images
MAX=$((250 * 1024 * 1024))
test_api_conf "$TMP/api.conf" "$API_PORT" "$NUBE_TEST_PG_CONNINFO" # no broker runs
cat >>"$TMP/api.conf" <<EOF
[api]
public_url = $URL
[image]
store_dir = $STORE
max_image_size = $MAX
EOF

"$API_BIN" bootstrap --config "$TMP/api.conf" --admin-password 'Adm1n!pw' >/dev/null 2>&1 ||
    { echo "FAIL: bootstrap"; exit 1; }
"$API_BIN" --config "$TMP/api.conf" &
API_PID=$!
test_cleanup_add "kill -TERM $API_PID 2>/dev/null; wait $API_PID 2>/dev/null"
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$URL/v3" && break
    sleep 0.1
done
curl -s -o /dev/null "$URL/v3" || { echo "FAIL: cloud-api did not start"; cat "$TMP/api.log"; exit 1; }

export OS_AUTH_URL=$URL/v3 OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD='Adm1n!pw' \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
unset OS_CLOUD OS_TOKEN OS_AUTH_TYPE
osc() { openstack "$@" 2>>"$TMP/osc.err"; }
# as alice, a member of project demo
osc_alice() {
    OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack "$@" 2>>"$TMP/osc.err"
}

BODY=$TMP/body
HEADERS=$TMP/headers
req() { # req METHOD PATH [curl args...]: sets STATUS; body in $BODY
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
        -H "X-Auth-Token: $TOKEN" "$@" "$URL$path")
}
json() { python3 -c "import json,sys; b = json.load(open('$BODY')); print(($1))"; }
expect() { # expect STATUS DESCRIPTION METHOD PATH [curl args...]
    local want=$1 what=$2
    shift 2
    req "$@"
    if [ "$STATUS" = "$want" ]; then ok "$what -> $want"; else bad "$what: got $STATUS $(head -c 300 "$BODY")"; fi
}
field() { # field IMAGE-ID KEY: the image attribute as the API shows it
    req GET "/image/v2/images/$1"
    json "b.get('$2')"
}
# shellcheck disable=SC2317 # called through check
no_partial_files() { [ -z "$(find "$STORE" -name '.tmp-*' 2>/dev/null)" ]; }

TOKEN=$(osc token issue -f value -c id)
[ -n "$TOKEN" ] || { echo "FAIL: no token"; cat "$TMP/osc.err"; exit 1; }

# ---- catalog, discovery and schemas ----
check "bootstrap registered the image endpoint at {public_url}/image by default" \
    bash -c "openstack endpoint list --service image -f value -c URL 2>/dev/null | grep -qx '$URL/image'"

STATUS=$(curl -s -o "$BODY" -w '%{http_code}' "$URL/image/")
check "GET /image/ is 300" test "$STATUS" = 300
check "the CURRENT version's self link is {public_url}/image/v2/" \
    test "$(json "[v['links'][0]['href'] for v in b['versions'] if v['status'] == 'CURRENT'][0]")" = "$URL/image/v2/"
expect 200 "GET /v2/schemas/image" GET /image/v2/schemas/image
check "image schema names additionalProperties string" test "$(json "b['additionalProperties']['type']")" = string
expect 200 "GET /v2/schemas/images" GET /image/v2/schemas/images
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "$URL/image/v2/images")
check "no token -> 401" test "$STATUS" = 401

# ---- create and upload with the CLI (Content-Length) ----
head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$TMP/img1"
# a sparse-friendly part: zeros in the middle
head -c $((1024 * 1024)) /dev/zero >>"$TMP/img1"
head -c 777 /dev/urandom >>"$TMP/img1"
MD5=$(md5sum "$TMP/img1" | cut -d' ' -f1)
SHA=$(sha512sum "$TMP/img1" | cut -d' ' -f1)
SIZE=$(stat -c %s "$TMP/img1")
ID1=$(osc image create --file "$TMP/img1" --disk-format raw --container-format bare \
    --property vm_mode=hvm --property hw_disk_bus=virtio img1 -f value -c id)
check "openstack image create --file (POST + PUT with Content-Length)" test -n "$ID1"
check "status active" test "$(field "$ID1" status)" = active
check "checksum is the MD5 (md5sum)" test "$(field "$ID1" checksum)" = "$MD5"
check "os_hash_algo sha512" test "$(field "$ID1" os_hash_algo)" = sha512
check "os_hash_value is the SHA-512 (sha512sum)" test "$(field "$ID1" os_hash_value)" = "$SHA"
check "size" test "$(field "$ID1" size)" = "$SIZE"
check "virtual_size null, os_hidden false" test "$(field "$ID1" virtual_size),$(field "$ID1" os_hidden)" = "None,False"
check "custom properties vm_mode and hw_disk_bus stored at the top level" \
    test "$(field "$ID1" vm_mode),$(field "$ID1" hw_disk_bus)" = "hvm,virtio"
check "self, file, schema links" \
    test "$(json "b['self'] + ' ' + b['file'] + ' ' + b['schema']")" = "/v2/images/$ID1 /v2/images/$ID1/file /v2/schemas/image"
check "the store holds the file, named by id, with the same bytes" cmp "$STORE/$ID1" "$TMP/img1"
check "the stored file is sparse (zero blocks not written)" \
    test "$(($(stat -c %b "$STORE/$ID1") * 512))" -lt "$SIZE"
check "openstack image show img1 (404 by name, then ?name=)" osc image show img1 -f value -c id
check "openstack image list shows img1" bash -c "openstack image list -f value 2>/dev/null | grep -q ' img1 active'"
rm -f "$TMP/dl1"
check "openstack image save (download)" osc image save --file "$TMP/dl1" img1
check "downloaded bytes equal the upload" cmp "$TMP/dl1" "$TMP/img1"
req GET "/image/v2/images/$ID1/file"
check "download carries Content-MD5" grep -qi "^Content-MD5: $MD5" "$HEADERS"
expect 409 "re-upload to an active image" PUT "/image/v2/images/$ID1/file" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/img1"
check "still active with the same checksum after the refused upload" \
    test "$(field "$ID1" status),$(field "$ID1" checksum)" = "active,$MD5"

# ---- chunked upload with curl ----
req POST /image/v2/images -H 'Content-Type: application/json' \
    -d '{"name":"chunky","disk_format":"qcow2","container_format":"bare","tags":["a","b"]}'
check "POST /v2/images -> 201" test "$STATUS" = 201
ID2=$(json "b['id']")
check "created queued, no checksum, size null" \
    test "$(json "b['status'],b['checksum'],b['size'],b['tags']")" = "('queued', None, None, ['a', 'b'])"
expect 204 "GET file of a queued image has no data" GET "/image/v2/images/$ID2/file"
head -c $((5 * 1024 * 1024 + 5)) /dev/urandom >"$TMP/img2"
expect 204 "PUT file with Transfer-Encoding: chunked" PUT "/image/v2/images/$ID2/file" \
    -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/img2"
check "chunked: checksum and os_hash_value match md5sum/sha512sum" \
    test "$(field "$ID2" checksum) $(field "$ID2" os_hash_value)" = "$(md5sum <"$TMP/img2" | cut -d' ' -f1) $(sha512sum <"$TMP/img2" | cut -d' ' -f1)"
curl -s -H "X-Auth-Token: $TOKEN" -o "$TMP/dl2" "$URL/image/v2/images/$ID2/file"
check "chunked upload downloads equal" cmp "$TMP/dl2" "$TMP/img2"
expect 415 "upload with a JSON content type" PUT "/image/v2/images/$ID2/file" \
    -H 'Content-Type: application/json' -d '{}'

# ---- PATCH ----
P21=application/openstack-images-v2.1-json-patch
P20=application/openstack-images-v2.0-json-patch
expect 200 "PATCH (v2.1 json-patch) add/replace" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"replace","path":"/name","value":"chunky2"},{"op":"add","path":"/hw_vif_model","value":"virtio"},{"op":"add","path":"/vm_mode","value":"xen"},{"op":"replace","path":"/min_ram","value":64}]'
check "patched name, properties, min_ram in the response" \
    test "$(json "b['name'],b['hw_vif_model'],b['vm_mode'],b['min_ram']")" = "('chunky2', 'virtio', 'xen', 64)"
expect 200 "PATCH (v2.0 json-patch) remove a property, replace tags" PATCH "/image/v2/images/$ID2" \
    -H "Content-Type: $P20" -d '[{"op":"remove","path":"/hw_vif_model"},{"op":"replace","path":"/tags","value":["x"]}]'
check "removed property gone, tags replaced" test "$(json "'hw_vif_model' in b, b['tags']")" = "(False, ['x'])"
expect 415 "PATCH with application/json" PATCH "/image/v2/images/$ID2" -H 'Content-Type: application/json' -d '[]'
expect 403 "PATCH a read-only attribute (status)" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"replace","path":"/status","value":"active"}]'
expect 403 "PATCH remove a core attribute" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"remove","path":"/name"}]'
expect 409 "PATCH replace a missing property" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"replace","path":"/nope","value":"x"}]'
expect 400 "PATCH nested path" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"add","path":"/a/b","value":"x"}]'
expect 400 "PATCH unknown op" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"move","path":"/name","from":"/x"}]'
expect 400 "PATCH non-string property value" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"add","path":"/hw_x","value":3}]'
expect 400 "PATCH malformed JSON" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" -d '[{'
expect 403 "PATCH disk_format of an active image" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" \
    -d '[{"op":"replace","path":"/disk_format","value":"raw"}]'
check "failed patches changed nothing" test "$(field "$ID2" name)" = chunky2

# every change Glance accepts, and its answers with their messages
msg() { json "b['error']['message']"; }
patch_id2() { # patch_id2 STATUS DESCRIPTION JSON-PATCH
    expect "$1" "$2" PATCH "/image/v2/images/$ID2" -H "Content-Type: $P21" -d "$3"
}
patch_id2 200 "PATCH add os_distro/os_version/description, replace os_hidden, protected, min_disk" \
    '[{"op":"add","path":"/os_distro","value":"debian"},{"op":"add","path":"/os_version","value":"12"},{"op":"add","path":"/description","value":null},{"op":"replace","path":"/os_hidden","value":false},{"op":"replace","path":"/protected","value":false},{"op":"add","path":"/min_disk","value":2}]'
check "added and replaced attributes in the response" \
    test "$(json "b['os_distro'],b['os_version'],b['description'],b['min_disk']")" = "('debian', '12', None, 2)"
patch_id2 200 "PATCH replace then remove in one patch, applied in order" \
    '[{"op":"replace","path":"/os_distro","value":"ubuntu"},{"op":"remove","path":"/os_version"},{"op":"add","path":"/kernel_id","value":"0b7c1a8e-3f2d-4c5b-9a6e-1d2c3b4a5f61"},{"op":"remove","path":"/kernel_id"}]'
check "os_distro replaced, os_version and kernel_id gone" \
    test "$(json "b['os_distro'],'os_version' in b,'kernel_id' in b")" = "('ubuntu', False, False)"
patch_id2 403 "PATCH replace id" '[{"op":"replace","path":"/id","value":"x"}]'
check "  Attribute 'id' is read-only." test "$(msg)" = "Attribute 'id' is read-only."
patch_id2 403 "PATCH remove checksum" '[{"op":"remove","path":"/checksum"}]'
check "  Attribute 'checksum' is read-only." test "$(msg)" = "Attribute 'checksum' is read-only."
patch_id2 403 "PATCH add deleted_at" '[{"op":"add","path":"/deleted_at","value":"x"}]'
check "  Attribute 'deleted_at' is reserved." test "$(msg)" = "Attribute 'deleted_at' is reserved."
patch_id2 403 "PATCH add a property in the os_glance namespace" '[{"op":"add","path":"/os_glance_import_task","value":"x"}]'
check "  Attribute 'os_glance_import_task' is reserved." test "$(msg)" = "Attribute 'os_glance_import_task' is reserved."
patch_id2 403 "PATCH remove tags (a core attribute)" '[{"op":"remove","path":"/tags"}]'
check "  Property tags may not be removed." test "$(msg)" = "Property tags may not be removed."
patch_id2 409 "PATCH remove a missing property" '[{"op":"remove","path":"/os_version"}]'
check "  Property os_version does not exist." test "$(msg)" = "Property os_version does not exist."
patch_id2 403 "PATCH add a location (locations are not shown)" '[{"op":"add","path":"/locations/-","value":{"url":"file:///etc/passwd","metadata":{}}}]'
patch_id2 403 "PATCH read-only after a missing property: every op is checked first" \
    '[{"op":"replace","path":"/nope","value":"x"},{"op":"replace","path":"/size","value":1}]'
patch_id2 400 "PATCH bad min_ram" '[{"op":"replace","path":"/min_ram","value":"lots"}]'
check "  the message names min_ram" bash -c "grep -q min_ram '$BODY'"
patch_id2 400 "PATCH kernel_id that is not an image id" '[{"op":"add","path":"/kernel_id","value":"vmlinuz"}]'
check "  the message names kernel_id" bash -c "grep -q kernel_id '$BODY'"
patch_id2 400 "PATCH replace without a value" '[{"op":"replace","path":"/name"}]'
patch_id2 400 "PATCH pointer with adjacent slashes" '[{"op":"add","path":"//x","value":"y"}]'
python3 -c "import json; print(json.dumps([{'op':'add','path':'/q%d' % i,'value':'v'} for i in range(130)]))" >"$TMP/many.json"
expect 413 "PATCH over Glance's 128 custom properties" PATCH "/image/v2/images/$ID2" \
    -H "Content-Type: $P21" --data-binary @"$TMP/many.json"
check "failed patches changed nothing (2)" \
    test "$(field "$ID2" name),$(json "b['os_distro'],'q0' in b,'kernel_id' in b")" = "chunky2,('ubuntu', False, False)"
req POST /image/v2/images -H 'Content-Type: application/json' -d '{"name":"queued3","disk_format":"raw"}'
ID3=$(json "b['id']")
expect 200 "PATCH disk_format and container_format of a queued image" PATCH "/image/v2/images/$ID3" \
    -H "Content-Type: $P21" -d '[{"op":"replace","path":"/disk_format","value":"qcow2"},{"op":"add","path":"/container_format","value":"bare"}]'
check "queued image's formats changed" test "$(json "b['disk_format'],b['container_format']")" = "('qcow2', 'bare')"
expect 204 "DELETE the queued image" DELETE "/image/v2/images/$ID3"

# ---- the CLI's set/unset (PATCH from the SDK) and tags ----
check "openstack image set --property hw_qemu_guest_agent=yes --tag t1 --min-disk 1" \
    osc image set --property hw_qemu_guest_agent=yes --tag t1 --min-disk 1 img1
check "properties and tag stored" test "$(field "$ID1" hw_qemu_guest_agent),$(json "'t1' in b['tags']"),$(json "b['min_disk']")" = "yes,True,1"
check "openstack image unset --property hw_disk_bus --tag t1" osc image unset --property hw_disk_bus --tag t1 img1
field "$ID1" name >/dev/null
check "property and tag gone" test "$(json "'hw_disk_bus' in b, 't1' in b['tags']")" = "(False, False)"
check "openstack image set --property os_distro=debian --property os_version=12 --tag t2 --tag t3 --min-ram 16" \
    osc image set --property os_distro=debian --property os_version=12 --tag t2 --tag t3 --min-ram 16 img1
check "os_distro, os_version, tags and min_ram stored" \
    test "$(field "$ID1" os_distro),$(json "b['os_version'],'t2' in b['tags'],'t3' in b['tags'],b['min_ram']")" = "debian,('12', True, True, 16)"
check "openstack image set --property os_distro=ubuntu (replace)" osc image set --property os_distro=ubuntu img1
check "os_distro replaced" test "$(field "$ID1" os_distro)" = ubuntu
check "openstack image unset --property os_distro --property os_version --tag t2 --tag t3" \
    osc image unset --property os_distro --property os_version --tag t2 --tag t3 img1
field "$ID1" name >/dev/null
check "properties and tags unset" test "$(json "'os_distro' in b,'os_version' in b,b['tags']")" = "(False, False, [])"
check "openstack image set --property os_glance_x=1 fails (reserved)" \
    bash -c "! openstack image set --property os_glance_x=1 img1 >/dev/null 2>&1"
expect 204 "PUT tag" PUT "/image/v2/images/$ID1/tags/blue"
expect 204 "PUT the same tag again (idempotent)" PUT "/image/v2/images/$ID1/tags/blue"
check "tag listed once" test "$(field "$ID1" tags)" = "['blue']"
expect 204 "DELETE tag" DELETE "/image/v2/images/$ID1/tags/blue"
expect 404 "DELETE a missing tag" DELETE "/image/v2/images/$ID1/tags/blue"

# ---- list: filters, sorting, paging ----
for i in 1 2 3 4 5; do
    req POST /image/v2/images -H 'Content-Type: application/json' \
        -d "{\"name\":\"page$i\",\"disk_format\":\"aki\",\"container_format\":\"aki\",\"tags\":[\"pg\"]}"
done
req GET "/image/v2/images?tag=pg&limit=2&sort_key=name&sort_dir=asc"
check "limit=2 returns 2 with a next link" test "$(json "len(b['images']), 'next' in b, b['first']")" = "(2, True, '/v2/images')"
names=$(json "','.join(i['name'] for i in b['images'])")
next=$(json "b['next']")
req GET "/image${next}"
names="$names,$(json "','.join(i['name'] for i in b['images'])")"
next=$(json "b['next']")
req GET "/image${next}"
names="$names,$(json "','.join(i['name'] for i in b['images'])")"
check "following next pages through all, sorted by name" test "$names" = "page1,page2,page3,page4,page5"
check "the last page has no next link" test "$(json "'next' in b")" = False
check "openstack image list --limit 2 (no paging)" test "$(osc image list --limit 2 -f value | wc -l)" = 2
check "openstack image list pages through everything (SDK follows next)" \
    test "$(osc image list -f value | wc -l)" = 7
req GET "/image/v2/images?disk_format=aki&sort=name:desc"
check "disk_format filter and sort=name:desc" test "$(json "[i['name'] for i in b['images']][0], len(b['images'])")" = "('page5', 5)"
req GET "/image/v2/images?name=img1"
check "name filter" test "$(json "[i['id'] for i in b['images']]")" = "['$ID1']"
req GET "/image/v2/images?status=queued"
check "status filter" test "$(json "len(b['images'])")" = 5
req GET "/image/v2/images?size_min=$((5 * 1024 * 1024))"
check "size_min filter" test "$(json "[i['id'] for i in b['images']]")" = "['$ID2']"
req GET "/image/v2/images?size_max=$SIZE&size_min=1"
check "size_max filter" test "$(json "[i['id'] for i in b['images']]")" = "['$ID1']"
req GET "/image/v2/images?container_format=bare&visibility=shared"
check "container_format and visibility filters" test "$(json "len(b['images'])")" = 2
expect 400 "bad sort key" GET "/image/v2/images?sort_key=password"
expect 400 "bad limit" GET "/image/v2/images?limit=-1"
expect 400 "bad visibility filter" GET "/image/v2/images?visibility=everyone"
expect 400 "unknown marker" GET "/image/v2/images?marker=00000000-0000-0000-0000-000000000000"
expect 404 "unknown id" GET /image/v2/images/00000000-0000-0000-0000-000000000000
expect 404 "a name where an id goes" GET /image/v2/images/img1
check "openstack image show of a missing image fails" bash -c "! openstack image show nosuch >/dev/null 2>&1"
PATCHED_HIDDEN=$(curl -s -X PATCH -H "X-Auth-Token: $TOKEN" -H "Content-Type: $P21" \
    -d '[{"op":"replace","path":"/os_hidden","value":true}]' "$URL/image/v2/images/$ID2" -o /dev/null -w '%{http_code}')
req GET "/image/v2/images"
check "os_hidden image left out of the default list" test "$PATCHED_HIDDEN,$(json "'$ID2' in [i['id'] for i in b['images']]")" = "200,False"
req GET "/image/v2/images?os_hidden=true"
check "?os_hidden=true lists it" test "$(json "[i['id'] for i in b['images']]")" = "['$ID2']"

# ---- bad input ----
expect 400 "create with a non-JSON body" POST /image/v2/images -H 'Content-Type: application/json' -d 'nope'
expect 400 "create with a bad disk_format" POST /image/v2/images -H 'Content-Type: application/json' -d '{"disk_format":"exe"}'
expect 403 "create with a read-only attribute" POST /image/v2/images -H 'Content-Type: application/json' -d '{"status":"active"}'
expect 400 "create with a non-string property" POST /image/v2/images -H 'Content-Type: application/json' -d '{"x":1}'
expect 400 "create with a bad id" POST /image/v2/images -H 'Content-Type: application/json' -d '{"id":"../etc"}'
expect 405 "wrong method" POST "/image/v2/images/$ID1"

# ---- deactivate / reactivate, protected, delete ----
check "openstack project create demo" osc project create demo
check "openstack user create alice" osc user create --project demo --password s3cret alice
check "openstack role add member" osc role add --project demo --user alice member
check "openstack image set --public img1 (admin may publicize)" osc image set --public img1
check "openstack image set --deactivate" osc image set --deactivate img1
check "status deactivated" test "$(field "$ID1" status)" = deactivated
ATOKEN=$(osc_alice token issue -f value -c id)
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $ATOKEN" "$URL/image/v2/images/$ID1/file")
check "a deactivated image cannot be downloaded by a non-admin (403)" test "$STATUS" = 403
expect 200 "the admin still can" GET "/image/v2/images/$ID1/file"
check "openstack image set --activate" osc image set --activate img1
check "status active again" test "$(field "$ID1" status)" = active
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $ATOKEN" "$URL/image/v2/images/$ID1/file")
check "downloadable again by alice (public)" test "$STATUS" = 200
expect 409 "deactivate a queued image" POST "/image/v2/images/$(osc image show page1 -f value -c id)/actions/deactivate"
check "openstack image set --protected" osc image set --protected img1
check "openstack image delete of a protected image fails" bash -c "! openstack image delete img1 2>/dev/null"
expect 403 "DELETE protected -> 403" DELETE "/image/v2/images/$ID1"

# ---- visibility between projects ----
PRIV=$(osc image create --private --disk-format raw --container-format bare secret -f value -c id)
check "alice cannot show the admin project's private image" bash -c "! OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack image show $PRIV >/dev/null 2>&1"
check "alice's list leaves it out but has the public one" \
    test "$(osc_alice image list -f value -c Name | sort | tr '\n' ,)" = "img1,"
check "alice may not publicize (403)" bash -c "! OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack image create --public --disk-format raw --container-format bare pub >/dev/null 2>&1"
check "alice may not delete the admin's public image" bash -c "! OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack image set --name x img1 >/dev/null 2>&1"
AIMG=$(osc_alice image create --disk-format raw --container-format bare alices -f value -c id)
check "alice creates her own image (shared by default)" test "$(field "$AIMG" visibility),$(field "$AIMG" owner)" = "shared,$(osc project show demo -f value -c id)"
ADMIN_PROJECT=$(osc project show admin -f value -c id)
check "openstack image add project (owner shares it)" \
    env OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack image add project "$AIMG" "$ADMIN_PROJECT"
check "openstack image member list" bash -c "OS_USERNAME=alice OS_PASSWORD=s3cret OS_PROJECT_NAME=demo openstack image member list $AIMG -f value | grep -q pending"
req GET "/image/v2/images?visibility=shared&member_status=pending"
check "member_status=pending lists it" test "$(json "'$AIMG' in [i['id'] for i in b['images']]")" = True
expect 200 "the member accepts" PUT "/image/v2/images/$AIMG/members/$ADMIN_PROJECT" \
    -H 'Content-Type: application/json' -d '{"status":"accepted"}'
expect 403 "members only for shared images" POST "/image/v2/images/$PRIV/members" \
    -H 'Content-Type: application/json' -d '{"member":"x"}'

# ---- interrupted and oversized uploads ----
req POST /image/v2/images -H 'Content-Type: application/json' -d '{"name":"cut","disk_format":"raw","container_format":"bare"}'
ID3=$(json "b['id']")
head -c $((40 * 1024 * 1024)) /dev/urandom >"$TMP/img3"
curl -s -X PUT -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --limit-rate 4M --data-binary @"$TMP/img3" \
    "$URL/image/v2/images/$ID3/file" -o /dev/null &
CURL_PID=$!
sleep 1.5
check "mid-upload the image is saving and a temporary file exists" \
    test "$(field "$ID3" status),$(find "$STORE" -name ".tmp-$ID3-*" | wc -l)" = "saving,1"
kill -KILL "$CURL_PID"
wait "$CURL_PID" 2>/dev/null
sleep 1
check "after the client died: back to queued (not active), no checksum" \
    test "$(field "$ID3" status),$(field "$ID3" checksum)" = "queued,None"
check "after the client died: no partial file in the store" no_partial_files
check "after the client died: no file named by the id" test ! -e "$STORE/$ID3"
truncate -s $((MAX + 1)) "$TMP/big"
expect 413 "Content-Length above [image] max_image_size" PUT "/image/v2/images/$ID3/file" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/big"
# answered mid-body (curl may report the interim 100 Continue as its status)
req PUT "/image/v2/images/$ID3/file" -H 'Content-Type: application/octet-stream' \
    -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
if grep -q '^HTTP/1.1 413' "$HEADERS" || [ "$(json "b['error']['code']" 2>/dev/null)" = 413 ]; then
    ok "chunked body growing above max_image_size -> 413 mid-body"
else
    bad "chunked body above max_image_size: $STATUS $(tr -d '\r' <"$HEADERS" | head -n 3 | tr '\n' ' ') $(head -c 200 "$BODY")"
fi
sleep 0.5
check "after 413: queued, no partial file" test "$(field "$ID3" status)" = queued
check "after 413: no partial file" no_partial_files
expect 204 "the upload can be retried and succeeds" PUT "/image/v2/images/$ID3/file" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/img3"
check "retried upload active with the right checksum" \
    test "$(field "$ID3" status),$(field "$ID3" checksum)" = "active,$(md5sum <"$TMP/img3" | cut -d' ' -f1)"

# an uploader that died with its process (no temporary file left behind, row
# still saving): refused while recent, taken over once stale
psql_c() { "$PG_BINDIR/psql" "$NUBE_TEST_PG_CONNINFO" -qtAc "$1"; }
req POST /image/v2/images -H 'Content-Type: application/json' -d '{"name":"crashed","disk_format":"raw","container_format":"bare"}'
ID5=$(json "b['id']")
psql_c "UPDATE image SET status = 'saving' WHERE id = '$ID5'"
expect 409 "upload to an image another upload is saving (recently)" PUT "/image/v2/images/$ID5/file" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/img2"
# what a crash leaves: the row saving and an old temporary file
echo partial >"$STORE/.tmp-$ID5-dead01"
touch -d '10 minutes ago' "$STORE/.tmp-$ID5-dead01"
psql_c "UPDATE image SET updated_at = now() - interval '10 minutes' WHERE id = '$ID5'"
expect 204 "upload to an image left saving by a dead uploader (stale row and temporary file)" \
    PUT "/image/v2/images/$ID5/file" -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/img2"
check "the reclaimed upload is active" test "$(field "$ID5" status)" = active
check "the dead uploader's temporary file is removed" no_partial_files

# ---- memory: an upload of 200 MB streams, it is not buffered ----
req POST /image/v2/images -H 'Content-Type: application/json' -d '{"name":"big","disk_format":"raw","container_format":"bare"}'
ID4=$(json "b['id']")
head -c $((200 * 1024 * 1024)) /dev/urandom >"$TMP/img4"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$API_PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$API_PID/status"; }
RSS0=$(rss)
T0=$(date +%s.%N)
expect 204 "200 MB upload" PUT "/image/v2/images/$ID4/file" -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/img4"
T1=$(date +%s.%N)
RSS1=$(rss)
HWM1=$(hwm)
echo "figure: 200 MiB upload in $(echo "$T1 - $T0" | bc) s; cloud-api RSS ${RSS0} kB before, ${RSS1} kB after (peak ${HWM1} kB)"
check "cloud-api RSS grew by less than 32 MB during a 200 MB upload" test $((RSS1 - RSS0)) -lt 32768
check "200 MB: checksum matches" test "$(field "$ID4" checksum)" = "$(md5sum <"$TMP/img4" | cut -d' ' -f1)"
RSS0=$(rss)
if curl -s -H "X-Auth-Token: $TOKEN" "$URL/image/v2/images/$ID4/file" | cmp - "$TMP/img4"; then
    ok "200 MB download equals the upload"
else
    bad "200 MB download differs"
fi
echo "figure: cloud-api RSS ${RSS0} kB before the 200 MiB download, $(rss) kB after"
check "cloud-api RSS grew by less than 32 MB during a 200 MB download" test $(($(rss) - RSS0)) -lt 32768
rm -f "$TMP/img4" "$TMP/big"

# ---- resolving images for a boot (docs/compute-flow.md build_instance) ----
# ---- delete ----
check "openstack image set --unprotected" osc image set --unprotected img1
check "openstack image delete img1" osc image delete img1
expect 404 "deleted image is gone" GET "/image/v2/images/$ID1"
check "its file is removed from the store" test ! -e "$STORE/$ID1"
expect 404 "delete again" DELETE "/image/v2/images/$ID1"

echo "$checks checks, $fail failed"
if [ "$fail" -ne 0 ]; then
    echo "--- osc errors (tail) ---"
    tail -n 20 "$TMP/osc.err"
    echo "--- api log (tail) ---"
    tail -n 30 "$TMP/api.log"
    exit 1
fi
exit 0
