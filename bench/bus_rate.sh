#!/bin/bash
# Run bus_rate against a private RabbitMQ started in a temporary folder.
#   bench/bus_rate.sh BUILD_DIR [CASTS [CALLS]]
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/rabbitmq.sh
. "$here/../scripts/lib/rabbitmq.sh"
build=${1:?usage: bus_rate.sh BUILD_DIR [CASTS [CALLS]]}
shift
rabbitmq_available || { echo "rabbitmq-server is not installed" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/nube-bus-bench.XXXXXX") || exit 1
trap 'rabbitmq_stop "$dir"; rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
port=$(rabbitmq_free_port) || exit 1
rabbitmq_start "$dir" "$port" || exit 1
"$build/bench/bus_rate" "$(rabbitmq_url "$dir")" "$@"
