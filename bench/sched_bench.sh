#!/bin/bash
# Run sched_bench: the pure filter+weigh figures, and the full decision (the
# claim transaction included) against a private PostgreSQL started in a
# temporary folder and migrated with cloud-manage.
#   bench/sched_bench.sh BUILD_DIR [sched_bench options]
# The cluster runs with fsync on (each claim's COMMIT waits for the disk, as
# in production); SCHED_BENCH_FAST=1 turns fsync off to see the CPU cost alone.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/postgres.sh
. "$here/../scripts/lib/postgres.sh"
build=${1:?usage: sched_bench.sh BUILD_DIR [sched_bench options]}
shift
if [ ! -x "${PG_BINDIR:-}/initdb" ]; then
    echo "PostgreSQL is not installed: pure figures only" >&2
    exec "$build/bench/sched_bench" "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/nube-sched-bench.XXXXXX") || exit 1
trap 'pg_stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fast=
if [ "${SCHED_BENCH_FAST:-0}" = 1 ]; then fast=--fast; fi
# shellcheck disable=SC2086 # $fast is empty or one word
pg_start "$dir" "$port" $fast || exit 1
"$build/db/cloud-manage" --connection "$(pg_conninfo "$dir")" db sync >/dev/null || exit 1
"$build/bench/sched_bench" --pg "$(pg_conninfo "$dir")" "$@"
