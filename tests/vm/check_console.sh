#!/bin/sh
# check_console.sh CONSOLE_LOG VCPUS: the Nube guest's console shows every
# milestone of a full boot on the test host's network (see hostnet.sh).
# Busybox sh: it runs inside the nested test host.
log=$1 cpus=$2 rc=0
for want in "nube-guest: init" "nube-guest: cpus $cpus mem" \
    "nube-guest: disk vda sectors 131072 head 4e5542454449534b4d41524b45523031" \
    "/24 via 10.10.0.1" "nube-guest: metadata hostname vm-test keys 1" \
    "user-data ran as 0 on vm-test" "nube-guest: user_data exit 0" "nube-guest ready"; do
    if ! tr -d '\r' <"$log" | grep -qF "$want"; then
        echo "console lacks: $want"
        rc=1
    fi
done
exit $rc
