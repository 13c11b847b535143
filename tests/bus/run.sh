#!/bin/bash
# Start a private RabbitMQ in a temporary folder on a free loopback port, run
# the bus test program against it (it may stop and start that node through
# NUBE_BUS_STOP / NUBE_BUS_START), and clean up whatever happens.
#   run.sh TEST_PROGRAM
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$(cd "$here/../../scripts/lib" && pwd)/rabbitmq.sh
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/rabbitmq.sh
. "$lib"
prog=${1:?usage: run.sh TEST_PROGRAM}

if ! rabbitmq_available; then
    echo "SKIP: rabbitmq-server (and erl) are not installed"
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/nube-bus-test.XXXXXX") || exit 1
cleanup() {
    rabbitmq_stop "$dir"
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(rabbitmq_free_port) || exit 1
started=$SECONDS
if ! rabbitmq_start "$dir" "$port"; then
    echo "FAIL: could not start RabbitMQ; its log:" >&2
    tail -n 30 "$dir"/log/*.log >&2 2>/dev/null
    exit 1
fi
echo "RabbitMQ nube-$port@localhost up in $((SECONDS - started))s (state in $dir)"

# A generated user, as ./nube up makes one (adding it twice re-passwords it).
pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
if ! rabbitmq_add_user "$dir" nube-test first-password ||
    ! rabbitmq_add_user "$dir" nube-test "$pass"; then
    echo "FAIL: rabbitmq_add_user" >&2
    exit 1
fi
NUBE_BUS_URL=$(rabbitmq_url "$dir" nube-test "$pass")
# Commands for system(): the same node, stopped and started on the same state.
NUBE_BUS_STOP="bash -c $(printf %q "$(printf '. %q && rabbitmq_stop %q' "$lib" "$dir")")"
NUBE_BUS_START="bash -c $(printf %q "$(printf '. %q && rabbitmq_start %q %q' "$lib" "$dir" "$port")")"
export NUBE_BUS_URL NUBE_BUS_STOP NUBE_BUS_START
"$prog"
