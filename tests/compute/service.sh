#!/bin/bash
# Service and vm tests of cloud-compute: a private RabbitMQ (harness of
# tests/lib/services.sh, cleaned up at exit), then the test program, which
# plays scheduler and api on the bus.
#   service.sh TEST_PROGRAM CLOUD_COMPUTE [CLOUD_HVD GUEST_SH]
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/services.sh
. "$here/../lib/services.sh"
prog=${1:?usage: service.sh TEST_PROGRAM CLOUD_COMPUTE [CLOUD_HVD GUEST_SH]}
shift
if ! declare -f rabbitmq_available >/dev/null || ! rabbitmq_available; then
    echo "SKIP: rabbitmq-server (and erl) are not installed"
    exit 77
fi
if ! test_rabbit_start; then
    echo "FAIL: could not start RabbitMQ" >&2
    exit 1
fi
NUBE_TEST_TMP=$(test_tmpdir)
export NUBE_TEST_TMP
"$prog" "$@"
