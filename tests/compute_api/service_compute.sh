#!/usr/bin/env bash
# Service test of the compute API (Nova v2.1) in cloud-api: a private
# PostgreSQL and RabbitMQ, `cloud-api bootstrap`, cloud-api, and, when their
# binaries are given and exist, the real cloud-scheduler and cloud-compute
# (libvirt test:///default: no hypervisor needed). Driven with curl and the
# real openstack CLI.
#
#   service_compute.sh CLOUD_API SOURCE_DIR [CLOUD_SCHEDULER CLOUD_COMPUTE]
#
# Exit 0 when every check passed, 1 otherwise, 77 (skip) when PostgreSQL,
# RabbitMQ, curl or the openstack CLI is missing.
set -u

API_BIN=${1:?usage: service_compute.sh CLOUD_API SOURCE_DIR [CLOUD_SCHEDULER CLOUD_COMPUTE]}
SRC=${2:?usage: service_compute.sh CLOUD_API SOURCE_DIR [CLOUD_SCHEDULER CLOUD_COMPUTE]}
SCHED_BIN=${3:-}
AGENT_BIN=${4:-}
export NUBE_SRC=$SRC
# shellcheck source=tests/lib/services.sh
. "$SRC/tests/lib/services.sh"

command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
command -v openstack >/dev/null || { echo "SKIP: the openstack CLI is not installed"; exit 77; }
[ -x "${PG_BINDIR:-}/initdb" ] || { echo "SKIP: no PostgreSQL server (initdb) found"; exit 77; }
if ! declare -f rabbitmq_available >/dev/null || ! rabbitmq_available; then
    echo "SKIP: rabbitmq-server (and erl) are not installed"
    exit 77
fi

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
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else
        bad "$what"
        printf '%s\n' "$out" | tail -n 3 | sed 's/^/    /'
    fi
}

test_pg_start || { echo "FAIL: PostgreSQL did not start"; exit 1; }
test_rabbit_start || { echo "FAIL: RabbitMQ did not start"; exit 1; }
TMP=$(test_tmpdir)
API_PORT=$(free_port)
URL=http://127.0.0.1:$API_PORT
mkdir -p "$TMP/images"
test_api_conf "$TMP/api.conf" "$API_PORT" "$NUBE_TEST_PG_CONNINFO" "$NUBE_TEST_AMQP_URL"
cat >>"$TMP/api.conf" <<EOF
[compute]
service_down_time = 6
console_timeout_ms = 5000
[quota]
instances = 6
[catalog]
# the image API's place (docs/compute-flow.md), whether or not it is built in
image = $URL/image
[api]
# an operator's override: readers and members may list hypervisors
policy_file = $TMP/policy.json
EOF
cat >"$TMP/policy.json" <<'EOF'
{"os_compute_api:os-hypervisors:list": "rule:hv_viewers",
 "hv_viewers": "rule:project_reader_or_admin"}
EOF

psql_q() {
    "$PG_BINDIR/psql" "$NUBE_TEST_PG_CONNINFO" -tAc "$1"
}

check "bootstrap runs" "$API_BIN" bootstrap --config "$TMP/api.conf" --admin-password 'Adm1n!pw'
check "bootstrap runs again (idempotent)" "$API_BIN" bootstrap --config "$TMP/api.conf" --admin-password 'Adm1n!pw'
check "bootstrap: five default flavors incl. m1.nano 128 MB" \
    test "$(psql_q "SELECT count(*) || ',' || (SELECT memory_mb FROM flavor WHERE name = 'm1.nano') FROM flavor")" = "5,128"
check "bootstrap: compute endpoints at {public_url}/compute/v2.1" \
    test "$(psql_q "SELECT count(*) FROM catalog_endpoint e JOIN catalog_service s ON s.id = e.service_id WHERE s.type = 'compute' AND e.url = '$URL/compute/v2.1'")" = 3

"$API_BIN" --config "$TMP/api.conf" &
API_PID=$!
test_cleanup_add "kill -TERM $API_PID 2>/dev/null; wait $API_PID 2>/dev/null"
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$URL/v3" && break
    sleep 0.1
done

export OS_AUTH_URL=$URL/v3 OS_USERNAME=admin OS_PASSWORD='Adm1n!pw' OS_PROJECT_NAME=admin \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_IDENTITY_API_VERSION=3 \
    OS_INTERFACE=public
os() { openstack "$@"; }
TOKEN=$(os token issue -f value -c id)
[ -n "$TOKEN" ] || { echo "FAIL: no token"; tail -20 "$TMP/api.log"; exit 1; }
PROJECT=$(os token issue -f value -c project_id)

BODY=$TMP/body
HEADERS=$TMP/headers
req() { # req METHOD PATH [curl args]: STATUS, BODY, HEADERS
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
        -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$@" "$URL$path")
}
header() { grep -i "^$1:" "$HEADERS" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
json() { python3 -c "import json,sys; b = json.load(open('$BODY')); print($1)"; }
expect() { # expect STATUS NOVA_KEY DESCRIPTION METHOD PATH [curl args]
    local want=$1 key=$2 what=$3
    shift 3
    req "$@"
    local got
    got=$(python3 -c "import json; b = json.load(open('$BODY')); print(b['$key']['code'])" 2>/dev/null)
    if [ "$STATUS" = "$want" ] && [ "$got" = "$want" ]; then ok "$what ($STATUS $key)"; else
        bad "$what: got $STATUS $(head -c 300 "$BODY")"; fi
}

# ---- discovery and microversions ----
req GET /compute/
check "GET /compute/: v2.0 first, then v2.1 at 2.1 to 2.28" \
    test "$(json "b['versions'][0]['id'] + ' ' + b['versions'][1]['id'] + ' ' + b['versions'][1]['version'] + ' ' + b['versions'][1]['min_version']")" = "v2.0 v2.1 2.28 2.1"
req GET /compute/v2.1
check "GET /compute/v2.1 (no slash): version document with its self link" \
    test "$(json "b['version']['links'][0]['href']")" = "$URL/compute/v2.1/"
req GET /compute/v2/
check "GET /compute/v2/ answers" test "$STATUS" = 200
req GET /compute/v2.1/flavors -H 'X-OpenStack-Nova-API-Version: 2.1'
check "microversion headers echoed (both, Vary, X-Compute-Request-Id)" \
    test "$(header X-OpenStack-Nova-API-Version)|$(header OpenStack-API-Version)|$(header Vary | grep -c OpenStack-API-Version)|$(header X-Compute-Request-Id | cut -c1-4)" = "2.1|compute 2.1|1|req-"
expect 406 notAcceptable "microversion 2.60 refused" GET /compute/v2.1/flavors -H 'OpenStack-API-Version: compute 2.60'
req GET /compute/v2.1/flavors -H 'OpenStack-API-Version: compute latest'
check "microversion latest is 2.1" test "$STATUS" = 200
check "microversion latest is served as 2.28" test "$(header OpenStack-API-Version)|$(header X-OpenStack-Nova-API-Version)" = "compute 2.28|2.28"
req GET /compute/v2.1
check "GET /compute/v2.1: version 2.28, min_version 2.1" test "$(json "b['version']['version'] + ' ' + b['version']['min_version']")" = "2.28 2.1"
for v in 2.1 2.2 2.9 2.10 2.19 2.25 2.26 2.28; do
    req GET /compute/v2.1/flavors -H "OpenStack-API-Version: compute $v"
    r1="$STATUS $(header OpenStack-API-Version)"
    req GET /compute/v2.1/flavors -H "X-OpenStack-Nova-API-Version: $v"
    check "microversion $v served (both headers)" test "$r1|$STATUS $(header X-OpenStack-Nova-API-Version)" = "200 compute $v|200 $v"
done
expect 406 notAcceptable "microversion 2.29 (above the maximum) refused" GET /compute/v2.1/flavors -H 'OpenStack-API-Version: compute 2.29'
expect 406 notAcceptable "microversion 2.0 (below the minimum) refused" GET /compute/v2.1/flavors -H 'X-OpenStack-Nova-API-Version: 2.0'
expect 406 notAcceptable "microversion 3.1 refused" GET /compute/v2.1/flavors -H 'OpenStack-API-Version: compute 3.1'
expect 400 badRequest "malformed microversion 2.x" GET /compute/v2.1/flavors -H 'OpenStack-API-Version: compute 2.x'
expect 400 badRequest "malformed microversion 2.01 (a leading zero)" GET /compute/v2.1/flavors -H 'X-OpenStack-Nova-API-Version: 2.01'
req GET /compute/v2.1/flavors -H 'OpenStack-API-Version: volume 3.0, compute 2.19'
check "OpenStack-API-Version list: the compute item is used" test "$STATUS $(header OpenStack-API-Version)" = "200 compute 2.19"

# ---- flavors ----
check "flavor list shows m1.tiny and m1.nano" bash -c "openstack flavor list -f value -c Name | grep -qx m1.tiny && openstack flavor list -f value -c Name | grep -qx m1.nano"
check "flavor create f.test" os flavor create --ram 256 --vcpus 1 --disk 1 f.test
check "flavor show f.test (by name)" test "$(os flavor show f.test -f value -c ram)" = 256
check "flavor set --property (extra specs)" os flavor set --property hw:cpu_policy=shared f.test
check "flavor show shows the property" bash -c "openstack flavor show f.test -f value -c properties | grep -q cpu_policy"
req GET "/compute/v2.1/flavors/detail?minRam=1024&minDisk=20"
check "flavors/detail minRam/minDisk filter" test "$(json "sorted(f['name'] for f in b['flavors'])")" = "['m1.large', 'm1.medium', 'm1.small']"
req GET "/compute/v2.1/flavors/detail?limit=2"
check "flavors limit 2 with a next link" test "$(json "str(len(b['flavors'])) + ' ' + str('marker=' in b['flavors_links'][0]['href'])")" = "2 True"
check "flavor delete f.test" os flavor delete f.test
expect 404 itemNotFound "deleted flavor is 404" GET /compute/v2.1/flavors/f.test
expect 400 badRequest "flavor create with ram -1" POST /compute/v2.1/flavors -d '{"flavor":{"name":"x","ram":-1,"vcpus":1,"disk":0}}'
expect 409 conflictingRequest "flavor create with a taken name" POST /compute/v2.1/flavors -d '{"flavor":{"name":"m1.tiny","ram":1,"vcpus":1,"disk":0}}'

# ---- keypairs ----
os keypair create k1 >"$TMP/k1.pem" 2>/dev/null
check "keypair create returns a private key once" grep -q 'BEGIN RSA PRIVATE KEY' "$TMP/k1.pem"
if command -v ssh-keygen >/dev/null; then
    chmod 600 "$TMP/k1.pem"
    check "generated private key is usable by ssh-keygen" ssh-keygen -y -f "$TMP/k1.pem"
    ssh-keygen -q -t ed25519 -N '' -f "$TMP/k2" >/dev/null
    check "keypair create --public-key (import)" os keypair create --public-key "$TMP/k2.pub" k2
    check "imported fingerprint matches ssh-keygen's MD5" \
        test "$(os keypair show k2 -f value -c fingerprint)" = "$(ssh-keygen -l -E md5 -f "$TMP/k2.pub" | awk '{print $2}' | sed 's/^MD5://')"
fi
check "keypair list shows k1" bash -c "openstack keypair list -f value -c Name | grep -qx k1"
check "keypair show k1" os keypair show k1
expect 409 conflictingRequest "duplicate keypair" POST /compute/v2.1/os-keypairs -d '{"keypair":{"name":"k1"}}'
expect 400 badRequest "keypair with a bad public key" POST /compute/v2.1/os-keypairs -d '{"keypair":{"name":"k3","public_key":"ssh-rsa notbase64"}}'
expect 400 badRequest "keypair with an unsafe name" POST /compute/v2.1/os-keypairs -d '{"keypair":{"name":"a/b"}}'
# keypairs by microversion: 2.2 type and 201/204, 2.10 other users' (admins)
mvh() { echo "OpenStack-API-Version: compute $1"; }
expect 400 badRequest "keypair type at 2.1 (a 2.2 member)" POST /compute/v2.1/os-keypairs -d '{"keypair":{"name":"k21","type":"ssh"}}'
req POST /compute/v2.1/os-keypairs -H "$(mvh 2.2)" -d '{"keypair":{"name":"k22","type":"ssh"}}'
check "2.2 keypair create: 201 with type ssh" test "$STATUS|$(json "b['keypair']['type']")" = "201|ssh"
req GET /compute/v2.1/os-keypairs/k22
check "2.1 keypair show has no type" test "$STATUS|$(json "'type' in b['keypair']")" = "200|False"
req GET /compute/v2.1/os-keypairs/k22 -H "$(mvh 2.2)"
check "2.2 keypair show has type ssh" test "$(json "b['keypair']['type']")" = ssh
req GET /compute/v2.1/os-keypairs -H "$(mvh 2.2)"
check "2.2 keypair list: every key has type ssh" test "$(json "set(k['keypair']['type'] for k in b['keypairs'])")" = "{'ssh'}"
expect 400 badRequest "keypair user_id at 2.9 (a 2.10 member)" POST /compute/v2.1/os-keypairs -H "$(mvh 2.9)" -d '{"keypair":{"name":"kother","user_id":"someone-else"}}'
req POST /compute/v2.1/os-keypairs -H "$(mvh 2.10)" -d '{"keypair":{"name":"kother","user_id":"someone-else"}}'
check "2.10 admin creates a keypair for another user" test "$STATUS|$(json "b['keypair']['user_id']")" = "201|someone-else"
req GET "/compute/v2.1/os-keypairs?user_id=someone-else" -H "$(mvh 2.10)"
check "2.10 keypair list ?user_id= (admin)" test "$(json "[k['keypair']['name'] for k in b['keypairs']]")" = "['kother']"
req GET "/compute/v2.1/os-keypairs?user_id=someone-else"
check "2.1 keypair list ignores user_id" test "$(json "'kother' in [k['keypair']['name'] for k in b['keypairs']]")" = False
req GET "/compute/v2.1/os-keypairs/kother?user_id=someone-else" -H "$(mvh 2.10)"
check "2.10 keypair show ?user_id=" test "$STATUS|$(json "b['keypair']['user_id']")" = "200|someone-else"
req DELETE "/compute/v2.1/os-keypairs/kother?user_id=someone-else" -H "$(mvh 2.10)"
check "2.10 keypair delete ?user_id= is 204" test "$STATUS" = 204
req DELETE /compute/v2.1/os-keypairs/k22
check "2.1 keypair delete is still 202" test "$STATUS" = 202

# ---- the guest image (the image table is written directly) ----
head -c 65536 /dev/urandom >"$TMP/kernel.bin"
head -c 4096 /dev/urandom >"$TMP/initrd.bin"
KERNEL=$(python3 -c 'import uuid; print(uuid.uuid4())')
RAMDISK=$(python3 -c 'import uuid; print(uuid.uuid4())')
cp "$TMP/kernel.bin" "$TMP/images/$KERNEL"
cp "$TMP/initrd.bin" "$TMP/images/$RAMDISK"
psql_q "INSERT INTO image (id, name, status, visibility, owner, disk_format, container_format, size, checksum, properties)
        VALUES ('$RAMDISK', 'nube-guest-initrd', 'active', 'public', '$PROJECT', 'ari', 'ari', 4096, '$(md5sum "$TMP/initrd.bin" | cut -d' ' -f1)', '{}'),
               ('$KERNEL', 'nube-guest', 'active', 'public', '$PROJECT', 'aki', 'aki', 65536, '$(md5sum "$TMP/kernel.bin" | cut -d' ' -f1)', '{\"ramdisk_id\": \"$RAMDISK\"}')" >/dev/null
req GET "/compute/v2.1/images/$KERNEL"
check "images proxy shows the image ACTIVE" test "$(json "b['image']['status'] + ' ' + b['image']['name']")" = "ACTIVE nube-guest"

# ---- scheduler and agent ----
REAL=0
if [ -n "$SCHED_BIN" ] && [ -x "$SCHED_BIN" ] && [ -n "$AGENT_BIN" ] && [ -x "$AGENT_BIN" ]; then
    REAL=1
    cat >"$TMP/sched.conf" <<EOF
[database]
connection = $NUBE_TEST_PG_CONNINFO
[bus]
url = $NUBE_TEST_AMQP_URL
[compute]
service_down_time = 6
[scheduler]
host_refresh_ms = 200
# libvirt's test driver lists only the domain type "test", which no vm_mode
# maps to: ImagePropertiesFilter would refuse every host
enabled_filters = ComputeFilter,RetryFilter,AvailabilityZoneFilter,RamFilter,CoreFilter,DiskFilter,ServerGroupAffinityFilter,ServerGroupAntiAffinityFilter
[log]
level = info
file = $TMP/scheduler.log
EOF
    cat >"$TMP/agent.conf" <<EOF
[compute]
host = hv1
libvirt_uri = test:///default
instances_dir = $TMP/instances
image_cache_dir = $TMP/cache
heartbeat_interval = 1
shutdown_timeout = 2
powercap_dir = $TMP/no-powercap
[bus]
url = $NUBE_TEST_AMQP_URL
[log]
level = info
file = $TMP/agent.log
EOF
    "$SCHED_BIN" --config "$TMP/sched.conf" &
    SCHED_PID=$!
    test_cleanup_add "kill -TERM $SCHED_PID 2>/dev/null; wait $SCHED_PID 2>/dev/null"
    "$AGENT_BIN" --config "$TMP/agent.conf" &
    AGENT_PID=$!
    test_cleanup_add "kill -TERM \$AGENT_PID 2>/dev/null; wait \$AGENT_PID 2>/dev/null"
    for _ in $(seq 1 100); do
        [ "$(psql_q "SELECT count(*) FROM compute_node WHERE host = 'hv1'")" = 1 ] && break
        sleep 0.2
    done
    check "the agent's heartbeat created compute_node hv1" test "$(psql_q "SELECT count(*) FROM compute_node WHERE host = 'hv1'")" = 1
else
    echo "note: no cloud-scheduler/cloud-compute given: the flow is simulated with events"
fi

# ---- hypervisors, services, availability zones ----
if [ "$REAL" = 1 ]; then
    check "hypervisor list shows hv1 up" bash -c "openstack hypervisor list -f value -c 'Hypervisor Hostname' -c State | grep -q 'up'"
    HV_ID=$(psql_q "SELECT id FROM compute_node WHERE host = 'hv1'")
    check "hypervisor show (by id) with its resources" bash -c "openstack hypervisor show $HV_ID -f json | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h[\"vcpus\"] > 0 and h[\"memory_mb\"] > 0, h'"
    check "hypervisor stats show" os hypervisor stats show
    check "hypervisor show at 2.28 (CLI)" bash -c "openstack --os-compute-api-version 2.28 hypervisor show $HV_ID -f json | python3 -c 'import json,sys; h=json.load(sys.stdin); assert h[\"service_host\"] == \"hv1\" and h[\"uptime\"], h'"
    check "hypervisor list at 2.28 (CLI)" bash -c "openstack --os-compute-api-version 2.28 hypervisor list -f value -c 'Hypervisor Hostname' | grep -q ."
    check "hypervisor stats show at 2.28 (CLI)" os --os-compute-api-version 2.28 hypervisor stats show
    for v in 2.27 2.28; do
    req GET /compute/v2.1/os-hypervisors/detail -H "$(mvh $v)"
    check "$v hypervisor detail carries every field" python3 - "$BODY" "$v" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["hypervisors"][0]
want = {"id", "hypervisor_hostname", "state", "status", "hypervisor_type", "hypervisor_version",
        "host_ip", "vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "local_gb",
        "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
        "disk_available_least", "cpu_info", "service"}
assert set(h) == want, set(h) ^ want
assert isinstance(h["id"], int), h
# a JSON object from 2.28, its text below
assert isinstance(h["cpu_info"], dict if sys.argv[2] == "2.28" else str), h["cpu_info"]
assert set(h["service"]) == {"host", "id", "disabled_reason"}, h["service"]
PY
    done
    req GET "/compute/v2.1/os-hypervisors/$HV_ID" -H "$(mvh 2.28)"
    check "2.28 hypervisor show: cpu_info an object" test "$(json "type(b['hypervisor']['cpu_info']).__name__")" = dict
    req GET "/compute/v2.1/os-hypervisors/$HV_ID/uptime"
    check "uptime has only id, hypervisor_hostname, state, status, uptime" \
        test "$(json "sorted(b['hypervisor'])")" = "['hypervisor_hostname', 'id', 'state', 'status', 'uptime']"
    check "compute service list shows nova-compute on hv1 up" bash -c "openstack compute service list -f value -c Binary -c Host -c State | grep -q 'nova-compute hv1 up'"
    check "availability zone list shows nova available" bash -c "openstack availability zone list --compute -f value | grep -q 'nova available'"
fi
expect 404 itemNotFound "hypervisor by a non-integer id is 404" GET /compute/v2.1/os-hypervisors/hv1

# shellcheck disable=SC2317 # called through check
wait_status() { # wait_status SERVER STATUS SECONDS
    local s
    for _ in $(seq 1 $(($3 * 5))); do
        req GET "/compute/v2.1/servers/$1"
        s=$(json "b['server']['status']" 2>/dev/null)
        [ "$s" = "$2" ] && return 0
        sleep 0.2
    done
    echo "  (server $1 is $s, wanted $2)"
    return 1
}

# ---- servers ----
expect 400 badRequest "create without flavorRef" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\"}}"
expect 400 badRequest "create with an unknown flavor" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"nope\"}}"
expect 400 badRequest "create with an unknown image" POST /compute/v2.1/servers -d '{"server":{"name":"x","imageRef":"00000000-0000-0000-0000-000000000000","flavorRef":"42"}}'
expect 400 badRequest "create with a ramdisk image" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$RAMDISK\",\"flavorRef\":\"42\"}}"
expect 400 badRequest "create with malformed JSON" POST /compute/v2.1/servers -d '{"server":'
expect 400 badRequest "create with an unknown key_name" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"key_name\":\"nokey\"}}"
expect 400 badRequest "create with bad user_data" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"user_data\":\"%%%\"}}"
expect 400 badRequest "create with min_count 0" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"min_count\":0}}"

IMAGE_API=0
curl -s -o /dev/null -w '%{http_code}' "$URL/image/" | grep -qE '^(200|300)$' && IMAGE_API=1
if [ "$IMAGE_API" = 1 ]; then
    check "server create --flavor m1.nano --image nube-guest --key-name k1 --wait vm1 (CLI)" \
        os server create --flavor m1.nano --image nube-guest --key-name k1 --property role=test \
        --user-data "$TMP/k2.pub" ${REAL:+--wait} vm1
    VM1=$(psql_q "SELECT id FROM instance WHERE name = 'vm1' AND deleted_at IS NULL")
else
    echo "note: no image API in this cloud-api: server create goes through curl"
    req POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"vm1\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"key_name\":\"k1\",\"metadata\":{\"role\":\"test\"},\"user_data\":\"aGVsbG8=\",\"min_count\":1,\"max_count\":1}}"
    check "server create: 202 with id, links, adminPass and a Location" \
        test "$STATUS|$(json "sorted(b['server'])")|$(header Location | grep -c /compute/v2.1/servers/)" = "202|['OS-DCF:diskConfig', 'adminPass', 'id', 'links', 'security_groups']|1"
    VM1=$(json "b['server']['id']")
fi
check "new instance is building/scheduling with the resolved kernel's vm_mode" \
    test "$(psql_q "SELECT vm_mode || ',' || (reservation_id LIKE 'r-%') FROM instance WHERE id = '$VM1'")" = "xen,true"

if [ "$REAL" = 1 ]; then
    check "vm1 reaches ACTIVE (real scheduler and agent)" wait_status "$VM1" ACTIVE 30
else
    bad "the server flow needs cloud-scheduler and cloud-compute (not given)"
fi

# OSC's server list/show read the image service too: without the image API
# in this cloud-api those CLI checks are skipped (and said so), curl covers them
cli_img() { # cli_img DESCRIPTION COMMAND...: a check that needs the image API
    if [ "$IMAGE_API" = 1 ]; then check "$@"; else echo "skip: $1 (needs the image API)"; fi
}
cli_img "server list (CLI) shows vm1 ACTIVE" bash -c "openstack server list -f value -c Name -c Status | grep -q 'vm1 ACTIVE'"
cli_img "server show vm1 (CLI, by name)" bash -c "openstack server show vm1 -f value -c status | grep -qx ACTIVE"
req GET "/compute/v2.1/servers/$VM1"
check "2.1 server body has exactly the 2.1 keys" python3 - "$BODY" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["server"]
required = {"id", "name", "status", "image", "flavor", "user_id", "tenant_id", "created", "updated", "metadata", "links", "addresses", "hostId"}
optional = {"progress", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "key_name", "security_groups", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "OS-EXT-AZ:availability_zone", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state", "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "OS-EXT-SRV-ATTR:hypervisor_hostname", "os-extended-volumes:volumes_attached", "config_drive", "fault"}
keys = set(s)
assert required <= keys, required - keys
assert keys <= required | optional, keys - required - optional
assert set(s["flavor"]) == {"id", "links"}
assert s["OS-EXT-STS:task_state"] is None and s["OS-EXT-STS:power_state"] == 1
assert s["metadata"] == {"role": "test"}
assert s["key_name"] == "k1" and s["hostId"]
PY
expect 404 itemNotFound "GET /servers/<name> is 404 (name-or-id lookup)" GET /compute/v2.1/servers/vm1
req GET "/compute/v2.1/servers?name=vm"
check "?name= filter (substring)" test "$(json "[s['name'] for s in b['servers']]")" = "['vm1']"
req GET "/compute/v2.1/servers/detail?status=ACTIVE&flavor=42&image=$KERNEL"
check "status/flavor/image filters" test "$(json "len(b['servers'])")" = 1
req GET "/compute/v2.1/servers/detail?status=SHUTOFF"
check "status filter excludes" test "$(json "len(b['servers'])")" = 0
expect 400 badRequest "unknown status filter" GET "/compute/v2.1/servers/detail?status=NOPE"
expect 400 badRequest "limit not a number" GET "/compute/v2.1/servers/detail?limit=abc"
expect 400 badRequest "unknown marker" GET "/compute/v2.1/servers/detail?marker=00000000-0000-0000-0000-000000000000"
req GET "/compute/v2.1/servers/detail?changes-since=2000-01-01T00:00:00Z"
check "changes-since filter" test "$(json "len(b['servers'])")" = 1

# ---- the server representation by microversion ----
# members a version adds: present from it on, absent below (admin caller)
check_members() { # check_members VERSION PRESENT|ABSENT KEY...
    local v=$1 want=$2
    shift 2
    req GET "/compute/v2.1/servers/$VM1" -H "$(mvh "$v")"
    local s1
    s1=$(python3 - "$BODY" "$want" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["server"]
want = sys.argv[2] == "present"
print(all((k in s) == want for k in sys.argv[3:]))
PY
)
    req GET "/compute/v2.1/servers/detail?name=%5Evm1%24" -H "$(mvh "$v")"
    local s2
    s2=$(python3 - "$BODY" "$want" "$@" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["servers"]
want = sys.argv[2] == "present"
print(len(b) == 1 and all((k in b[0]) == want for k in sys.argv[3:]))
PY
)
    check "$v: $* $want (show and detail)" test "$s1 $s2" = "True True"
}
ATTR23="OS-EXT-SRV-ATTR:reservation_id OS-EXT-SRV-ATTR:launch_index OS-EXT-SRV-ATTR:kernel_id OS-EXT-SRV-ATTR:ramdisk_id OS-EXT-SRV-ATTR:hostname OS-EXT-SRV-ATTR:root_device_name OS-EXT-SRV-ATTR:user_data"
# shellcheck disable=SC2086 # a list of keys
{
    check_members 2.2 absent $ATTR23
    check_members 2.3 present $ATTR23
    check_members 2.8 absent locked
    check_members 2.9 present locked
    check_members 2.15 absent host_status
    check_members 2.16 present host_status
    check_members 2.18 absent description
    check_members 2.19 present description
    check_members 2.25 absent tags
    check_members 2.26 present tags
    check_members 2.28 present $ATTR23 locked host_status description tags
}
req GET "/compute/v2.1/servers/$VM1" -H "$(mvh 2.28)"
check "2.3 attributes: reservation, launch index, kernel/ramdisk ids, hostname, root device, user_data" python3 - "$BODY" "$KERNEL" "$RAMDISK" "$(base64 -w0 "$TMP/k2.pub")" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["server"]
a = lambda k: s["OS-EXT-SRV-ATTR:" + k]
assert a("reservation_id").startswith("r-") and a("launch_index") == 0, s
# the booted image is the kernel itself (an aki): its ramdisk property is the ramdisk
assert a("kernel_id") == "" and a("ramdisk_id") == sys.argv[3], (a("kernel_id"), a("ramdisk_id"))
assert a("hostname") == "vm1" and a("root_device_name") == "/dev/vda", s
assert a("user_data") == sys.argv[4], a("user_data")
assert s["locked"] is False and s["description"] is None, s
PY
if [ "$REAL" = 1 ]; then
    check "2.16 host_status UP (hv1 heartbeats)" test "$(json "b['server']['host_status']")" = UP
fi
req GET "/compute/v2.1/servers/$VM1" -H "$(mvh 2.1)"
check "2.1 flavor is {id, links}" test "$(json "sorted(b['server']['flavor'])")" = "['id', 'links']"

# golden documents at 2.1 and 2.28 (ids, times and URLs replaced; rewritten
# from this run when NUBE_UPDATE_GOLDEN is set, to be reviewed in the diff)
golden() { # golden VERSION FILE
    req GET "/compute/v2.1/servers/$VM1" -H "$(mvh "$1")"
    python3 - "$BODY" "$2" "$URL" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))["server"]
url = sys.argv[3]
def norm(v, key=""):
    if isinstance(v, dict):
        return {k: norm(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x, key) for x in v]
    if isinstance(v, str):
        if key == "id" and len(v) == 36:
            return "<id>"
        if key in ("tenant_id", "user_id", "hostId", "created", "updated",
                   "OS-SRV-USG:launched_at", "OS-EXT-SRV-ATTR:instance_name",
                   "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:ramdisk_id",
                   "OS-EXT-SRV-ATTR:user_data") and v:
            return "<" + key + ">"
        if key == "href":
            return "<url>/" + "/".join("<id>" if len(p) == 36 else p for p in v[len(url) + 1:].split("/"))
    return v
got = norm(s)
if os.environ.get("NUBE_UPDATE_GOLDEN"):
    with open(sys.argv[2], "w") as f:
        f.write(json.dumps(got, indent=2, sort_keys=True) + "\n")
want = json.load(open(sys.argv[2]))
if got != want:
    print(json.dumps(got, indent=2, sort_keys=True))
    sys.exit(1)
PY
}
check "server detail at 2.1 matches tests/compute_api/golden/server_2.1.json" golden 2.1 "$SRC/tests/compute_api/golden/server_2.1.json"
check "server detail at 2.28 matches tests/compute_api/golden/server_2.28.json" golden 2.28 "$SRC/tests/compute_api/golden/server_2.28.json"

# description (2.19): create, update, clear; refused below 2.19
expect 400 badRequest "description at 2.18 (a 2.19 member) on update" PUT "/compute/v2.1/servers/$VM1" -H "$(mvh 2.18)" -d '{"server":{"description":"d"}}'
req PUT "/compute/v2.1/servers/$VM1" -H "$(mvh 2.19)" -d '{"server":{"description":"the first"}}'
check "2.19 update sets the description (and answers the server)" test "$STATUS|$(json "b['server']['description']")" = "200|the first"
req GET "/compute/v2.1/servers/$VM1"
check "2.1 show has no description" test "$(json "'description' in b['server']")" = False
expect 400 badRequest "description longer than 255" PUT "/compute/v2.1/servers/$VM1" -H "$(mvh 2.19)" -d "{\"server\":{\"description\":\"$(printf 'x%.0s' $(seq 1 256))\"}}"
req PUT "/compute/v2.1/servers/$VM1" -H "$(mvh 2.19)" -d '{"server":{"description":null}}'
check "2.19 update with description null clears it" test "$STATUS|$(json "b['server']['description']")" = "200|None"
expect 400 badRequest "description at 2.1 on create" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"d1\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"description\":\"x\"}}"
req POST /compute/v2.1/servers -H "$(mvh 2.19)" -d "{\"server\":{\"name\":\"described\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"description\":\"made at 2.19\"}}"
DESCRIBED=$(json "b['server']['id']")
req GET "/compute/v2.1/servers/$DESCRIBED" -H "$(mvh 2.19)"
check "2.19 create with a description" test "$(json "b['server']['description']")" = "made at 2.19"
req DELETE "/compute/v2.1/servers/$DESCRIBED"
for _ in $(seq 1 100); do
    req GET "/compute/v2.1/servers/$DESCRIBED"
    [ "$STATUS" = 404 ] && break
    sleep 0.2
done

# the name filter is a regular expression (PostgreSQL ~), as in Nova
for pat in '%5Evm1%24' '%5Ev.1' 'm1' 'm%5B0-9%5D%24'; do
    req GET "/compute/v2.1/servers?name=$pat"
    check "?name=$pat (regex) finds vm1" test "$(json "[s['name'] for s in b['servers']]")" = "['vm1']"
done
req GET "/compute/v2.1/servers?name=%5Em1"
check "?name=^m1 (anchored) finds nothing" test "$(json "b['servers']")" = "[]"
expect 400 badRequest "?name= with an invalid regex is 400" GET "/compute/v2.1/servers?name=%28"
expect 400 badRequest "?name= with an invalid regex on detail is 400" GET "/compute/v2.1/servers/detail?name=a%5B"

# server tags (2.26)
expect 404 itemNotFound "tags at 2.25 (a 2.26 API) are 404" GET "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.25)"
req GET "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)"
check "2.26 a new server has no tags" test "$STATUS|$(json "b['tags']")" = "200|[]"
req PUT "/compute/v2.1/servers/$VM1/tags/red" -H "$(mvh 2.26)"
check "2.26 PUT one tag: 201 with its Location" test "$STATUS|$(header Location | grep -c "/servers/$VM1/tags/red")" = "201|1"
req PUT "/compute/v2.1/servers/$VM1/tags/red" -H "$(mvh 2.26)"
check "2.26 PUT a present tag: 204" test "$STATUS" = 204
req PUT "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)" -d '{"tags":["blue","amber","blue"]}'
check "2.26 PUT all tags replaces them, sorted and unique" test "$STATUS|$(json "b['tags']")" = "200|['amber', 'blue']"
req GET "/compute/v2.1/servers/$VM1/tags/blue" -H "$(mvh 2.26)"
check "2.26 GET a present tag: 204" test "$STATUS" = 204
expect 404 itemNotFound "2.26 GET an absent tag" GET "/compute/v2.1/servers/$VM1/tags/red" -H "$(mvh 2.26)"
expect 400 badRequest "2.26 a tag with a comma" PUT "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)" -d '{"tags":["a,b"]}'
expect 400 badRequest "2.26 more than 50 tags" PUT "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)" -d "{\"tags\":$(python3 -c 'import json; print(json.dumps(["t%d" % i for i in range(51)]))')}"
expect 400 badRequest "2.26 a tag of 61 characters" PUT "/compute/v2.1/servers/$VM1/tags/$(printf 'x%.0s' $(seq 1 61))" -H "$(mvh 2.26)"
req GET "/compute/v2.1/servers/$VM1" -H "$(mvh 2.26)"
check "2.26 server show carries the tags" test "$(json "b['server']['tags']")" = "['amber', 'blue']"
for f in "tags=blue:['vm1']" "tags=blue,nope:[]" "tags-any=blue,nope:['vm1']" "not-tags=amber,blue:[]" "not-tags=amber,nope:['vm1']" "not-tags-any=nope:['vm1']" "not-tags-any=amber,nope:[]"; do
    req GET "/compute/v2.1/servers?name=%5Evm1%24&${f%%:*}" -H "$(mvh 2.26)"
    check "2.26 list filter ${f%%:*}" test "$(json "[s['name'] for s in b['servers']]")" = "${f#*:}"
done
req GET "/compute/v2.1/servers?name=%5Evm1%24&tags=nope"
check "2.1 ignores the tags filter" test "$(json "[s['name'] for s in b['servers']]")" = "['vm1']"
req DELETE "/compute/v2.1/servers/$VM1/tags/amber" -H "$(mvh 2.26)"
check "2.26 DELETE one tag: 204" test "$STATUS" = 204
expect 404 itemNotFound "2.26 DELETE an absent tag" DELETE "/compute/v2.1/servers/$VM1/tags/amber" -H "$(mvh 2.26)"
check "server set --tag (CLI at 2.26)" os --os-compute-api-version 2.26 server set --tag green vm1
req GET "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)"
check "the CLI's tag is there" test "$(json "b['tags']")" = "['blue', 'green']"
req DELETE "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)"
req GET "/compute/v2.1/servers/$VM1/tags" -H "$(mvh 2.26)"
check "2.26 DELETE all tags" test "$(json "b['tags']")" = "[]"

# the CLI at explicit microversions
cli_img "server show at 2.28 (CLI): locked, host_status, description" bash -c "openstack --os-compute-api-version 2.28 server show vm1 -f json | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s[\"locked\"] is False and \"description\" in s and s[\"OS-EXT-SRV-ATTR:hostname\"] == \"vm1\", s'"
cli_img "server list at 2.28 (CLI)" bash -c "openstack --os-compute-api-version 2.28 server list -f value -c Name | grep -qx vm1"
check "server show at 2.79 (CLI) is refused: above the maximum" bash -c "! openstack --os-compute-api-version 2.79 server show $VM1 >/dev/null 2>&1"

# a member of another project sees no admin-only members
os project create p2 >/dev/null 2>&1
os user create --project p2 --password 'M3mber!pw' u2 >/dev/null 2>&1
os role add --project p2 --user u2 member >/dev/null 2>&1
TOKEN2=$(OS_USERNAME=u2 OS_PASSWORD='M3mber!pw' OS_PROJECT_NAME=p2 openstack token issue -f value -c id)
req2() { # req2 METHOD PATH [curl args], as u2
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -X "$method" -o "$BODY" -D "$HEADERS" -w '%{http_code}' \
        -H "X-Auth-Token: $TOKEN2" -H 'Content-Type: application/json' "$@" "$URL$path")
}
req2 POST /compute/v2.1/servers -H "$(mvh 2.19)" -d "{\"server\":{\"name\":\"theirs\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"description\":\"u2's\"}}"
THEIRS=$(json "b['server']['id']" 2>/dev/null)
check "a member creates a server at 2.19" test "$STATUS" = 202
req2 GET "/compute/v2.1/servers/$THEIRS" -H "$(mvh 2.28)"
check "2.28 for a member: locked and description, no OS-EXT-SRV-ATTR:* nor host_status" python3 - "$BODY" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["server"]
assert not [k for k in s if k.startswith("OS-EXT-SRV-ATTR:")] and "host_status" not in s, sorted(s)
assert s["locked"] is False and s["description"] == "u2's", s
PY
req2 GET "/compute/v2.1/os-keypairs?user_id=someone-else" -H "$(mvh 2.10)"
check "2.10 keypair list of another user is 403 for a member" test "$STATUS" = 403
req2 DELETE "/compute/v2.1/servers/$THEIRS"

# ---- actions ----
expect 409 conflictingRequest "os-start on an ACTIVE server" POST "/compute/v2.1/servers/$VM1/action" -d '{"os-start":null}'
expect 409 conflictingRequest "unpause on an ACTIVE server" POST "/compute/v2.1/servers/$VM1/action" -d '{"unpause":null}'
expect 400 badRequest "reboot with a bad type" POST "/compute/v2.1/servers/$VM1/action" -d '{"reboot":{"type":"MEDIUM"}}'
expect 400 badRequest "unknown action" POST "/compute/v2.1/servers/$VM1/action" -d '{"os-frobnicate":null}'
expect 404 itemNotFound "action on an unknown server" POST "/compute/v2.1/servers/00000000-0000-0000-0000-000000000000/action" -d '{"os-stop":null}'
if [ "$REAL" = 1 ]; then
    check "console log show vm1 (CLI)" os console log show vm1
    # OSC 6.0's server stop/start have no --wait: poll
    check "server stop" os server stop vm1
    check "server reaches SHUTOFF" wait_status "$VM1" SHUTOFF 30
    cli_img "server show (CLI) says SHUTOFF" bash -c "openstack server show vm1 -f value -c status | grep -qx SHUTOFF"
    req GET "/compute/v2.1/servers/$VM1"
    check "stopped: vm_state stopped, power_state 4" test "$(json "(b['server']['OS-EXT-STS:vm_state'], b['server']['OS-EXT-STS:power_state'])")" = "('stopped', 4)"
    expect 409 conflictingRequest "os-stop on a SHUTOFF server" POST "/compute/v2.1/servers/$VM1/action" -d '{"os-stop":null}'
    check "server start" os server start vm1
    check "server reaches ACTIVE" wait_status "$VM1" ACTIVE 30
    check "server reboot --wait (soft)" os server reboot --wait vm1
    check "server reboot --hard --wait" os server reboot --hard --wait vm1
    check "server pause" os server pause vm1
    check "server reaches PAUSED" wait_status "$VM1" PAUSED 20
    expect 409 conflictingRequest "suspend on a PAUSED server" POST "/compute/v2.1/servers/$VM1/action" -d '{"suspend":null}'
    check "server unpause" os server unpause vm1
    check "server back to ACTIVE" wait_status "$VM1" ACTIVE 20
    check "server suspend" os server suspend vm1
    check "server reaches SUSPENDED" wait_status "$VM1" SUSPENDED 20
    check "server resume" os server resume vm1
    check "server ACTIVE after resume" wait_status "$VM1" ACTIVE 20
fi

# ---- metadata and update ----
check "server set --property (metadata)" os server set --property color=blue vm1
req GET "/compute/v2.1/servers/$VM1/metadata"
check "metadata has both keys" test "$(json "sorted(b['metadata'].items())")" = "[('color', 'blue'), ('role', 'test')]"
check "server unset --property" os server unset --property color vm1
req GET "/compute/v2.1/servers/$VM1/metadata/color"
check "unset key is gone (404)" test "$STATUS" = 404
expect 400 badRequest "metadata item with a body/URI mismatch" PUT "/compute/v2.1/servers/$VM1/metadata/a" -d '{"meta":{"b":"c"}}'
check "server set --name (rename)" os server set --name vm1b vm1
cli_img "renamed server shows" bash -c "openstack server show vm1b -f value -c name | grep -qx vm1b"
os server set --name vm1 vm1b >/dev/null 2>&1

# ---- quota ----
req PUT "/compute/v2.1/os-quota-sets/$PROJECT" -d '{"quota_set":{"instances":3}}'
check "quota set instances 3 (admin PUT)" test "$STATUS|$(json "b['quota_set']['instances']")" = "200|3"
check "quota show (CLI, compute part)" bash -c "openstack quota show --compute -f value 2>/dev/null | grep -q . || openstack quota show -f value | grep -q ."
req POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"many\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\",\"min_count\":3,\"max_count\":3}}"
check "booting beyond the quota is refused: 403 with Nova's message" \
    test "$STATUS|$(json "b['forbidden']['message']")" = "403|Quota exceeded for instances: Requested 3, but already used 1 of 3 instances"
req GET "/compute/v2.1/limits"
check "limits: maxTotalInstances 3, totalInstancesUsed 1" test "$(json "(b['limits']['absolute']['maxTotalInstances'], b['limits']['absolute']['totalInstancesUsed'])")" = "(3, 1)"
# concurrent creates cannot exceed the quota (the project lock)
race_pids=()
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"server\":{\"name\":\"race$i\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\"}}" \
        "$URL/compute/v2.1/servers" &
    race_pids+=($!)
done
wait "${race_pids[@]}"
check "6 concurrent creates leave exactly 3 instances (quota 3)" test "$(psql_q "SELECT count(*) FROM instance WHERE project_id = '$PROJECT' AND deleted_at IS NULL")" = 3
for id in $(psql_q "SELECT id FROM instance WHERE name LIKE 'race%' AND deleted_at IS NULL"); do
    req DELETE "/compute/v2.1/servers/$id"
done
for _ in $(seq 1 100); do
    [ "$(psql_q "SELECT count(*) FROM instance WHERE name LIKE 'race%' AND deleted_at IS NULL")" = 0 ] && break
    sleep 0.2
done
check "race instances deleted" test "$(psql_q "SELECT count(*) FROM instance WHERE name LIKE 'race%' AND deleted_at IS NULL")" = 0
req PUT "/compute/v2.1/os-quota-sets/$PROJECT" -d '{"quota_set":{"instances":10,"cores":100,"ram":1000000}}'

# ---- no valid host ----
if [ "$REAL" = 1 ]; then
    os flavor create --ram 900000 --vcpus 1 --disk 0 f.huge >/dev/null
    req POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"toobig\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"$(os flavor show f.huge -f value -c id)\"}}"
    BIG=$(json "b['server']['id']")
    check "an instance no host can run goes to ERROR" wait_status "$BIG" ERROR 20
    req GET "/compute/v2.1/servers/$BIG"
    check "its fault says why (No valid host, RamFilter)" bash -c "python3 -c \"import json; print(json.load(open('$BODY'))['server']['fault']['message'])\" | grep 'No valid host.*RamFilter'"
    cli_img "server show (CLI) shows the fault" bash -c "openstack server show toobig -f value -c fault | grep -q 'No valid host.*Ram'"
    check "server delete of the ERROR instance (never scheduled)" os server delete --wait toobig

    # services: disable hv1, then a create finds no host
    check "compute service set --disable hv1" os compute service set --disable hv1 nova-compute
    check "service shows disabled" bash -c "openstack compute service list -f value -c Host -c Status | grep -q 'hv1 disabled'"
    check "compute service set --enable hv1" os compute service set --enable hv1 nova-compute
    req GET /compute/v2.1/os-services -H "$(mvh 2.10)"
    check "2.10 services have no forced_down" test "$(json "'forced_down' in b['services'][0]")" = False
    req GET /compute/v2.1/os-services -H "$(mvh 2.11)"
    check "2.11 services have forced_down false" test "$(json "b['services'][0]['forced_down']")" = False
    expect 404 itemNotFound "force-down at 2.10 (a 2.11 API)" PUT /compute/v2.1/os-services/force-down -H "$(mvh 2.10)" -d '{"host":"hv1","binary":"nova-compute","forced_down":true}'
    req PUT /compute/v2.1/os-services/force-down -H "$(mvh 2.11)" -d '{"host":"hv1","binary":"nova-compute","forced_down":true}'
    check "2.11 force-down hv1" test "$STATUS|$(json "b['service']['forced_down']")" = "200|True"
    req GET /compute/v2.1/os-services -H "$(mvh 2.11)"
    check "a forced-down host is down whatever its heartbeat" test "$(json "(b['services'][0]['forced_down'], b['services'][0]['state'])")" = "(True, 'down')"
    req GET "/compute/v2.1/servers/$VM1" -H "$(mvh 2.16)"
    check "2.16 host_status DOWN while forced down" test "$(json "b['server']['host_status']")" = DOWN
    req PUT /compute/v2.1/os-services/force-down -H "$(mvh 2.11)" -d '{"host":"hv1","binary":"nova-compute","forced_down":false}'
    req GET /compute/v2.1/os-services -H "$(mvh 2.11)"
    check "force-down false: hv1 up again" test "$(json "(b['services'][0]['forced_down'], b['services'][0]['state'])")" = "(False, 'up')"
    expect 400 badRequest "force-down without a boolean" PUT /compute/v2.1/os-services/force-down -H "$(mvh 2.11)" -d '{"host":"hv1","binary":"nova-compute","forced_down":"yes"}'
    os compute service set --disable hv1 nova-compute >/dev/null
    req GET "/compute/v2.1/servers/$VM1" -H "$(mvh 2.16)"
    check "2.16 host_status MAINTENANCE while the service is disabled" test "$(json "b['server']['host_status']")" = MAINTENANCE
    os compute service set --enable hv1 nova-compute >/dev/null
fi

# ---- server groups ----
req POST /compute/v2.1/os-server-groups -d '{"server_group":{"name":"g1","policies":["anti-affinity"]}}'
check "server group create" test "$STATUS|$(json "b['server_group']['policies']")" = "200|['anti-affinity']"
G1=$(json "b['server_group']['id']")
check "server group list (CLI)" bash -c "openstack server group list -f value -c Name | grep -qx g1"
req POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"grouped\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\"},\"os:scheduler_hints\":{\"group\":\"$G1\"}}"
GROUPED=$(json "b['server']['id']")
req GET "/compute/v2.1/os-server-groups/$G1"
check "scheduler_hints group: the server is a member of g1" test "$(json "b['server_group']['members']")" = "['$GROUPED']"
expect 400 badRequest "scheduler_hints group that is not a UUID" POST /compute/v2.1/servers -d "{\"server\":{\"name\":\"x\",\"imageRef\":\"$KERNEL\",\"flavorRef\":\"42\"},\"os:scheduler_hints\":{\"group\":\"nope\"}}"
req DELETE "/compute/v2.1/servers/$GROUPED"
for _ in $(seq 1 100); do
    req GET "/compute/v2.1/servers/$GROUPED"
    [ "$STATUS" = 404 ] && break
    sleep 0.2
done
check "grouped server deleted" test "$STATUS" = 404
expect 400 badRequest "server group with an unknown policy" POST /compute/v2.1/os-server-groups -d '{"server_group":{"name":"g2","policies":["nearby"]}}'
req GET "/compute/v2.1/os-server-groups/$G1" -H "$(mvh 2.12)"
check "2.12 server group has no project_id/user_id" test "$(json "'project_id' in b['server_group'] or 'user_id' in b['server_group']")" = False
req GET "/compute/v2.1/os-server-groups/$G1" -H "$(mvh 2.13)"
check "2.13 server group has project_id and user_id" test "$(json "b['server_group']['project_id']")" = "$PROJECT"
expect 400 badRequest "soft-affinity at 2.14 (a 2.15 policy)" POST /compute/v2.1/os-server-groups -H "$(mvh 2.14)" -d '{"server_group":{"name":"gs","policies":["soft-affinity"]}}'
req POST /compute/v2.1/os-server-groups -H "$(mvh 2.15)" -d '{"server_group":{"name":"gs","policies":["soft-anti-affinity"]}}'
check "2.15 soft-anti-affinity group" test "$STATUS|$(json "b['server_group']['policies']")" = "200|['soft-anti-affinity']"
req DELETE "/compute/v2.1/os-server-groups/$(json "b['server_group']['id']")"
check "server group create (CLI)" os server group create --policy affinity gcli
check "server group show (CLI)" bash -c "openstack server group show gcli -f value -c policies | grep -q affinity"
check "server group delete gcli (CLI)" os server group delete gcli
check "server group delete (CLI)" os server group delete "$G1"

# ---- delete ----
if [ "$REAL" = 1 ]; then
    check "server delete --wait vm1" os server delete --wait vm1
    expect 404 itemNotFound "deleted server is 404" GET "/compute/v2.1/servers/$VM1"
    check "claims released: hv1 has no usage left" test "$(psql_q "SELECT vcpus_used || ',' || memory_mb_used || ',' || running_vms FROM compute_node WHERE host = 'hv1'")" = "0,0,0"
    check "no claims left" test "$(psql_q "SELECT count(*) FROM instance_claim")" = 0

    # a host whose heartbeats stop is down
    kill -TERM "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null
    sleep 7
    check "hypervisor hv1 is down once its heartbeats stop" bash -c "openstack hypervisor list -f value -c State | grep -qx down"
fi

# ---- policy: the defaults, an override file, start-up errors ----
check "openstack user create rdr" os user create --password r3ader rdr
check "openstack role add reader" os role add --project admin --user rdr reader
RTOKEN=$(OS_USERNAME=rdr OS_PASSWORD=r3ader openstack token issue -f value -c id 2>/dev/null)
check "a reader's token" test -n "$RTOKEN"
ADMIN_TOKEN=$TOKEN
TOKEN=$RTOKEN # req sends $TOKEN
expect 403 forbidden "a reader may not create a server" POST /compute/v2.1/servers \
    -d '{"server":{"name":"r","flavorRef":"42","imageRef":"x"}}'
check "the 403 names Nova's action" grep -q "os_compute_api:servers:create" "$BODY"
if [ "$IMAGE_API" = 1 ]; then
    if OS_USERNAME=rdr OS_PASSWORD=r3ader openstack server create --flavor m1.nano \
        --image "$KERNEL" rv >/dev/null 2>"$TMP/osc.err"; then
        bad "openstack server create as a reader succeeded"
    else
        check "openstack server create as a reader: 403" grep -q "HTTP 403" "$TMP/osc.err"
    fi
fi
req GET /compute/v2.1/servers
check "a reader lists servers" test "$STATUS" = 200
req GET /compute/v2.1/os-hypervisors
check "policy_file: a reader lists hypervisors (the override)" test "$STATUS" = 200
expect 403 forbidden "policy_file: list-detail keeps its default (admin)" \
    GET /compute/v2.1/os-hypervisors/detail
expect 403 forbidden "a reader may not create a flavor" POST /compute/v2.1/flavors \
    -d '{"flavor":{"name":"x","ram":1,"vcpus":1,"disk":0}}'
TOKEN=$ADMIN_TOKEN
check "policy-dump shows the override and the defaults" bash -c "'$API_BIN' policy-dump --config '$TMP/api.conf' 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin); assert p[\"os_compute_api:os-hypervisors:list\"] == \"rule:hv_viewers\" and p[\"os_compute_api:servers:create\"] == \"rule:project_member_or_admin\", p'"
mkdir -p "$TMP/bad"
cp "$TMP/api.conf" "$TMP/bad/api.conf"
printf '{"os_compute_api:os-keypairs:create": "role:member and (rule:nope"}\n' >"$TMP/bad/policy.json"
printf '[api]\nport = %s\npolicy_file = %s\n[log]\nfile = %s\n' "$(free_port)" \
    "$TMP/bad/policy.json" "$TMP/bad/api.log" >>"$TMP/bad/api.conf"
if timeout 20 "$API_BIN" --config "$TMP/bad/api.conf"; then
    bad "cloud-api started with a broken policy file"
else
    check "a broken policy file stops cloud-api at start, naming the action" \
        grep -q "os_compute_api:os-keypairs:create" "$TMP/bad/api.log"
fi
check "policy-dump refuses it too" bash -c "! '$API_BIN' policy-dump --config '$TMP/bad/api.conf' >/dev/null 2>&1"

check "keypair delete k1" os keypair delete k1
expect 404 itemNotFound "deleted keypair is 404" GET /compute/v2.1/os-keypairs/k1
STATUS=$(curl -s -o "$BODY" -w '%{http_code}' -H 'X-Auth-Token: bogus' "$URL/compute/v2.1/servers")
check "a bad token is 401" test "$STATUS" = 401

echo "$checks checks, $fail failed"
if [ "$fail" -ne 0 ]; then
    echo "---- api log"
    tail -n 40 "$TMP/api.log"
    [ -f "$TMP/scheduler.log" ] && { echo "---- scheduler log"; tail -n 20 "$TMP/scheduler.log"; }
    [ -f "$TMP/agent.log" ] && { echo "---- agent log"; tail -n 20 "$TMP/agent.log"; }
    if [ -n "${NUBE_TEST_KEEP_LOGS:-}" ]; then
        mkdir -p "$NUBE_TEST_KEEP_LOGS" && cp "$TMP"/*.log "$NUBE_TEST_KEEP_LOGS"/
    fi
    exit 1
fi
exit 0
