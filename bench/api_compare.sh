#!/usr/bin/env bash
# cloud-api's figures for two git revisions, side by side in one run, with
# the ratio new/base (docs: bench/README.md, "api_compare"):
#   1. token validation (identity_bench --ops validate): rate, p50, p99
#   2. GET /servers/detail with 1,000 instances (compute_api_bench list)
#   3. POST /servers -> ACTIVE on libvirt's test driver (compute_api_bench boot)
# Each revision runs its own cloud-api, cloud-scheduler and cloud-compute
# against its own PostgreSQL cluster (its own migrations) and its own vhost of
# one RabbitMQ node, all on loopback. Every figure is measured in rounds that
# alternate between the two revisions. Exits 2 when any request failed.
set -u

usage() {
    cat <<'EOF'
usage: bench/api_compare.sh BASE_REV [NEW_REV] [options]
  NEW_REV defaults to HEAD. Each revision is checked out with
  `git worktree add --detach` into a temporary folder and built there
  (cloud-api, cloud-scheduler, cloud-compute, identity_bench,
  compute_api_bench; make -j2), unless its build folder is given.
options:
  --base-build DIR   reuse this build of BASE_REV (its source tree, from
                     CMakeCache.txt, gives the migrations)
  --new-build DIR    the same for NEW_REV
  --rounds N         alternating rounds per figure (default 8)
  --seconds S        measured seconds per revision for validation and for
                     the list, split over the rounds (default 16)
  --boots N          POST /servers -> ACTIVE boots per revision (default 20)
  --threads N        client threads for validation and the list (default 2)
  --api-workers N    cloud-api's [api] workers, both revisions (default 1:
                     with more, libmicrohttpd binds each keep-alive client
                     connection to whichever worker accepted it, and two
                     connections on one worker halve a figure for the run)
  --timeout S        time budget of everything after the builds (default 600)
  --keep DIR         copy the raw outputs and the services' logs to DIR
  -v                 the services' and builds' output in full
EOF
}

BASE_REV="" NEW_REV="" BASE_BUILD="" NEW_BUILD=""
ROUNDS=8 SECONDS_RUN=16 BOOTS=20 THREADS=2 BUDGET=600 VERBOSE=0 KEEP="" WORKERS=1
pos=()
while [ $# -gt 0 ]; do
    case $1 in
    --base-build) BASE_BUILD=${2:?--base-build DIR}; shift 2 ;;
    --new-build) NEW_BUILD=${2:?--new-build DIR}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds N}; shift 2 ;;
    --seconds) SECONDS_RUN=${2:?--seconds S}; shift 2 ;;
    --boots) BOOTS=${2:?--boots N}; shift 2 ;;
    --threads) THREADS=${2:?--threads N}; shift 2 ;;
    --api-workers) WORKERS=${2:?--api-workers N}; shift 2 ;;
    --timeout) BUDGET=${2:?--timeout S}; shift 2 ;;
    --keep) KEEP=${2:?--keep DIR}; shift 2 ;;
    -v) VERBOSE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "api_compare: unknown option $1" >&2; usage >&2; exit 1 ;;
    *) pos+=("$1"); shift ;;
    esac
done
[ ${#pos[@]} -ge 1 ] && [ ${#pos[@]} -le 2 ] || { usage >&2; exit 1; }
BASE_REV=${pos[0]}
NEW_REV=${pos[1]:-HEAD}
int_in() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
    { echo "api_compare: $1 wants an integer in $3..$4, got '$2'" >&2; exit 1; }; }
int_in --rounds "$ROUNDS" 1 50
int_in --seconds "$SECONDS_RUN" 1 300
int_in --boots "$BOOTS" 1 1000
int_in --threads "$THREADS" 1 16
int_in --api-workers "$WORKERS" 1 64
int_in --timeout "$BUDGET" 30 7200
[ "$BOOTS" -ge "$ROUNDS" ] || { echo "api_compare: --boots must be at least --rounds" >&2; exit 1; }

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(git -C "$SRC" rev-parse --show-toplevel) || exit 1
export NUBE_SRC=$SRC
# services.sh: the temporary folder, the cleanup list run at exit (also on
# Ctrl-C and SIGTERM), pg_start/pg_stop, rabbitmq_start/rabbitmq_stop
. "$SRC/tests/lib/services.sh"
TMP=$(test_tmpdir)
# runs after the services stopped, before the temporary folder goes
keep_copy() {
    local d
    mkdir -p "$KEEP" || return
    [ -d "$TMP/results" ] && cp -r "$TMP/results" "$KEEP/"
    for d in base new; do
        [ -d "$TMP/$d" ] || continue
        mkdir -p "$KEEP/$d"
        cp "$TMP/$d"/*.conf "$TMP/$d"/*.log "$TMP/$d"/*.out "$TMP/$d/postgres/pg/server.log" "$KEEP/$d/" 2>/dev/null
    done
    echo "api_compare: outputs and logs kept in $KEEP" >&2
}
if [ -n "$KEEP" ]; then
    KEEP=$(realpath -m "$KEEP")
    test_cleanup_add keep_copy
fi
log() { printf 'api_compare: %s\n' "$*" >&2; }
quiet() { if [ "$VERBOSE" = 1 ]; then "$@"; else "$@" >"$TMP/last.log" 2>&1 || { tail -n 30 "$TMP/last.log" >&2; return 1; }; fi; }

resolve() {
    git -C "$REPO" rev-parse --verify --quiet "$1^{commit}" || echo "api_compare: no such revision: $1" >&2
}
BASE_SHA=$(resolve "$BASE_REV")
NEW_SHA=$(resolve "$NEW_REV")
[ -n "$BASE_SHA" ] && [ -n "$NEW_SHA" ] || exit 1

# set by build/given and setup, through printf -v
BUILD_base="" BUILD_new="" URL_base="" URL_new=""
TARGETS="cloud-api cloud-scheduler cloud-compute identity_bench compute_api_bench"
BINS="api/cloud-api scheduler/cloud-scheduler compute-agent/cloud-compute bench/identity_bench bench/compute_api_bench"

# build SIDE SHA: check SHA out into $TMP/src-SIDE and build the targets
# there; sets BUILD_<SIDE> and SRC_<SIDE>.
build() {
    local side=$1 sha=$2 wt=$TMP/src-$1
    log "$side: git worktree add $wt ($(git -C "$REPO" log -1 --format='%h %s' "$sha"))"
    quiet git -C "$REPO" worktree add --detach "$wt" "$sha" || exit 1
    test_cleanup_add "git -C '$REPO' worktree remove --force '$wt' >/dev/null 2>&1 || true"
    log "$side: cmake and make -j2 $TARGETS"
    quiet cmake -S "$wt" -B "$wt/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo || exit 1
    # shellcheck disable=SC2086
    quiet make -C "$wt/build" -j2 $TARGETS || { log "$side: build failed"; exit 1; }
    printf -v "BUILD_$side" '%s' "$wt/build"
    printf -v "SRC_$side" '%s' "$wt"
}

# given SIDE DIR: a build folder made elsewhere; its source tree from CMakeCache.txt
given() {
    local side=$1 dir src
    dir=$(cd "$2" && pwd) || exit 1
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$dir/CMakeCache.txt" 2>/dev/null)
    [ -d "$src/db/migrations" ] || { echo "api_compare: $dir: no CMakeCache.txt naming a source tree" >&2; exit 1; }
    local at
    at=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo '?')
    log "$side: build $dir (source $src at ${at:0:7}$([ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo ', with uncommitted changes'))"
    [ "$side" = base ] && [ "$at" != "$BASE_SHA" ] && log "base: warning: that tree is not at $BASE_REV (${BASE_SHA:0:7})"
    [ "$side" = new ] && [ "$at" != "$NEW_SHA" ] && log "new: warning: that tree is not at $NEW_REV (${NEW_SHA:0:7})"
    printf -v "BUILD_$side" '%s' "$dir"
    printf -v "SRC_$side" '%s' "$src"
}

if [ -n "$BASE_BUILD" ]; then given base "$BASE_BUILD"; else build base "$BASE_SHA"; fi
if [ -n "$NEW_BUILD" ]; then given new "$NEW_BUILD"; else build new "$NEW_SHA"; fi
for side in base new; do
    b=BUILD_$side
    for f in $BINS; do
        [ -x "${!b}/$f" ] || { echo "api_compare: missing ${!b}/$f: build it first" >&2; exit 1; }
    done
done
# One client for both servers: the new revision's benchmark programs.
IDB=$BUILD_new/bench/identity_bench
CAB=$BUILD_new/bench/compute_api_bench

# From here on, every wait and every client run is bounded by the budget.
DEADLINE=$((SECONDS + BUDGET))
bounded() {
    local left=$((DEADLINE - SECONDS))
    [ "$left" -gt 0 ] || { log "time budget (--timeout $BUDGET) used up"; exit 2; }
    # in the background and waited for, so that Ctrl-C or SIGTERM stops the
    # run at once rather than when the client run in progress ends
    timeout -k 5 "$left" "$@" &
    CLIENT=$!
    wait "$CLIENT"
    local rc=$?
    CLIENT=""
    return "$rc"
}
CLIENT=""
# shellcheck disable=SC2016
test_cleanup_add 'if [ -n "$CLIENT" ]; then kill -TERM "$CLIENT" 2>/dev/null; wait "$CLIENT" 2>/dev/null; fi'

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log "RabbitMQ (one node, a vhost per revision)"
RMQ=$TMP/rabbitmq
RMQ_PORT=$(free_port)
test_cleanup_add "rabbitmq_stop '$RMQ'"
RABBITMQ_START_TIMEOUT=$((BUDGET / 2)) rabbitmq_start "$RMQ" "$RMQ_PORT" || exit 1

# setup SIDE: PostgreSQL, the services, the admin, 1,000 instances, an image;
# sets URL_<SIDE>, TOKEN_<SIDE>, IMAGE_<SIDE>, PG_<SIDE>.
setup() {
    local side=$1 b=BUILD_$1 s=SRC_$1
    local build=${!b} src=${!s} dir=$TMP/$1
    mkdir -p "$dir/images"
    log "$side: PostgreSQL, migrations of $src"
    local pgport
    pgport=$(free_port)
    test_cleanup_add "pg_stop '$dir/postgres'"
    pg_start "$dir/postgres" "$pgport" --fast || exit 1
    local conninfo
    conninfo=$(pg_conninfo "$dir/postgres")
    printf -v "PG_$side" '%s' "$conninfo"
    quiet rabbitmq_ctl "$RMQ" add_vhost "$side" || exit 1
    quiet rabbitmq_ctl "$RMQ" set_permissions -p "$side" guest '.*' '.*' '.*' || exit 1
    local amqp="amqp://guest:guest@127.0.0.1:$RMQ_PORT/$side" port
    port=$(free_port)
    NUBE_SRC=$src test_api_conf "$dir/api.conf" "$port" "$conninfo" "$amqp"
    cat >>"$dir/api.conf" <<CONF
[api]
workers = $WORKERS
[quota]
instances = -1
cores = -1
ram = -1
[log]
level = warn
CONF
    cat >"$dir/sched.conf" <<CONF
[database]
connection = $conninfo
[bus]
url = $amqp
[scheduler]
host_refresh_ms = 200
enabled_filters = ComputeFilter,RetryFilter,AvailabilityZoneFilter,RamFilter,CoreFilter,DiskFilter
[log]
level = warn
file = $dir/scheduler.log
CONF
    cat >"$dir/agent.conf" <<CONF
[compute]
host = bench-$side
libvirt_uri = test:///default
instances_dir = $dir/instances
image_cache_dir = $dir/cache
heartbeat_interval = 1
powercap_dir = $dir/no-powercap
[bus]
url = $amqp
[log]
level = warn
file = $dir/agent.log
CONF
    quiet bounded "$build/api/cloud-api" bootstrap --config "$dir/api.conf" --admin-password bench ||
        { log "$side: bootstrap failed"; exit 1; }
    local pid
    "$build/api/cloud-api" --config "$dir/api.conf" >>"$dir/api.out" 2>&1 &
    pid=$!
    test_cleanup_add "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
    "$build/scheduler/cloud-scheduler" --config "$dir/sched.conf" >>"$dir/sched.out" 2>&1 &
    pid=$!
    test_cleanup_add "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
    "$build/compute-agent/cloud-compute" --config "$dir/agent.conf" >>"$dir/agent.out" 2>&1 &
    pid=$!
    test_cleanup_add "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
    local url=http://127.0.0.1:$port i
    for i in $(seq 1 100); do curl -s -m 2 -o /dev/null "$url/v3" && break; sleep 0.1; done
    curl -s -m 2 -o /dev/null "$url/v3" || { log "$side: cloud-api does not answer; $dir/api.log:"; tail -n 20 "$dir/api.log" "$dir/api.out" >&2; exit 1; }
    local resp token project user image
    resp=$(curl -s -m 10 -D - -o /dev/null -H 'Content-Type: application/json' -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"bench"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$url/v3/auth/tokens")
    token=$(printf '%s' "$resp" | grep -i '^X-Subject-Token:' | cut -d' ' -f2 | tr -d '\r')
    [ -n "$token" ] || { log "$side: no token from $url"; exit 1; }
    psql_q() { "$PG_BINDIR/psql" "$conninfo" -v ON_ERROR_STOP=1 -tAc "$1"; }
    project=$(psql_q "SELECT id FROM project WHERE name = 'admin'") || exit 1
    user=$(psql_q "SELECT id FROM identity_user WHERE name = 'admin'") || exit 1
    image=$(python3 -c 'import uuid; print(uuid.uuid4())')
    head -c 65536 /dev/urandom >"$dir/images/$image"
    psql_q "INSERT INTO image (id, name, status, visibility, owner, disk_format, container_format, size, checksum)
            VALUES ('$image', 'bench', 'active', 'public', '$project', 'aki', 'aki', 65536, '$(md5sum "$dir/images/$image" | cut -d' ' -f1)')" >/dev/null || exit 1
    psql_q "INSERT INTO instance (id, name, project_id, user_id, image_id, flavor_id, vcpus, memory_mb, root_gb, vm_state, power_state, reservation_id, metadata)
            SELECT gen_random_uuid(), 'vm-' || g, '$project', '$user', '$image', '42', 1, 128, 0, 'active', 1, 'r-bench', '{\"k\": \"v\"}'
            FROM generate_series(1, 1000) g" >/dev/null || exit 1
    # the planner's statistics now, not whenever autovacuum comes by, so that
    # both databases are in the same state when measured
    psql_q "VACUUM ANALYZE" >/dev/null || exit 1
    printf -v "URL_$side" '%s' "$url"
    printf -v "TOKEN_$side" '%s' "$token"
    printf -v "IMAGE_$side" '%s' "$image"
}
setup base
setup new
for side in base new; do
    pg=PG_$side
    for i in $(seq 1 100); do
        [ "$("$PG_BINDIR/psql" "${!pg}" -tAc "SELECT count(*) FROM compute_node")" = 1 ] && break
        sleep 0.2
    done
    [ "$("$PG_BINDIR/psql" "${!pg}" -tAc "SELECT count(*) FROM compute_node")" = 1 ] ||
        { log "$side: cloud-compute did not register its host; see $TMP/$side/agent.log"; exit 1; }
done

FAILED=0
R=$TMP/results
mkdir -p "$R"

# ---- 1. token validation: identity_bench alternates by itself ----
log "1/3 token validation: $SECONDS_RUN s per revision in $ROUNDS rounds"
bounded "$IDB" --url "$URL_new/v3" --name new --peer-url "$URL_base/v3" --peer-name base \
    --user admin --password bench --project admin --ops validate \
    --threads "$THREADS" --seconds "$SECONDS_RUN" --rounds "$ROUNDS" >"$R/validate.out" 2>"$R/validate.err"
rc=$?
if [ "$rc" != 0 ]; then
    FAILED=1
    log "identity_bench exited $rc"
    cat "$R/validate.out" "$R/validate.err" >&2
fi
# the rows "NAME validate ok errors conns seconds rate p50 p99 mean max"
for side in base new; do
    awk -v s="$side" '$1 == s && $2 == "validate" { print $3, $4, $7, $8, $9 }' "$R/validate.out" >"$R/validate.$side"
done

# ---- 2. GET /servers/detail, 1,000 instances: one slice per revision per round ----
SLICE=$(awk -v s="$SECONDS_RUN" -v r="$ROUNDS" 'BEGIN { printf "%.3f", s / r }')
log "2/3 GET /servers/detail: $SECONDS_RUN s per revision in $ROUNDS rounds (1 s warm-up each)"
list_once() { # SIDE SECONDS OUTFILE
    local u=URL_$1 t=TOKEN_$1
    bounded "$CAB" list "${!u}/compute/v2.1/servers/detail" "${!t}" "$THREADS" "$2" >"$3" 2>&1
}
for side in base new; do
    list_once "$side" 1 "$R/list.warm.$side" || { FAILED=1; log "$side: warm-up list failed"; cat "$R/list.warm.$side" >&2; }
done
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="base new"; else order="new base"; fi
    for side in $order; do
        out=$R/list.$side.$r
        list_once "$side" "$SLICE" "$out" || { FAILED=1; log "$side: list round $r failed"; cat "$out" >&2; }
        # "servers per answer: 1000, threads: 2, seconds: 2.5", "requests: N ok, F failed",
        # "rate: X req/s (...); latency p50 A ms, p99 B ms"
        awk '/servers per answer:/ { gsub(",", ""); n = $4; s = $8 }
             /requests:/ { ok = $2; bad = $4 }
             /rate:/ { for (i = 1; i <= NF; i++) { if ($i == "p50") p50 = $(i + 1); if ($i == "p99") p99 = $(i + 1) } }
             END { print ok + 0, bad + 0, s + 0, n + 0, p50 + 0, p99 + 0 }' "$out" >>"$R/list.$side"
    done
done

# ---- 3. POST /servers -> ACTIVE: boots alternate one by one ----
log "3/3 POST /servers -> ACTIVE: $BOOTS boots per revision (1 warm-up each), alternating"
boot_once() { # SIDE N
    local u=URL_$1 t=TOKEN_$1 i=IMAGE_$1 out=$R/boot.$1.$2
    if ! bounded "$CAB" boot "${!u}/compute/v2.1" "${!t}" "${!i}" 42 1 >"$out" 2>&1; then
        FAILED=1
        log "$1: boot $2 failed"
        cat "$out" >&2
        return
    fi
    # "  ms: min X, p50 X, max X (polling every 2 ms)": one boot, so the three are its time
    awk '/ms: min/ { gsub(",", ""); print $5 }' "$out" >>"$R/boot.$1"
}
# one boot each first, not counted: the agent's first boot fills its image
# cache and the services' first requests warm their connections
for side in base new; do
    boot_once "$side" warm
done
rm -f "$R/boot.base" "$R/boot.new"
for n in $(seq 1 "$BOOTS"); do
    if [ $((n % 2)) = 1 ]; then order="base new"; else order="new base"; fi
    for side in $order; do boot_once "$side" "$n"; done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----
# ratio NEW BASE: new/base, or n/a
ratio() { awk -v n="$1" -v b="$2" 'BEGIN { if (n + 0 > 0 && b + 0 > 0) printf "%.3f", n / b; else printf "n/a" }'; }
row() { # LABEL BASE NEW BETTER: with the ratio when BETTER says which way is better
    printf '%-34s %12s %12s %9s   %s\n' "$1" "$2" "$3" "$([ -n "$4" ] && ratio "$3" "$2")" "$4"
}
# stats over a file of numbers: median and p90 (nearest rank), count
median() { sort -g "$1" | awk -v d="$2" '{ v[NR] = $1 } END { if (!NR) { print "n/a"; exit } printf "%.*f", d, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
pct() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (!NR) { print "n/a"; exit } k = int(NR * p + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; printf "%.1f", v[k] }'; }
count() { if [ -f "$1" ]; then grep -c . "$1"; else echo 0; fi; }

echo
echo "cloud-api: base $(git -C "$REPO" log -1 --format='%h %s' "$BASE_SHA")"
echo "           new  $(git -C "$REPO" log -1 --format='%h %s' "$NEW_SHA")"
[ -n "$BASE_BUILD" ] && echo "           base build: $BUILD_base"
[ -n "$NEW_BUILD" ] && echo "           new build:  $BUILD_new"
echo "load average before $LOAD_BEFORE, after $LOAD_AFTER; $(nproc) cores; $ROUNDS rounds, $THREADS client threads, $WORKERS cloud-api worker(s)"
echo
printf '%-34s %12s %12s %9s   %s\n' "" "base" "new" "new/base" ""
declare -A v_ok v_err v_rate v_p50 v_p99
for side in base new; do
    # shellcheck disable=SC2046
    set -- $(cat "$R/validate.$side" 2>/dev/null)
    v_ok[$side]=${1:-0} v_err[$side]=${2:-?} v_rate[$side]=${3:-n/a} v_p50[$side]=${4:-n/a} v_p99[$side]=${5:-n/a}
    [ "${v_err[$side]}" = 0 ] && [ "${v_ok[$side]}" != 0 ] ||
        { FAILED=1; v_rate[$side]=INVALID v_p50[$side]=INVALID v_p99[$side]=INVALID; }
done
echo "token validation (GET /v3/auth/tokens), $SECONDS_RUN s each:"
row "  rate/s" "${v_rate[base]}" "${v_rate[new]}" "higher is better"
row "  p50 ms" "${v_p50[base]}" "${v_p50[new]}" "lower is better"
row "  p99 ms" "${v_p99[base]}" "${v_p99[new]}" "lower is better"
row "  requests (failed)" "${v_ok[base]} (${v_err[base]})" "${v_ok[new]} (${v_err[new]})" ""

declare -A l_rate l_p50 l_p99 l_ok l_bad l_n
for side in base new; do
    f=$R/list.$side
    if [ -s "$f" ]; then
        read -r l_ok[$side] l_bad[$side] l_n[$side] l_rate[$side] < <(awk '{ ok += $1; bad += $2; s += $3; if (n == "" || $4 != n) n = (n == "" ? $4 : "mixed") }
            END { printf "%d %d %s %.1f\n", ok, bad, n, (s > 0 ? ok / s : 0) }' "$f")
        awk '{ print $5 }' "$f" >"$f.p50"
        awk '{ print $6 }' "$f" >"$f.p99"
        l_p50[$side]=$(median "$f.p50" 2)
        l_p99[$side]=$(median "$f.p99" 2)
    else
        l_ok[$side]=0 l_bad[$side]='?' l_n[$side]='?' l_rate[$side]=n/a l_p50[$side]=n/a l_p99[$side]=n/a
    fi
    [ "${l_bad[$side]}" = 0 ] && [ "${l_n[$side]}" = 1000 ] ||
        { FAILED=1; l_rate[$side]=INVALID l_p50[$side]=INVALID l_p99[$side]=INVALID; }
done
echo "GET /servers/detail, ${l_n[base]}/${l_n[new]} servers per answer, $SECONDS_RUN s each:"
row "  rate req/s" "${l_rate[base]}" "${l_rate[new]}" "higher is better"
row "  p50 ms (median of rounds)" "${l_p50[base]}" "${l_p50[new]}" "lower is better"
row "  p99 ms (median of rounds)" "${l_p99[base]}" "${l_p99[new]}" "lower is better"
row "  requests (failed)" "${l_ok[base]} (${l_bad[base]})" "${l_ok[new]} (${l_bad[new]})" ""
# each round's two slices ran one after the other, under about the same
# load: the median of the per-round ratios leaves out the load's drift
# between rounds
paired=$(paste "$R/list.new" "$R/list.base" 2>/dev/null |
    awk '$3 > 0 && $9 > 0 && $7 > 0 { print ($1 / $3) / ($7 / $9) }' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else printf "n/a" }')
[ "${l_rate[base]}" = INVALID ] || [ "${l_rate[new]}" = INVALID ] && paired=n/a
printf '%-34s %12s %12s %9s   %s\n' "  rate, median of per-round ratios" "" "" "$paired" "higher is better"
for side in base new; do
    # shellcheck disable=SC2016
    printf '  %-4s req/s per round (in order): %s\n' "$side" \
        "$(awk '{ printf "%s%.1f", (NR > 1 ? " " : ""), ($3 > 0 ? $1 / $3 : 0) }' "$R/list.$side" 2>/dev/null)"
done

declare -A b_med b_p90 b_n
for side in base new; do
    f=$R/boot.$side
    b_n[$side]=$(count "$f")
    if [ "${b_n[$side]}" -gt 0 ]; then
        b_med[$side]=$(median "$f" 1)
        b_p90[$side]=$(pct "$f" 0.9)
    else
        b_med[$side]=n/a b_p90[$side]=n/a
    fi
    [ "${b_n[$side]}" = "$BOOTS" ] || { FAILED=1; b_med[$side]=INVALID b_p90[$side]=INVALID; }
done
echo "POST /servers -> ACTIVE (libvirt test driver, GET every 2 ms):"
row "  median ms" "${b_med[base]}" "${b_med[new]}" "lower is better"
row "  p90 ms (nearest rank)" "${b_p90[base]}" "${b_p90[new]}" "lower is better"
row "  boots ACTIVE (of $BOOTS)" "${b_n[base]}" "${b_n[new]}" ""
# boot n of each side ran one after the other: the median of the per-pair
# ratios (only when no boot failed, so that the pairs line up)
paired=n/a
if [ "${b_n[base]}" = "$BOOTS" ] && [ "${b_n[new]}" = "$BOOTS" ]; then
    paired=$(paste "$R/boot.new" "$R/boot.base" | awk '$2 > 0 { print $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else printf "n/a" }')
fi
printf '%-34s %12s %12s %9s   %s\n' "  median of per-pair ratios" "" "" "$paired" "lower is better"
echo
if [ "$FAILED" != 0 ]; then
    echo "some requests failed: figures marked INVALID or n/a are not to be compared (exit 2)"
    exit 2
fi
echo "every request answered as expected"
exit 0
