# Shared by the end-to-end tests (source it after setting `build` and `src`):
# skips when a tool is missing, a private cloud's state folder and free
# loopback ports for ./nube, `./nube down` at exit, and the check helpers.
#   e2e_setup TOOL...     skip (exit 77) unless each TOOL, openstack, virsh,
#                         QEMU and RabbitMQ are installed; export NUBE_* so
#                         that ./nube runs a cloud in $tmp/state
#   check DESCRIPTION COMMAND...   run COMMAND, print ok:/FAILED:, count it
#   wait_for SECONDS COMMAND...    poll (every second) until COMMAND succeeds
#   e2e_summary NAME      print the count; fail when a check failed
# shellcheck source=../lib/services.sh
. "$src/tests/lib/services.sh"

e2e_setup() {
    local tool
    for tool in qemu-system-x86_64 openstack virsh curl "$@"; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
    done
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
        { echo "SKIP: rabbitmq-server is not installed"; exit 77; }
    tmp=$(test_tmpdir)
    export NUBE_STATE_DIR=$tmp/state NUBE_BUILD_DIR=$build NUBE_NO_BUILD=1
    NUBE_API_PORT=$(free_port) NUBE_PG_PORT=$(free_port) NUBE_AMQP_PORT=$(free_port)
    export NUBE_API_PORT NUBE_PG_PORT NUBE_AMQP_PORT
    test_cleanup_add "'$src/nube' down >/dev/null 2>&1"
}

failures=0
checks=0
check() {
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok: $what"
    else
        echo "FAILED: $what"
        failures=$((failures + 1))
    fi
}

wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 1
    done
}

e2e_summary() {
    echo "$1: $((checks - failures)) passed, $failures failed"
    [ $failures -eq 0 ]
}
