#!/usr/bin/env bash
# The compute API's figures: GET /servers/detail throughput with 1,000
# instances in the database (inserted directly), and POST /servers -> ACTIVE
# with the real cloud-scheduler and cloud-compute on libvirt's test driver
# (its "boot" costs nothing, so the figure is the control plane's own time:
# api + bus + scheduler + agent + the client's 2 ms polling).
#
#   compute_api_bench.sh BUILD_DIR [THREADS] [SECONDS] [BOOTS]
set -u
BUILD=${1:?usage: compute_api_bench.sh BUILD_DIR [THREADS] [SECONDS] [BOOTS]}
THREADS=${2:-2}
SECONDS_RUN=${3:-10}
BOOTS=${4:-20}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NUBE_SRC=$SRC
. "$SRC/tests/lib/services.sh"
BUILD=$(cd "$BUILD" && pwd)
for b in api/cloud-api scheduler/cloud-scheduler compute-agent/cloud-compute bench/compute_api_bench; do
    [ -x "$BUILD/$b" ] || { echo "missing $BUILD/$b: build it first"; exit 1; }
done
test_pg_start || exit 1
test_rabbit_start || exit 1
TMP=$(test_tmpdir)
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$TMP/images"
test_api_conf "$TMP/api.conf" "$PORT" "$NUBE_TEST_PG_CONNINFO" "$NUBE_TEST_AMQP_URL"
cat >>"$TMP/api.conf" <<CONF
[quota]
instances = -1
cores = -1
ram = -1
[log]
level = warn
CONF
cat >"$TMP/sched.conf" <<CONF
[database]
connection = $NUBE_TEST_PG_CONNINFO
[bus]
url = $NUBE_TEST_AMQP_URL
[scheduler]
host_refresh_ms = 200
enabled_filters = ComputeFilter,RetryFilter,AvailabilityZoneFilter,RamFilter,CoreFilter,DiskFilter
[log]
level = warn
file = $TMP/scheduler.log
CONF
cat >"$TMP/agent.conf" <<CONF
[compute]
host = bench1
libvirt_uri = test:///default
instances_dir = $TMP/instances
image_cache_dir = $TMP/cache
heartbeat_interval = 1
powercap_dir = $TMP/no-powercap
[bus]
url = $NUBE_TEST_AMQP_URL
[log]
level = warn
file = $TMP/agent.log
CONF
"$BUILD/api/cloud-api" bootstrap --config "$TMP/api.conf" --admin-password bench >/dev/null 2>&1 || { echo "bootstrap failed"; exit 1; }
"$BUILD/api/cloud-api" --config "$TMP/api.conf" &
test_cleanup_add "kill -TERM $! 2>/dev/null; wait $! 2>/dev/null"
"$BUILD/scheduler/cloud-scheduler" --config "$TMP/sched.conf" &
test_cleanup_add "kill -TERM $! 2>/dev/null; wait $! 2>/dev/null"
"$BUILD/compute-agent/cloud-compute" --config "$TMP/agent.conf" &
test_cleanup_add "kill -TERM $! 2>/dev/null; wait $! 2>/dev/null"
for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/v3" && break; sleep 0.1; done
psql_q() { "$PG_BINDIR/psql" "$NUBE_TEST_PG_CONNINFO" -tAc "$1"; }
resp=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"bench"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$URL/v3/auth/tokens")
TOKEN=$(printf '%s' "$resp" | grep -i '^X-Subject-Token:' | cut -d' ' -f2 | tr -d '\r')
PROJECT=$(psql_q "SELECT id FROM project WHERE name = 'admin'")
USER_ID=$(psql_q "SELECT id FROM identity_user WHERE name = 'admin'")
IMAGE=$(python3 -c 'import uuid; print(uuid.uuid4())')
head -c 65536 /dev/urandom >"$TMP/images/$IMAGE"
psql_q "INSERT INTO image (id, name, status, visibility, owner, disk_format, container_format, size, checksum)
        VALUES ('$IMAGE', 'bench', 'active', 'public', '$PROJECT', 'aki', 'aki', 65536, '$(md5sum "$TMP/images/$IMAGE" | cut -d' ' -f1)')" >/dev/null
psql_q "INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id, vcpus, memory_mb, root_gb, vm_state, power_state, reservation_id, metadata)
        SELECT gen_random_uuid(), 'vm-' || g, '$PROJECT', '$USER_ID', '$IMAGE', '42', 1, 128, 0, 'active', 1, 'r-bench', '{\"k\": \"v\"}'
        FROM generate_series(1, 1000) g" >/dev/null
echo "instances in the database: $(psql_q "SELECT count(*) FROM instance")"
"$BUILD/bench/compute_api_bench" list "$URL/compute/v2.1/servers/detail" "$TOKEN" "$THREADS" "$SECONDS_RUN"
"$BUILD/bench/compute_api_bench" list "$URL/compute/v2.1/servers/detail?limit=100" "$TOKEN" "$THREADS" "$SECONDS_RUN"
echo "at microversion latest (every member of the highest version):"
NUBE_BENCH_MICROVERSION=latest "$BUILD/bench/compute_api_bench" list "$URL/compute/v2.1/servers/detail" "$TOKEN" "$THREADS" "$SECONDS_RUN"
for _ in $(seq 1 50); do
    [ "$(psql_q "SELECT count(*) FROM compute_node")" = 1 ] && break
    sleep 0.2
done
"$BUILD/bench/compute_api_bench" boot "$URL/compute/v2.1" "$TOKEN" "$IMAGE" 42 "$BOOTS"
