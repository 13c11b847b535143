#!/usr/bin/env bash
# Time to boot through the whole stack: POST /servers -> ACTIVE and -> the
# guest's ready line, against the hypervisor's own time for the same guest
# (the domain XML the agent defined, created directly on cloud-hvd), side by
# side: median, p90, min, max and the API overhead against the 50 ms goal.
# Brings up a private all-in-one cloud as tests/e2e/allinone.sh does (`./nube
# up` in a temporary state folder on free loopback ports, the binaries of
# --build, no second build) and takes it down at the end, also on Ctrl-C.
# bench/server_boot.c does the timing (bench/README.md says how).
#
#   bench/server_boot.sh [--build DIR] [--count N] [--flavor NAME] [--active event|poll]
#                        [--logs DIR] [-v]
#
# --build defaults to <repo>/build (it needs cloud-*, cloud-manage and
# bench/server_boot); --count 20; --flavor m1.tiny (512 MiB, 1 vCPU, 1 GB
# root disk; m1.nano is 128 MiB without a disk); --active event (GET every
# 1 ms once cloud-hvd reports the domain started, every 100 ms before) or
# poll (GET every 2 ms from the POST on). Exits 2 when any request
# failed (the figures it touched are printed INVALID). --logs DIR keeps a copy
# of the cloud's logs and the agent's domain XML (the state folder is removed).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$src/build count=20 flavor=m1.tiny verbose=() logs='' active=event
while (($#)); do
    case $1 in
    --build) build=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --flavor) flavor=$2; shift 2 ;;
    --logs) logs=$2; shift 2 ;;
    --active) active=$2; shift 2 ;;
    -v) verbose=(-v); shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
build=$(cd "$build" && pwd)
. "$src/tests/lib/services.sh" # free_port, test_tmpdir, cleanups at exit and on signals

for tool in qemu-system-x86_64 openstack virsh curl; do
    command -v "$tool" >/dev/null || { echo "server_boot: $tool is not installed" >&2; exit 1; }
done
for b in api/cloud-api scheduler/cloud-scheduler compute-agent/cloud-compute \
    hypervisor/hvd/cloud-hvd db/cloud-manage bench/server_boot; do
    [ -x "$build/$b" ] || { echo "server_boot: missing $build/$b: build it first" >&2; exit 1; }
done

tmp=$(test_tmpdir)
export NUBE_STATE_DIR=$tmp/state NUBE_BUILD_DIR=$build NUBE_NO_BUILD=1
export NUBE_API_PORT=$(free_port) NUBE_PG_PORT=$(free_port) NUBE_AMQP_PORT=$(free_port)
export NUBE_COMPUTE_HOST=bench-host
# `down` powers off every guest on the cloud's hypervisor (a peer guest too)
test_cleanup_add "'$src/nube' down >'$tmp/down.log' 2>&1"

echo "server_boot: load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
started=$SECONDS
if ! "$src/nube" up >"$tmp/up.log" 2>&1; then
    tail -n 20 "$tmp/up.log" >&2
    tail -n 20 "$NUBE_STATE_DIR"/log/*.log >&2 2>/dev/null || true
    echo "server_boot: ./nube up failed" >&2
    exit 1
fi
echo "server_boot: ./nube up took $((SECONDS - started)) s; state in $NUBE_STATE_DIR"
. "$NUBE_STATE_DIR/openrc"

# `up` boots 'first': remove it so each measured boot has the machine to itself
openstack server delete --wait first
uri="nube+unix:///system?socket=$NUBE_STATE_DIR/hvd/hvd.sock"
for _ in $(seq 1 100); do
    [ -z "$(virsh -c "$uri" list --all --name)" ] && break
    sleep 0.1
done
[ -z "$(virsh -c "$uri" list --all --name)" ] || { echo "server_boot: 'first' is still on the hypervisor" >&2; exit 1; }

(umask 077; openstack token issue -f value -c id >"$tmp/token")
image=$(openstack image show nube-guest -f value -c id)
flavor_id=$(openstack flavor show "$flavor" -f value -c id)
read -r ram vcpus disk < <(openstack flavor show "$flavor" -f json | python3 -c \
    'import json, sys; f = json.load(sys.stdin); print(f["ram"], f["vcpus"], f["disk"])')
echo "server_boot: $count rounds, image nube-guest ($image), flavor $flavor" \
    "($ram MiB, $vcpus vCPU, $disk GB), qemu (TCG) domains on cloud-hvd"
mkdir -p "$tmp/work"
rc=0
"$build/bench/server_boot" --url "http://127.0.0.1:$NUBE_API_PORT/compute/v2.1" \
    --token-file "$tmp/token" --image "$image" --flavor "$flavor_id" --state "$NUBE_STATE_DIR" \
    --work "$tmp/work" --libvirt "$uri" --count "$count" --active "$active" "${verbose[@]}" || rc=$?
echo "server_boot: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$logs" ]; then
    mkdir -p "$logs"
    cp -r "$NUBE_STATE_DIR/log/." "$logs/"
    cp "$tmp/work/agent-domain.xml" "$logs/" 2>/dev/null || true
fi
if [ $rc -ne 0 ]; then
    echo "server_boot: failed requests (exit $rc); the cloud's logs:" >&2
    tail -n 20 "$NUBE_STATE_DIR"/log/*.log >&2 2>/dev/null || true
fi
exit $rc
