#!/usr/bin/env bash
# End to end on a compute host that runs kvm-type domains: the controller
# (`NUBE_COMPUTE=0 ./nube up`: PostgreSQL, RabbitMQ, cloud-api,
# cloud-scheduler) runs here on loopback; the compute host is the nested test
# host (scripts/testhost/run.sh: QEMU TCG with an emulated AMD-V CPU, whose
# /dev/kvm is real KVM) running cloud-hvd, cloud-vmm and cloud-compute. The
# test host reaches the controller through QEMU's user networking (10.0.2.2 is
# this machine's 127.0.0.1), as a compute host on another machine would: the
# bus over AMQP and the images over HTTP from Glance ([image] compute_url).
# Then the openstack CLI boots, stops, starts, reboots and deletes an instance
# there, and the test host reports what its hypervisor ran.
#   nested_compute.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/e2e/lib.sh"

for bin in hypervisor/hvd/cloud-hvd hypervisor/vmm/cloud-vmm compute-agent/cloud-compute; do
    [ -x "$build/$bin" ] || { echo "SKIP: $bin was not built"; exit 77; }
done
e2e_setup socat
export NUBE_COMPUTE=0
# the test host reaches this machine's loopback as 10.0.2.2
export NUBE_IMAGE_COMPUTE_URL=http://10.0.2.2:$NUBE_API_PORT/image
ctl_port=$(free_port)

quiet() { "$@" >/dev/null; }
status_of() { openstack server show "$1" -f value -c status 2>/dev/null; }
status_is() { [ "$(status_of "$1")" = "$2" ]; }
console_has() { openstack console log show "$1" 2>/dev/null | grep -q "$2"; }
service_up() { openstack compute service list -f value -c Host -c State 2>/dev/null | grep -qx "$1 up"; }
# ctl COMMAND: ask the test host's control server (below), print its answer
# (-t: after sending, wait this long for the answer; the default is 0.5 s)
ctl() { timeout 30 socat -t 25 -T 25 - "TCP:127.0.0.1:$ctl_port" <<<"$1"; }
# dom_is ID TYPE STATE [REASON]: the test host's hypervisor has instance ID's
# domain so
dom_is() {
    local out
    out=$(ctl domains)
    grep -qx "nube-$1 $2 $3 (${4:-.*})" <<<"$out" || { echo "the test host has: $out"; return 1; }
}
no_domains() { [ "$(ctl domains)" = end ]; }

if ! "$src/nube" up >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    tail -n 30 "$NUBE_STATE_DIR"/log/*.log 2>/dev/null || true
    echo "FAILED: NUBE_COMPUTE=0 ./nube up"
    exit 1
fi
. "$NUBE_STATE_DIR/openrc"
check "the controller runs no compute host" sh -c '[ -z "$(openstack compute service list -f value)" ]'

# The compute host's config: what ./nube writes for its own hosts, with the
# controller's addresses as the test host sees them.
cat >"$tmp/compute.conf" <<EOF
[bus]
url = amqp://nube:$(cat "$NUBE_STATE_DIR/amqp-password")@10.0.2.2:$NUBE_AMQP_PORT/

[compute]
host = nested-host
hypervisor_hostname = testhost
libvirt_uri = nube+unix:///system?socket=/tmp/hvd/hvd.sock
instances_dir = /tmp/instances
image_cache_dir = /tmp/image-cache
heartbeat_interval = 2
shutdown_timeout = 10

[hvd]
socket = /tmp/hvd/hvd.sock
state_dir = /tmp/hvd
vmm = $build/hypervisor/vmm/cloud-vmm

[log]
level = info
EOF

# In the test host: cloud-hvd and cloud-compute, and a control server on
# port 7777 (forwarded from ctl_port here) that answers one command per
# connection: `domains` (name, type, state and reason of each domain),
# `logs`, `done`. The command ends when `done` arrives.
hvd="$build/hypervisor/hvd/cloud-hvd"
agent="$build/compute-agent/cloud-compute"
virsh="$(command -v virsh)"
cat >"$tmp/ctl.sh" <<EOF
#!/bin/sh
uri='nube+unix:///system?socket=/tmp/hvd/hvd.sock'
read -r cmd
case \$cmd in
domains)
    for d in \$($virsh -q -c "\$uri" list --all --name); do
        type=\$($virsh -c "\$uri" dumpxml "\$d" 2>&1 | head -n 1 | tr "'" '"' | cut -d'"' -f2)
        echo "\$d \$type \$($virsh -q -c "\$uri" domstate --reason "\$d")"
    done
    echo end ;;
logs) tail -n 25 /tmp/hvd.log; tail -n 25 /tmp/agent.log ;;
done) touch /tmp/done; echo bye ;;
*) echo "unknown command" ;;
esac
EOF
cat >"$tmp/inner.sh" <<EOF
set -u
[ -e /dev/kvm ] || { echo "no /dev/kvm in the test host"; exit 3; }
mkdir -p /tmp/hvd /tmp/instances /tmp/image-cache
$hvd --config /etc/nube/compute.conf >/tmp/hvd.log 2>&1 &
i=0; while [ ! -S /tmp/hvd/hvd.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
$agent --config /etc/nube/compute.conf >/tmp/agent.log 2>&1 &
nc -ll -p 7777 -e /bin/sh /etc/nube/ctl.sh &
nc=\$!
echo "test host: cloud-hvd, cloud-compute and the control server started"
while [ ! -e /tmp/done ]; do sleep 0.5; done
kill \$nc 2>/dev/null
left=\$($virsh -q -c 'nube+unix:///system?socket=/tmp/hvd/hvd.sock' list --all --name)
[ -z "\$left" ] || { echo "test host: domains left behind: \$left"; exit 1; }
echo "test host: no domain left"
EOF
"$src/scripts/testhost/run.sh" --quiet --bin "$hvd" --bin "$build/hypervisor/vmm/cloud-vmm" \
    --bin "$agent" --bin "$virsh" --file "$tmp/compute.conf:/etc/nube/compute.conf" \
    --file "$tmp/ctl.sh:/etc/nube/ctl.sh" --port "$ctl_port:7777" --timeout 900 \
    --console "$tmp/testhost-console.log" --script "$tmp/inner.sh" >"$tmp/testhost.out" 2>&1 &
th=$!
test_cleanup_add "kill $th 2>/dev/null"

if ! wait_for 240 service_up nested-host; then
    echo "FAILED: the nested compute host never reported up"
    cat "$tmp/testhost.out"
    tail -n 20 "$tmp/testhost-console.log" 2>/dev/null || true
    ctl logs 2>/dev/null || true
    exit 1
fi
echo "ok: the nested compute host is up"
check "its hypervisor is listed" sh -c 'openstack hypervisor list -f value -c "Hypervisor Hostname" | grep -qx testhost'

started=$SECONDS
check "server create --wait on the nested host" quiet \
    openstack server create --flavor m1.tiny --image nube-guest --wait kvm1
echo "kvm1 ACTIVE after $((SECONDS - started)) s (image download included)"
check "it runs on nested-host, node testhost" sh -c '[ "$(openstack server show kvm1 -f value -c OS-EXT-SRV-ATTR:host -c OS-EXT-SRV-ATTR:hypervisor_hostname | tr "\n" " ")" = "nested-host testhost " ]'
check "the guest reaches its ready line" wait_for 180 console_has kvm1 'nube-guest ready'
echo "kvm1 ready after $((SECONDS - started)) s"
id=$(openstack server show kvm1 -f value -c id)
check "the test host runs it as a kvm domain (cloud-vmm)" dom_is "$id" kvm running

check "server stop" openstack server stop kvm1
check "stopped is SHUTOFF" wait_for 120 status_is kvm1 SHUTOFF
check "the guest shut down cleanly (the power button, not a destroy)" dom_is "$id" kvm "shut off" shutdown
check "server start" openstack server start kvm1
check "started is ACTIVE" wait_for 120 status_is kvm1 ACTIVE
check "server reboot --wait" openstack server reboot --wait kvm1
check "rebooted is ACTIVE and running" dom_is "$id" kvm running
check "server delete --wait" openstack server delete --wait kvm1
check "no domain is left on the nested host" no_domains

if [ $failures -ne 0 ]; then
    echo "--- the test host's cloud-hvd and cloud-compute logs ---"
    ctl logs || true
fi
ctl done >/dev/null || true
rc=0
wait "$th" || rc=$?
cat "$tmp/testhost.out"
check "the test host ended cleanly" test "$rc" = 0
if [ $failures -ne 0 ]; then
    tail -n 30 "$NUBE_STATE_DIR"/log/cloud-{api,scheduler}.log
fi
e2e_summary "e2e nested"
