#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]: run CMD with a private PostgreSQL started for
# it (NUBE_TEST_PG_CONNINFO set), and stop it afterwards.
set -euo pipefail
. "$(dirname "$0")/services.sh"
if [ ! -x "$PG_BINDIR/initdb" ]; then
    echo "SKIP: no PostgreSQL server installed (apt-get install postgresql)"
    exit 77
fi
test_pg_start
"$@"
