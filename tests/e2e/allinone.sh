#!/usr/bin/env bash
# End to end, as a new user would: `./nube up` in a temporary state folder on
# free loopback ports (no second build: NUBE_NO_BUILD, the binaries ctest is
# testing), then the issue's openstack CLI script against it, then
# `./nube down`, checking that nothing it started is left running.
#   allinone.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/e2e/lib.sh"
e2e_setup
export NUBE_COMPUTE_HOST=e2e-host

status_of() { openstack server show "$1" -f value -c status 2>/dev/null; }
console_has() { openstack console log show "$1" 2>/dev/null | grep -q "$2"; }

started=$SECONDS
if ! "$src/nube" up >"$tmp/up.log" 2>&1; then
    cat "$tmp/up.log"
    tail -n 30 "$NUBE_STATE_DIR"/log/*.log 2>/dev/null || true
    echo "FAILED: ./nube up"
    exit 1
fi
echo "./nube up took $((SECONDS - started)) s (first instance ACTIVE)"
. "$NUBE_STATE_DIR/openrc"

check "up is idempotent" "$src/nube" up
check "status says everything runs" "$src/nube" status
check "token issue" openstack token issue -f value -c id
check "the first instance is ACTIVE" test "$(status_of first)" = ACTIVE
check "its console shows the guest's ready line" wait_for 90 console_has first 'nube-guest ready'
# Nova names a hypervisor by its node (the machine's hostname), not the service host
node=$(openstack hypervisor list -f value -c "Hypervisor Hostname" | head -n 1)
check "hypervisor list shows the node, up" sh -c 'openstack hypervisor list -f value | grep -q " up$"'
check "hypervisor show has its resources" sh -c 'openstack hypervisor show "$0" -f json | grep -q "\"vcpus\": [1-9]"' "$node"

# the issue's script
check "server create --wait" openstack server create --flavor m1.tiny --image nube-guest --wait vm1
check "vm1 reaches its ready line" wait_for 90 console_has vm1 'nube-guest ready'
check "server list shows both" sh -c '[ "$(openstack server list -f value -c Name | sort | tr "\n" " ")" = "first vm1 " ]'
check "server show" sh -c 'openstack server show vm1 -f value -c OS-EXT-SRV-ATTR:host | grep -qx e2e-host'
# OSC 6.0's stop/start have no --wait (later releases do): poll as --wait would
check "server stop" openstack server stop vm1
check "stopped is SHUTOFF" wait_for 120 sh -c '[ "$(openstack server show vm1 -f value -c status)" = SHUTOFF ]'
check "the guest shut down cleanly (the power button, not a destroy)" sh -c \
    '[ "$(virsh -q -c "nube+unix:///system?socket=$0/hvd/hvd.sock" domstate --reason "nube-$1")" = "shut off (shutdown)" ]' \
    "$NUBE_STATE_DIR" "$(openstack server show vm1 -f value -c id)"
check "stopping a stopped server is a conflict" sh -c '! openstack server stop vm1 2>"$0/err" && grep -q 409 "$0/err"' "$tmp"
check "server start" openstack server start vm1
check "started is ACTIVE" wait_for 120 sh -c '[ "$(openstack server show vm1 -f value -c status)" = ACTIVE ]'
check "server reboot --wait" openstack server reboot --wait vm1
check "rebooted is ACTIVE" test "$(status_of vm1)" = ACTIVE

# no host can run it: ERROR with a fault that says why
# more RAM than this machine has, yet within the project's RAM quota
check "flavor create (too big for any host)" openstack flavor create --ram 40000 --vcpus 1 --disk 1 huge
openstack server create --flavor huge --image nube-guest huge1 >/dev/null 2>&1 || true
check "an instance no host fits goes to ERROR" wait_for 30 sh -c '[ "$(openstack server show huge1 -f value -c status)" = ERROR ]'
check "its fault says why" sh -c 'openstack server show huge1 -f value -c fault | grep -q "No valid host"'
check "an ERROR instance can be deleted" openstack server delete --wait huge1

# quota: refused with a clear message, nothing created
check "quota set --instances 2" openstack quota set --instances 2 admin
check "a third instance is refused by the quota" sh -c '! openstack server create --flavor m1.tiny --image nube-guest over 2>"$0/quota" && grep -qi "quota exceeded" "$0/quota"' "$tmp"
check "the refused instance does not exist" sh -c '! openstack server show over >/dev/null 2>&1'

check "server delete --wait" openstack server delete --wait vm1 first
check "no instance is left" sh -c '[ -z "$(openstack server list -f value)" ]'
check "no guest is left on the hypervisor" sh -c '[ -z "$(virsh -c "nube+unix:///system?socket=$NUBE_STATE_DIR/hvd/hvd.sock" list --all --name)" ]'
check "the host's claims are released" sh -c 'openstack hypervisor show "$0" -f json | grep -q "\"vcpus_used\": 0"' "$node"

check "./nube down" "$src/nube" down
check "down leaves nothing running" sh -c '! "$0" status >/dev/null' "$src/nube"
# (pgrep from this shell: a `sh -c` would match its own command line)
left=$(pgrep -f -- "$NUBE_STATE_DIR/" || true)
check "no process of this cloud is left" test -z "$left"

e2e_summary e2e
