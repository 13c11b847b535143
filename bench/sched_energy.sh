#!/bin/bash
# Energy of the scheduler's placement policies on the PlanetLab traces:
# unpack them into a temporary folder and run sched_energy on every day.
#   bench/sched_energy.sh BUILD_DIR [TRACES.tar.xz]
set -u
build=${1:?usage: sched_energy.sh BUILD_DIR [TRACES.tar.xz]}
traces=${2:-/work/shared/data/planetlab-2011.tar.xz}
[ -f "$traces" ] || { echo "no traces at $traces" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/nube-planetlab.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tar -xJf "$traces" -C "$dir" || exit 1
# day folders in date order
mapfile -t days < <(find "$dir" -mindepth 1 -maxdepth 2 -type d -name '20*' | sort)
"$build/bench/sched_energy" "${days[@]}"
