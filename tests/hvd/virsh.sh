#!/bin/bash
# Service test: cloud-hvd on a temporary socket and state folder, driven by
# Debian's unmodified virsh:
#   - a qemu-type domain booting Nube's guest to its ready line:
#     define, list --all, start, dominfo, dumpxml, domblkstat, domifstat,
#     suspend, resume, shutdown, destroy, undefine;
#   - bad input answered with libvirt's errors while the daemon keeps serving;
#   - a daemon restart with the guest running (re-attach);
#   - a kvm-type domain on cloud-vmm running a test payload (PVM /dev/kvm).
#
#   virsh.sh CLOUD_HVD [CLOUD_VMM]
set -u
hvd="$1"
vmm="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

command -v virsh >/dev/null || { echo "SKIP: virsh (libvirt-clients) not installed"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
guest="$("$here/guest.sh")" || exit 77

tmp="$(mktemp -d /tmp/hvd-virsh.XXXXXX)"
sock="$tmp/hvd.sock"
uri="nube+unix:///system?socket=$sock"
hvd_pid=""
failures=0

cleanup() {
    [[ -n $hvd_pid ]] && kill "$hvd_pid" 2>/dev/null && wait "$hvd_pid" 2>/dev/null
    [[ -n ${events_pid:-} ]] && kill "$events_pid" 2>/dev/null
    [[ -n ${hvd2_pid:-} ]] && kill "$hvd2_pid" 2>/dev/null && wait "$hvd2_pid" 2>/dev/null
    # monitors outlive the daemon by design: stop the ones this test started
    for st in "$tmp"/state/run/*/state.json "$tmp"/u/state/run/*/state.json; do
        [[ -f $st ]] || continue
        pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$st")
        [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
    done
    for t in "${taps[@]:-}"; do [[ -n $t ]] && ip link del "$t" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
taps=()

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
v() { timeout 60 virsh -q -c "$uri" "$@"; }
# expect_ok DESC CMD...: the command succeeds
expect_ok() {
    local desc="$1"
    shift
    local out
    if ! out="$(v "$@" 2>&1)"; then fail "$desc: virsh $*: $out"; fi
    last="$out"
}
# expect_err DESC PATTERN CMD...: the command fails with a message matching PATTERN
expect_err() {
    local desc="$1" pat="$2"
    shift 2
    local out
    if out="$(v "$@" 2>&1)"; then
        fail "$desc: virsh $* succeeded"
    elif ! grep -qE -- "$pat" <<<"$out"; then
        fail "$desc: virsh $*: '$out' does not match '$pat'"
    fi
}
wait_for() { # wait_for SECONDS CMD...
    local t=$(($1 * 10))
    shift
    while ((t-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
start_hvd() {
    "$hvd" --socket "$sock" --state-dir "$tmp/state" ${vmm:+--vmm "$vmm"} \
        --log-level debug >>"$tmp/hvd.log" 2>&1 &
    hvd_pid=$!
    wait_for 10 sh -c "virsh -q -c '$uri' uri >/dev/null 2>&1" || { fail "cloud-hvd did not listen"; exit 1; }
}
state_of() { v domstate "$1" 2>/dev/null | head -1; }

start_hvd
t0=$(date +%s%N)
# lifecycle events, as a client that registers for them sees them
timeout 120 virsh -c "$uri" event --all --loop >"$tmp/events.txt" 2>&1 &
events_pid=$!
sleep 0.5

# ---- qemu-type domain booting Nube's guest ----
truncate -s 8M "$tmp/disk.img"
iface=""
bridge=""
if [[ -c /dev/net/tun ]]; then
    iface="<interface type='ethernet'><mac address='52:54:00:4e:75:01'/><target dev='hvdt$$'/><model type='virtio'/></interface>"
    taps+=("hvdt$$")
    if command -v ip >/dev/null && ip link add "hvdb$$" type bridge 2>/dev/null; then
        bridge="hvdb$$"
        taps+=("$bridge")
        iface="$iface<interface type='bridge'><source bridge='$bridge'/></interface>"
    fi
fi
cat >"$tmp/g1.xml" <<XML
<domain type='qemu'>
  <name>hvd-test-g1</name>
  <uuid>5a0d3c1e-9b7f-4c2a-8e6d-1f2a3b4c5d6e</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initrd.img</initrd>
    <cmdline>console=ttyS0 nube.dhcp=0 nube.metadata=0</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$tmp/disk.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    $iface
    <serial type='file'><source path='$tmp/g1-console.log'/></serial>
  </devices>
</domain>
XML
expect_ok "define" define "$tmp/g1.xml"
expect_ok "list --all" list --all
grep -qE 'hvd-test-g1 +shut off' <<<"$last" || fail "list --all: $last"
expect_ok "start" start hvd-test-g1
if wait_for 90 grep -q 'nube-guest ready' "$tmp/g1-console.log"; then
    echo "guest ready after $((($(date +%s%N) - t0) / 1000000)) ms (TCG)"
else
    fail "guest never printed its ready line"
    tail -5 "$tmp/g1-console.log" >&2
fi
expect_ok "dominfo" dominfo hvd-test-g1
grep -qE '^State: +running' <<<"$last" || fail "dominfo: $last"
grep -qE '^Persistent: +yes' <<<"$last" || fail "dominfo persistent: $last"
expect_ok "dumpxml" dumpxml hvd-test-g1
grep -q "<domain type=\"qemu\" id=\"[0-9]*\">" <<<"$last" || fail "dumpxml id: $last"
grep -q "g1-console.log" <<<"$last" || fail "dumpxml serial: $last"
expect_ok "domblkstat" domblkstat hvd-test-g1 vda
grep -qE 'rd_req [1-9]' <<<"$last" || fail "domblkstat: $last"
if [[ -n $iface ]]; then
    expect_ok "domifstat" domifstat hvd-test-g1 "hvdt$$"
    grep -q 'rx_bytes' <<<"$last" || fail "domifstat: $last"
fi
if [[ -n $bridge ]]; then
    port="$(ip -br link show master "$bridge" | awk '{print $1}')"
    [[ $port == vnet* ]] || fail "no vnet port on bridge $bridge: '$port'"
    v dumpxml hvd-test-g1 | grep -q "<target dev=\"$port\"/>" || fail "live XML lacks $port"
fi
expect_ok "domstats" domstats hvd-test-g1
for f in 'state.state=1' 'cpu.time=' 'balloon.current=262144' 'vcpu.current=1' 'block.0.rd.reqs='; do
    grep -q "$f" <<<"$last" || fail "domstats lacks $f: $last"
done
expect_err "domstats --enforce of unsupported stats" 'not supported' domstats --enforce --perf hvd-test-g1
expect_ok "vcpuinfo" vcpuinfo hvd-test-g1
grep -qE '^State: +running' <<<"$last" || fail "vcpuinfo: $last"
expect_ok "domblkinfo" domblkinfo hvd-test-g1 vda
grep -qE '^Capacity: +8388608' <<<"$last" || fail "domblkinfo: $last"
expect_ok "domcontrol" domcontrol hvd-test-g1
[[ $last == ok ]] || fail "domcontrol: $last"
expect_ok "dommemstat" dommemstat hvd-test-g1
grep -qE '^rss [1-9]' <<<"$last" || fail "dommemstat: $last"
expect_ok "suspend" suspend hvd-test-g1
[[ $(state_of hvd-test-g1) == paused ]] || fail "state after suspend: $(state_of hvd-test-g1)"
expect_ok "resume" resume hvd-test-g1
[[ $(state_of hvd-test-g1) == running ]] || fail "state after resume: $(state_of hvd-test-g1)"

expect_ok "reboot (system_reset)" reboot hvd-test-g1
[[ $(state_of hvd-test-g1) == running ]] || fail "state after reboot: $(state_of hvd-test-g1)"

# ---- events so far ----
for ev in 'Defined Added' 'Started Booted' 'Suspended Paused' 'Resumed Unpaused'; do
    wait_for 5 grep -q "event 'lifecycle' for domain 'hvd-test-g1': $ev" "$tmp/events.txt" ||
        fail "virsh event did not see '$ev': $(cat "$tmp/events.txt")"
done

# ---- restart the daemon with the guest running ----
id_before="$(v domid hvd-test-g1)"
kill "$hvd_pid"
wait "$hvd_pid"
hvd_pid=""
start_hvd
[[ $(state_of hvd-test-g1) == running ]] || fail "state after daemon restart: $(state_of hvd-test-g1)"
[[ "$(v domid hvd-test-g1)" == "$id_before" ]] || fail "id changed across restart"
grep -q 're-attached to qemu monitor' "$tmp/hvd.log" || fail "no re-attach in the log"

# ---- autostart: a defined domain marked autostart starts with the daemon ----
sed -e 's/hvd-test-g1/hvd-test-auto/' -e 's/5a0d3c1e-9b7f-4c2a-8e6d-1f2a3b4c5d6e/5a0d3c1e-9b7f-4c2a-8e6d-222222222222/' \
    -e "s|$tmp/disk.img|$tmp/disk2.img|" -e 's/g1-console/auto-console/' -e '/<interface/d' "$tmp/g1.xml" >"$tmp/auto.xml"
truncate -s 8M "$tmp/disk2.img"
expect_ok "define autostart domain" define "$tmp/auto.xml"
expect_ok "autostart" autostart hvd-test-auto
kill "$hvd_pid"
wait "$hvd_pid"
hvd_pid=""
start_hvd
[[ $(state_of hvd-test-auto) == running ]] || fail "autostart domain not running after restart: $(state_of hvd-test-auto)"
expect_ok "destroy autostarted" destroy hvd-test-auto
expect_ok "autostart off" autostart --disable hvd-test-auto
expect_ok "undefine autostarted" undefine hvd-test-auto

# ---- managed save: state to disk, monitor gone; start restores it ----
# (once the guest is up again after the reboot above, so that its acpid
# listens for the power button the shutdown after the restore presses: a
# guest saved in early boot drops a press made right after the restore, its
# button driver clearing the pending status when it loads)
# shellcheck disable=SC2016 # expanded by the inner sh
wait_for 90 sh -c '[ "$(grep -ac "nube-guest ready" "$0")" -ge 2 ]' "$tmp/g1-console.log" ||
    fail "the guest did not reach its ready line after the reboot"
expect_ok "managedsave" managedsave hvd-test-g1
v domstate --reason hvd-test-g1 | grep -q 'shut off (saved)' ||
    fail "domstate after managedsave: $(v domstate --reason hvd-test-g1)"
expect_ok "dominfo (saved)" dominfo hvd-test-g1
grep -qE '^Managed save: +yes' <<<"$last" || fail "dominfo managed save: $last"
expect_ok "start (restore)" start hvd-test-g1
v domstate --reason hvd-test-g1 | grep -q 'running (restored)' ||
    fail "domstate after restore: $(v domstate --reason hvd-test-g1)"

# a clean shutdown: QMP system_powerdown presses the ACPI power button, the
# restored guest's acpid powers it off, QEMU exits
expect_ok "shutdown" shutdown hvd-test-g1
# shellcheck disable=SC2016 # expanded by the inner sh
wait_for 60 sh -c '[ "$(timeout 60 virsh -q -c "$0" domstate --reason hvd-test-g1)" = "shut off (shutdown)" ]' "$uri" ||
    fail "domstate after shutdown: $(v domstate --reason hvd-test-g1)"
grep -aq 'nube-guest: power button: powering off' "$tmp/g1-console.log" ||
    fail "the guest's power button handler did not run: $(tail -c 300 "$tmp/g1-console.log")"
expect_ok "start for destroy" start hvd-test-g1
expect_ok "destroy" destroy hvd-test-g1
v domstate --reason hvd-test-g1 | grep -q 'shut off (destroyed)' ||
    fail "domstate after destroy: $(v domstate --reason hvd-test-g1)"
if [[ -n $bridge ]]; then
    [[ -z "$(ip -br link show master "$bridge")" ]] || fail "bridge port left after destroy"
fi

# ---- bad input: libvirt's errors, and the daemon keeps serving ----
echo "<domain type='qemu'><name>broken" >"$tmp/bad.xml"
expect_err "bad XML" 'XML error' define "$tmp/bad.xml"
sed 's/5a0d3c1e-9b7f-4c2a-8e6d-1f2a3b4c5d6e/5a0d3c1e-9b7f-4c2a-8e6d-000000000000/' "$tmp/g1.xml" >"$tmp/dup.xml"
expect_err "duplicate name" "domain 'hvd-test-g1' already exists with uuid" define "$tmp/dup.xml"
expect_err "destroy a stopped domain" 'Requested operation is not valid: domain is not running' \
    destroy hvd-test-g1
expect_err "suspend a stopped domain" 'domain is not running' suspend hvd-test-g1
expect_err "unknown domain" "failed to get domain 'no-such-domain'" dominfo no-such-domain
expect_err "unknown domain by uuid" 'failed to get domain' domstate 00000000-1111-2222-3333-444444444444
sed -e 's/hvd-test-g1/hvd-test-nokernel/' -e 's/5a0d3c1e-9b7f-4c2a-8e6d-1f2a3b4c5d6e/5a0d3c1e-9b7f-4c2a-8e6d-111111111111/' \
    -e "s|$guest/vmlinuz|$tmp/missing-vmlinuz|" -e '/<interface/d' "$tmp/g1.xml" >"$tmp/nokernel.xml"
expect_ok "define without kernel file" define "$tmp/nokernel.xml"
expect_err "start with a missing kernel" "Cannot access kernel '$tmp/missing-vmlinuz'" start hvd-test-nokernel
expect_ok "undefine" undefine hvd-test-nokernel
expect_err "unsupported procedure" 'not supported' net-list
expect_ok "domcapabilities" domcapabilities --virttype qemu
grep -q '<domain>qemu</domain>' <<<"$last" || fail "domcapabilities: $last"
expect_err "domcapabilities of a type this host lacks" "virttype 'xen' is not supported" \
    domcapabilities --virttype xen
expect_ok "still serving" list --all

expect_ok "undefine" undefine hvd-test-g1
expect_ok "list after undefine" list --all
grep -q hvd-test-g1 <<<"$last" && fail "still listed after undefine: $last"

# ---- kvm-type domain on cloud-vmm ----
if [[ -z $vmm || ! -x $vmm ]]; then
    echo "SKIP (kvm part): cloud-vmm was not built"
elif [[ ! -w /dev/kvm ]]; then
    echo "SKIP (kvm part): no /dev/kvm"
elif ! command -v nasm >/dev/null; then
    echo "SKIP (kvm part): nasm not installed (the payloads are tests/vmm/payloads/*.asm)"
else
    (cd "$repo/tests/vmm/payloads" && nasm -f bin -o "$tmp/loop.bin" loop.asm &&
        nasm -f bin -o "$tmp/hello16.bin" hello16.asm) || fail "assembling payloads"
    kvm_xml() { # NAME PAYLOAD
        cat <<XML
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <os><type>hvm</type><loader type='rom'>$2</loader></os>
  <devices><serial type='file'><source path='$tmp/$1.log'/></serial></devices>
</domain>
XML
    }
    kvm_xml hvd-test-k1 "$tmp/loop.bin" >"$tmp/k1.xml"
    expect_ok "kvm define" define "$tmp/k1.xml"
    expect_ok "kvm start" start hvd-test-k1
    wait_for 10 test -s "$tmp/hvd-test-k1.log" || fail "kvm payload printed nothing"
    expect_ok "kvm suspend" suspend hvd-test-k1
    a=$(stat -c %s "$tmp/hvd-test-k1.log")
    sleep 0.5
    b=$(stat -c %s "$tmp/hvd-test-k1.log")
    [[ $a == "$b" ]] || fail "kvm console grew while paused ($a -> $b)"
    expect_ok "kvm resume" resume hvd-test-k1
    wait_for 5 sh -c "test \$(stat -c %s '$tmp/hvd-test-k1.log') -gt $b" ||
        fail "kvm console did not grow after resume"
    kid="$(v domid hvd-test-k1)"
    expect_ok "kvm reboot (a new monitor)" reboot hvd-test-k1
    [[ "$(v domid hvd-test-k1)" == "$kid" && $(state_of hvd-test-k1) == running ]] ||
        fail "kvm reboot: id $(v domid hvd-test-k1), state $(state_of hvd-test-k1)"
    expect_ok "kvm destroy" destroy hvd-test-k1
    expect_ok "kvm undefine" undefine hvd-test-k1
    # a transient domain whose payload powers off: gone, with its output
    kvm_xml hvd-test-k2 "$tmp/hello16.bin" >"$tmp/k2.xml"
    expect_ok "kvm create (transient)" create "$tmp/k2.xml"
    wait_for 10 sh -c "! virsh -q -c '$uri' domstate hvd-test-k2 >/dev/null 2>&1" ||
        fail "transient kvm domain still there after its guest powered off"
    grep -q 'hello from real mode' "$tmp/hvd-test-k2.log" || fail "kvm payload output missing"
    grep -q 'domain hvd-test-k2: monitor .* exited (status 0)' "$tmp/hvd.log" ||
        fail "kvm power-off not seen as exit status 0"
fi

# ---- monitors as an unprivileged user (a second daemon side by side) ----
if ! id nobody >/dev/null 2>&1 || ! command -v runuser >/dev/null; then
    echo "SKIP (monitor_user part): no user 'nobody' or no runuser"
elif ! runuser -u nobody -- test -r "$guest/vmlinuz" -a -r "$guest/initrd.img"; then
    echo "SKIP (monitor_user part): $guest is not readable by nobody"
else
    chmod 755 "$tmp"
    mkdir -p "$tmp/u"
    chmod 755 "$tmp/u"
    truncate -s 8M "$tmp/u/disk.img"
    chown nobody "$tmp/u/disk.img"
    printf '[hvd]\nmonitor_user = nobody\nsocket = %s\nstate_dir = %s\n' "$tmp/u/hvd.sock" \
        "$tmp/u/state" >"$tmp/u/hvd.conf"
    "$hvd" --config "$tmp/u/hvd.conf" >>"$tmp/u/hvd.log" 2>&1 &
    hvd2_pid=$!
    wait_for 10 test -S "$tmp/u/hvd.sock" || fail "second cloud-hvd did not listen"
    sed -e 's/hvd-test-g1/hvd-test-user/' -e 's/5a0d3c1e-9b7f-4c2a-8e6d-1f2a3b4c5d6e/5a0d3c1e-9b7f-4c2a-8e6d-333333333333/' \
        -e "s|$tmp/disk.img|$tmp/u/disk.img|" -e "s|$tmp/g1-console.log|$tmp/u/console.log|" \
        -e "s/hvdt$$/hvdu$$/" "$tmp/g1.xml" >"$tmp/u/user.xml"
    [[ -n $iface ]] && taps+=("hvdu$$")
    u2="nube+unix:///system?socket=$tmp/u/hvd.sock"
    if out="$(timeout 60 virsh -q -c "$u2" create "$tmp/u/user.xml" 2>&1)"; then
        st="$tmp/u/state/run/hvd-test-user/state.json"
        pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$st")
        [[ $(stat -c %U "/proc/$pid") == nobody ]] || fail "monitor runs as $(stat -c %U "/proc/$pid")"
        grep -q 'NoNewPrivs:.*1' "/proc/$pid/status" || fail "monitor without no_new_privs"
        wait_for 90 grep -q 'nube-guest ready' "$tmp/u/console.log" ||
            fail "unprivileged guest never printed its ready line"
        timeout 60 virsh -q -c "$u2" destroy hvd-test-user >/dev/null || fail "destroy (monitor_user)"
    else
        fail "create with monitor_user: $out"
    fi
    kill "$hvd2_pid"
    wait "$hvd2_pid"
    hvd2_pid=""
fi

kill -0 "$hvd_pid" || fail "cloud-hvd died"
if ((failures)); then
    echo "--- cloud-hvd log (tail) ---" >&2
    tail -30 "$tmp/hvd.log" >&2
    exit 1
fi
echo "PASS: virsh against cloud-hvd ($((($(date +%s%N) - t0) / 1000000)) ms)"
