#!/bin/bash
# VM test: a kvm-type domain booting Nube's Linux guest on real KVM, through
# the whole stack. The nested test host (scripts/testhost/run.sh: QEMU TCG
# with an emulated AMD-V CPU, whose /dev/kvm is real KVM) runs cloud-hvd and
# cloud-vmm, and virsh drives them: define, start, ready line on the
# console, dominfo, suspend, resume, shutdown (the ACPI power button: the
# guest powers off), start, destroy, undefine, and a guest that powers itself
# off.
#
#   nested.sh CLOUD_HVD CLOUD_VMM
set -u
hvd="$(readlink -f "$1")"
vmm="$(readlink -f "${2:-}")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[[ -x $vmm ]] || { echo "SKIP: cloud-vmm was not built"; exit 77; }
command -v virsh >/dev/null || { echo "SKIP: virsh (libvirt-clients) not installed"; exit 77; }
run="$repo/scripts/testhost/run.sh"
[[ -x $run ]] || { echo "SKIP: no nested test host (scripts/testhost/run.sh)"; exit 77; }
virsh="$(command -v virsh)"

tmp="$(mktemp -d /tmp/hvd-nested.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
cat >"$tmp/inner.sh" <<INNER
set -u
[ -e /dev/kvm ] || { echo "no /dev/kvm in the test host"; exit 3; }
uri='nube+unix:///system?socket=/tmp/hvd.sock'
v() { $virsh -q -c "\$uri" "\$@"; }
$hvd --socket /tmp/hvd.sock --state-dir /tmp/hvd --vmm $vmm >/tmp/hvd.log 2>&1 &
i=0; while [ ! -S /tmp/hvd.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
fail=0
dom() { # NAME CMDLINE
    cat <<XML
<domain type='kvm'>
  <name>\$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type>xen</type><kernel>/guest/vmlinux</kernel><initrd>/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 nube.dhcp=0 nube.metadata=0 \$2</cmdline></os>
  <devices><serial type='file'><source path='/tmp/\$1.console'/></serial></devices>
</domain>
XML
}
dom nested-a "" >/tmp/a.xml
t0=\$(cut -d' ' -f1 /proc/uptime)
v define /tmp/a.xml && v start nested-a || fail=1
i=0; while ! grep -q 'nube-guest ready' /tmp/nested-a.console 2>/dev/null && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i+1)); done
if grep -q 'nube-guest ready' /tmp/nested-a.console; then
    echo "nested kvm guest ready: started at \${t0}s, ready at \$(cut -d' ' -f1 /proc/uptime)s (test host uptime)"
else
    echo "FAIL: no ready line"; tail -5 /tmp/nested-a.console; fail=1
fi
v dominfo nested-a | grep -q 'State: *running' || { echo "FAIL: dominfo"; fail=1; }
v suspend nested-a && [ "\$(v domstate nested-a)" = paused ] || { echo "FAIL: suspend"; fail=1; }
v resume nested-a && [ "\$(v domstate nested-a)" = running ] || { echo "FAIL: resume"; fail=1; }
# virsh shutdown: cloud-hvd asks cloud-vmm to press the ACPI power button
# (control "shutdown": PWRBTN_STS and the SCI), the guest's acpid powers it
# off and the monitor exits with status 0
t1=\$(cut -d' ' -f1 /proc/uptime)
v shutdown nested-a || { echo "FAIL: shutdown"; fail=1; }
i=0; while [ "\$(v domstate nested-a 2>/dev/null)" = running ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done
if v domstate --reason nested-a | grep -q 'shut off (shutdown)' &&
    grep -q 'nested-a: monitor .* exited (status 0)' /tmp/hvd.log &&
    grep -q 'nube-guest: power button: powering off' /tmp/nested-a.console; then
    echo "nested kvm guest powered off by virsh shutdown: \$(echo "\$t1 \$(cut -d' ' -f1 /proc/uptime)" | awk '{printf "%.1f", \$2 - \$1}') s"
else
    echo "FAIL: virsh shutdown: \$(v domstate --reason nested-a)"; tail -5 /tmp/nested-a.console; fail=1
fi
: >/tmp/nested-a.console
v start nested-a || fail=1
v destroy nested-a && v domstate --reason nested-a | grep -q 'shut off (destroyed)' || { echo "FAIL: destroy"; fail=1; }
v undefine nested-a || fail=1
dom nested-b nube.poweroff=1 >/tmp/b.xml
v create /tmp/b.xml || fail=1
i=0; while v domstate nested-b >/dev/null 2>&1 && [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i+1)); done
v domstate nested-b >/dev/null 2>&1 && { echo "FAIL: nested-b did not power off"; fail=1; }
grep -q 'nested-b: monitor .* exited (status 0)' /tmp/hvd.log || { echo "FAIL: power-off not seen"; fail=1; }
[ \$fail = 0 ] || { echo "--- hvd log ---"; tail -20 /tmp/hvd.log; }
exit \$fail
INNER
"$run" --quiet --guest --bin "$hvd" --bin "$vmm" --bin "$virsh" --timeout 400 --script "$tmp/inner.sh"
rc=$?
case $rc in
0) echo "PASS: kvm-type Linux domain in the nested test host" ;;
125) echo "SKIP: the nested test host failed to boot"; exit 77 ;;
esac
exit $rc
