#!/usr/bin/env bash
# End to end with two compute hosts on this machine: `./nube up` (no first
# instance) in a temporary state folder on free loopback ports, `./nube
# add-host` for a second cloud-hvd + cloud-compute, and real instances
# (qemu-type domains under TCG) placed by the real scheduler:
#   1. both hosts are listed as services and as distinct hypervisors, up;
#   2. spread weights put two instances on different hosts, each domain
#      running on its own host's cloud-hvd only;
#   3. a disabled host gets nothing; re-enabled, it gets instances again;
#   4. a stopped agent's host goes down and gets nothing; an instance on it is
#      deleted locally while it is down and its agent removes the guest when
#      it comes back (`./nube add-host` again); one left alone there survives
#      and deletes normally; the host gets instances again;
#   5. pack weights (the scheduler restarted with another config) put two
#      instances on one host: the busy one, though a tie by name would not;
#   then everything deletes, no domain is left on either hypervisor, the
#   claims go back to zero, and `./nube down` leaves nothing running.
# Spread ties go to the first host by name (e2e-a); the placements the checks
# rely on are ones the spread weights alone would have made differently, so
# a filter that let the host through would fail them.
#   two_hosts.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/e2e/lib.sh"
e2e_setup python3
export NUBE_FIRST_INSTANCE=0
A=e2e-a # the host `up` starts (its state in $NUBE_STATE_DIR)
B=e2e-b # the one add-host starts (in $NUBE_STATE_DIR/hosts/e2e-b)
export NUBE_COMPUTE_HOST=$A

# A host is down 6 s after its last heartbeat (api and scheduler read
# nube.conf), agents beat every 2 s. Spread: the RAM and vCPU weighers only
# (with the energy weigher's default an empty host costs its idle draw to
# wake, which packs); pack: the same, negative.
cat >"$tmp/spread.conf" <<EOF
[compute]
service_down_time = 6
[scheduler]
ram_weight_multiplier = 1.0
cpu_weight_multiplier = 1.0
energy_weight_multiplier = 0
EOF
sed -e 's/^\(ram\|cpu\)_weight_multiplier = .*/\1_weight_multiplier = -1.0/' \
    "$tmp/spread.conf" >"$tmp/pack.conf"
printf '[compute]\nheartbeat_interval = 2\n' >"$tmp/compute-extra.conf"
export NUBE_CONFIG_EXTRA=$tmp/spread.conf NUBE_COMPUTE_CONFIG_EXTRA=$tmp/compute-extra.conf

quiet() { "$@" >>"$tmp/up.log" 2>&1 || { tail -n 20 "$tmp/up.log"; return 1; }; }
show_logs() { tail -n 20 "$NUBE_STATE_DIR"/log/cloud-*.log 2>/dev/null || true; }
fatal() { # the cloud did not come up: nothing else can be checked
    cat "$tmp/up.log"
    show_logs
    echo "FAILED: $*"
    exit 1
}

# ---- hosts ----

hvd_uri() { # hvd_uri HOST
    local dir=$NUBE_STATE_DIR
    [ "$1" = "$A" ] || dir=$NUBE_STATE_DIR/hosts/$1
    echo "nube+unix:///system?socket=$dir/hvd/hvd.sock"
}
running_domains() { virsh -c "$(hvd_uri "$1")" list --name | sed '/^$/d'; }
all_domains() { virsh -c "$(hvd_uri "$1")" list --all --name | sed '/^$/d'; }
no_domains() { [ -z "$(all_domains "$1")" ]; }
other() { if [ "$1" = "$A" ]; then echo "$B"; else echo "$A"; fi; }
# service_is HOST STATUS STATE, as `compute service list` shows it
service_is() {
    [ "$(openstack compute service list --host "$1" -f value -c Status -c State)" = "$2 $3" ]
}
services_up() {
    [ "$(openstack compute service list -f value -c Host -c Status -c State | sort | tr '\n' ' ')" = \
        "$A enabled up $B enabled up " ]
}
# claims_are A_VCPUS A_MB B_VCPUS B_MB: the api's claimed usage of the two
# nodes (hypervisor list --long)
claims_are() {
    local now
    now=$(openstack hypervisor list --long -f json | python3 -c '
import json, sys
used = {h["Hypervisor Hostname"]: h for h in json.load(sys.stdin)}
out = []
for n in sys.argv[1:]:
    h = used.get(n, {})
    out += [h.get("vCPUs Used", "?"), h.get("Memory MB Used", "?")]
print(*out)
' "${NODE[$A]:-none}" "${NODE[$B]:-none}")
    [ "$now" = "$*" ] || { echo "   claims (vCPUs, MB) $A, $B: $now, expected $*"; return 1; }
}
two_nodes_up() {
    [ -n "${NODE[$A]:-}" ] && [ -n "${NODE[$B]:-}" ] && [ "${NODE[$A]}" != "${NODE[$B]}" ] &&
        [ "$(openstack hypervisor list -f value -c 'Hypervisor Hostname' -c State | sort)" = \
            "$(printf '%s up\n' "${NODE[$A]}" "${NODE[$B]}" | sort)" ]
}
node_is() { # node_is HOST STATE
    [ "$(openstack hypervisor list -f value -c 'Hypervisor Hostname' -c State | grep "^${NODE[$1]:-none} ")" = \
        "${NODE[$1]:-none} $2" ]
}

# ---- instances ----

declare -A ID HOST NODE
FLAVOR=e2e.tiny

# boot NAME...: create them one after the other (the scheduler places them in
# that order), wait until all are ACTIVE, record their ids and hosts.
boot() {
    local n out deadline=$((SECONDS + 90))
    for n in "$@"; do
        openstack server create --flavor $FLAVOR --image nube-guest "$n" -f value -c id >/dev/null ||
            { echo "   server create $n failed"; return 1; }
    done
    while :; do
        out=$(openstack server list --long -f json | python3 -c '
import json, sys
want = sys.argv[1:]
rows = {r["Name"]: r for r in json.load(sys.stdin)}
bad = [n for n in want if n in rows and rows[n]["Status"] == "ERROR"]
if bad:
    print("ERROR", *bad)
elif all(n in rows and rows[n]["Status"] == "ACTIVE" for n in want):
    for n in want:
        print(n, rows[n]["ID"], rows[n]["Host"])
' "$@") || out=
        case $out in
        ERROR*)
            echo "   $out"
            return 1
            ;;
        ?*) break ;;
        esac
        [ $SECONDS -lt $deadline ] || { echo "   not ACTIVE after 90 s: $*"; return 1; }
        sleep 1
    done
    local name id host
    while read -r name id host; do
        ID[$name]=$id
        HOST[$name]=$host
        echo "   $name: ACTIVE on $host"
    done <<<"$out"
}
# on_host HOST NAME...: each instance is placed on HOST, its domain runs on
# HOST's cloud-hvd and is not defined on the other host's
on_host() {
    local h=$1 n doms others
    shift
    doms=$(running_domains "$h")
    others=$(all_domains "$(other "$h")")
    for n in "$@"; do
        [ "${HOST[$n]:-}" = "$h" ] || { echo "   $n is on '${HOST[$n]:-}', not $h"; return 1; }
        grep -qx "nube-${ID[$n]:-none}" <<<"$doms" || { echo "   $n's domain does not run on $h"; return 1; }
        ! grep -qx "nube-${ID[$n]:-none}" <<<"$others" || { echo "   $n's domain is on $(other "$h") too"; return 1; }
    done
}
spread_apart() { # spread_apart N1 N2: on different hosts, each domain on its own
    [ -n "${HOST[$1]:-}" ] && [ "${HOST[$1]}" != "${HOST[$2]:-}" ] &&
        on_host "${HOST[$1]}" "$1" && on_host "${HOST[$2]}" "$2"
}
packed() { # packed N1 N2: on one host, both domains there
    [ -n "${HOST[$1]:-}" ] && [ "${HOST[$1]}" = "${HOST[$2]:-}" ] && on_host "${HOST[$1]}" "$1" "$2"
}
# (grep reads a variable, not a pipe: with pipefail, grep -q closing the pipe
# early would fail the producer)
listed() { grep -qx "$1" <<<"$(openstack server list -f value -c Name)"; }
status_of() { openstack server show "$1" -f value -c status; }
domain_runs() { grep -qx "nube-${ID[$2]:-none}" <<<"$(running_domains "$1")"; }
domain_gone() { ! grep -qx "nube-${ID[$2]:-none}" <<<"$(all_domains "$1")"; }
# delete NAME...: server delete, then poll until none is listed (as --wait
# does, without its 5 s sleep after each server in turn)
delete() {
    openstack server delete "$@" || return 1
    wait_for 60 none_listed "$@" || { echo "   still listed after 60 s"; return 1; }
}
none_listed() {
    local n names
    names=$(openstack server list -f value -c Name)
    for n in "$@"; do
        ! grep -qx "$n" <<<"$names" || return 1
    done
}
no_instances() { [ -z "$(openstack server list -f value -c ID)" ]; }
not_listed() { ! listed "$1"; }
domains_run() { # domains_run HOST NAME...
    local h=$1 n
    shift
    for n in "$@"; do domain_runs "$h" "$n" || { echo "   $n's domain does not run on $h"; return 1; }; done
}
domid() { virsh -c "$(hvd_uri "$1")" domid "nube-${ID[$2]:-none}" 2>/dev/null; }
# en1 is ACTIVE on B and its domain the very one that ran before (same id)
en1_survived() {
    [ "$(status_of en1)" = ACTIVE ] && on_host $B en1 && [ "$(domid $B en1)" = "$en1_domid" ]
}
only_back1_left() { no_domains $A && [ "$(all_domains $B)" = "nube-${ID[back1]:-none}" ]; }
no_domains_anywhere() { no_domains $A && no_domains $B; }
not_running() { ! kill -0 "$1" 2>/dev/null; }
not_status() { ! "$src/nube" status >/dev/null; }

# ---- the cloud ----

started=$SECONDS
"$src/nube" up >"$tmp/up.log" 2>&1 || fatal "./nube up"
"$src/nube" add-host $B >>"$tmp/up.log" 2>&1 || fatal "./nube add-host $B"
echo "./nube up + add-host took $((SECONDS - started)) s"
. "$NUBE_STATE_DIR/openrc"

# 1. two hosts
check "compute service list: $A and $B, enabled and up" wait_for 30 services_up
check "./nube status: both hosts' daemons run" quiet "$src/nube" status
for id in $(openstack hypervisor list -f value -c ID); do
    read -r svc node < <(openstack hypervisor show "$id" -f json |
        python3 -c 'import json, sys; h = json.load(sys.stdin); print(h["service_host"], h["hypervisor_hostname"])') || true
    [ -z "${svc:-}" ] || NODE[$svc]=$node
done
echo "   nodes: $A ${NODE[$A]:-?}, $B ${NODE[$B]:-?}"
check "hypervisor list: two distinct nodes, up" two_nodes_up
check "flavor create $FLAVOR (128 MiB, 1 vCPU, no disk)" \
    quiet openstack flavor create --ram 128 --vcpus 1 --disk 0 $FLAVOR -f value -c id

# 2. spread: sp1 on A (a tie), sp2 on B (A has sp1)
check "spread: two instances become ACTIVE" boot sp1 sp2
check "spread: on different hosts, each domain on its host's cloud-hvd only" spread_apart sp1 sp2

# 3. disabled: B (which has one instance, as A) gets neither dis1 (a tie, A
# anyway) nor dis2 (spread's choice: B)
check "service set --disable $B" openstack compute service set --disable --disable-reason e2e $B nova-compute
check "service list shows $B disabled" service_is $B disabled up
check "disabled: two instances become ACTIVE" boot dis1 dis2
check "disabled: both on $A, nothing new on $B" on_host $A dis1 dis2
check "service set --enable $B" openstack compute service set --enable $B nova-compute
check "service list shows $B enabled" service_is $B enabled up
# A has 3, B 1: spread sends en1 to B
check "re-enabled: an instance becomes ACTIVE" boot en1
check "re-enabled: $B gets it" on_host $B en1

# 4. a stopped agent: its host goes down and gets nothing
en1_domid=$(domid $B en1) || en1_domid=none
check "./nube stop-host $B" quiet "$src/nube" stop-host $B
t=$SECONDS
check "service list shows $B down (polled)" wait_for 30 service_is $B enabled down
echo "   down $((SECONDS - t)) s after the agent stopped"
check "hypervisor list shows $B's node down" node_is $B down
check "$A stays up" service_is $A enabled up
# A has 3 (sp1 dis1 dis2), B 2 (sp2 en1): spread would send both to B
check "stopped: two instances become ACTIVE" boot st1 st2
check "stopped: both on $A" on_host $A st1 st2
# what became of the two instances on the stopped host
echo "   on the down host: sp2 $(status_of sp2), en1 $(status_of en1) (Nova too keeps them ACTIVE)"
check "their guests keep running on $B's cloud-hvd" domains_run $B sp2 en1
check "sp2 (its host down) deletes: server delete --wait (a local delete)" \
    openstack server delete --wait sp2
check "sp2 is no longer listed" not_listed sp2
check "claims: $A 5 instances' (5 vCPUs, 640 MB), $B only en1's (1, 128)" claims_are 5 640 1 128
check "sp2's guest still runs on $B meanwhile (its agent is away)" domain_runs $B sp2
check "./nube add-host $B starts its agent again" quiet "$src/nube" add-host $B
check "service list shows $B up again (polled)" wait_for 30 service_is $B enabled up
check "the agent back on $B removes sp2's guest (polled)" wait_for 30 domain_gone $B sp2
check "en1 is still ACTIVE on $B, its guest never stopped" en1_survived
# A has 5, B 1: spread sends back1 to B
check "back: an instance becomes ACTIVE" boot back1
check "back: $B gets it" on_host $B back1
check "deleting the others works" delete sp1 dis1 dis2 en1 st1 st2
check "only back1 is left" test "$(openstack server list -f value -c Name)" = back1
check "only back1's domain is left on the cloud-hvds" only_back1_left
check "claims: zero on $A, back1's on $B" claims_are 0 0 1 128

# 5. pack: the scheduler again, with negative RAM and vCPU multipliers
pid=$(cat "$NUBE_STATE_DIR/run/cloud-scheduler.pid") || pid=none
kill -TERM "$pid" || true
check "the scheduler stops on SIGTERM" wait_for 20 not_running "$pid"
check "./nube up again starts it with the pack weights" \
    quiet env NUBE_CONFIG_EXTRA="$tmp/pack.conf" "$src/nube" up
# B runs back1, A nothing: spread (and a tie by name) would choose A
check "pack: two instances become ACTIVE" boot pk1 pk2
check "pack: both on one host, both domains there" packed pk1 pk2
check "pack: that is $B, the busy one" on_host $B pk1 pk2
check "server delete back1 pk1 pk2" delete back1 pk1 pk2
check "no instance is left" no_instances
check "no domain is left on either cloud-hvd" no_domains_anywhere
check "claims are back to zero on both hosts" claims_are 0 0 0 0

check "./nube down" quiet "$src/nube" down
check "down leaves nothing running" not_status
left=$(pgrep -f -- "$NUBE_STATE_DIR/" || true)
check "no process of this cloud is left" test -z "$left"

echo "e2e two hosts: $((SECONDS - started)) s"
e2e_summary "e2e two hosts" || { show_logs; exit 1; }
