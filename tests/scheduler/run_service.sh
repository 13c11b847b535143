#!/bin/bash
# The scheduler's service test: a private PostgreSQL (migrated) and RabbitMQ,
# then the test program, which starts cloud-scheduler itself.
#   run_service.sh TEST_PROGRAM CLOUD_SCHEDULER CLOUD_MANAGE
# Exit 77 (skip) when PostgreSQL or RabbitMQ is not installed. services.sh
# stops everything and removes the temporary folder at exit.
set -u
prog=${1:?usage: run_service.sh TEST_PROGRAM CLOUD_SCHEDULER CLOUD_MANAGE}
sched=${2:?usage: run_service.sh TEST_PROGRAM CLOUD_SCHEDULER CLOUD_MANAGE}
manage=${3:?usage: run_service.sh TEST_PROGRAM CLOUD_SCHEDULER CLOUD_MANAGE}
# shellcheck source-path=SCRIPTDIR source=../lib/services.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/services.sh"

if [ ! -x "${PG_BINDIR:-}/initdb" ]; then
    echo "SKIP: no PostgreSQL server installed (apt-get install postgresql)"
    exit 77
fi
if ! declare -f rabbitmq_available >/dev/null || ! rabbitmq_available; then
    echo "SKIP: rabbitmq-server (and erl) are not installed"
    exit 77
fi
test_pg_start || { echo "FAIL: PostgreSQL did not start"; exit 1; }
test_rabbit_start || { echo "FAIL: RabbitMQ did not start"; exit 1; }
"$manage" --connection "$NUBE_TEST_PG_CONNINFO" db sync || { echo "FAIL: db sync"; exit 1; }

# the test stops and restarts this PostgreSQL to check the scheduler rides out an outage
NUBE_PG_STOP="bash -c $(printf %q "$(printf '. %q && pg_stop %q' "$NUBE_SRC/scripts/lib/postgres.sh" "$NUBE_TEST_TMP/postgres")")"
pg_port=$(cat "$NUBE_TEST_TMP/postgres/pg-port")
NUBE_PG_START="bash -c $(printf %q "$(printf '. %q && pg_start %q %q --fast' "$NUBE_SRC/scripts/lib/postgres.sh" "$NUBE_TEST_TMP/postgres" "$pg_port")")"
export NUBE_PG_STOP NUBE_PG_START
NUBE_SCHED_BIN=$sched "$prog"
rc=$?
if [ "$rc" -ne 0 ]; then
    for log in "$NUBE_TEST_TMP"/*.log; do
        [ -f "$log" ] || continue
        echo "---- last lines of $log"
        tail -n 40 "$log"
    done
fi
exit "$rc"
