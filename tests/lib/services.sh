# Shared shell helpers for service tests. Source it; it defines:
#   free_port             print a TCP port on 127.0.0.1 that nothing listens on
#   test_tmpdir           print the test's temp folder (removed at exit)
#   test_api_conf FILE PORT CONNINFO [BUS_URL]   a cloud-api config to extend
#   test_pg_start         start a private PostgreSQL (fsync off) in the temp
#                         folder; exports NUBE_TEST_PG_CONNINFO
#   test_rabbit_start     start a private RabbitMQ; exports NUBE_TEST_AMQP_URL
#   test_cleanup_add CMD  run CMD at exit (last added runs first)
#   test_api_up BIN CONF  `cloud-api bootstrap` (admin password Adm1n!pw) and
#                         cloud-api itself on CONF, up and answering /v3
#   test_token URL USER PASSWORD PROJECT   print a project-scoped token
#   test_api_cloud BIN [rabbit] < CONF     the whole stage of an API service
#                         test: skip (77) without curl, PostgreSQL (or, with
#                         "rabbit", RabbitMQ); start them and cloud-api on a
#                         config with public_url plus CONF's text (@URL@ in it
#                         becomes the URL); set TMP, URL, BODY and TOKEN (the
#                         admin's), and define
#   req METHOD PATH [curl args]   a request with $TOKEN: sets STATUS, writes BODY
#   json PYTHON_EXPR              print an expression over the body (as b)
#   ok / bad DESCRIPTION  count a passed / failed check and say so
#   test_done             print the closing "N passed, N failed" line and
#                         return non-zero when a check failed
# Everything started is stopped at exit, also on failure or a signal.

NUBE_SRC=${NUBE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$NUBE_SRC/scripts/lib/postgres.sh"
[ -f "$NUBE_SRC/scripts/lib/rabbitmq.sh" ] && . "$NUBE_SRC/scripts/lib/rabbitmq.sh"

_test_cleanups=()
_test_run_cleanups() {
    local i
    for ((i = ${#_test_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_test_cleanups[$i]}" || true
    done
    _test_cleanups=()
}
trap _test_run_cleanups EXIT
trap 'exit 130' INT TERM

test_cleanup_add() {
    _test_cleanups+=("$1")
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The temp folder is made when this file is sourced, so that its removal is
# registered in the test's own shell (test_tmpdir is mostly called as
# $(test_tmpdir), in a subshell, where registering it would be lost).
NUBE_TEST_TMP=$(mktemp -d /tmp/nube-test.XXXXXX)
chmod 711 "$NUBE_TEST_TMP" # daemons running as other users reach their subfolders
export NUBE_TEST_TMP
test_cleanup_add "rm -rf '$NUBE_TEST_TMP'"

test_tmpdir() {
    echo "$NUBE_TEST_TMP"
}

# test_api_conf FILE PORT CONNINFO [BUS_URL]: write a cloud-api config that
# serves 127.0.0.1:PORT (2 workers) from the database CONNINFO, with keys/,
# images/ and api.log beside FILE, at log level info. Without BUS_URL
# the bus is set but unreachable (no broker runs: the api keeps serving and
# its consumer retries). A test appends its own sections to FILE; later keys
# win.
test_api_conf() {
    local dir
    dir=$(dirname "$1")
    cat >"$1" <<EOF
[api]
host = 127.0.0.1
port = $2
workers = 2
[database]
connection = $3
migrations_dir = $NUBE_SRC/db/migrations
[identity]
key_dir = $dir/keys
[bus]
url = ${4:-amqp://nube:unused@127.0.0.1:1/}
[image]
store_dir = $dir/images
[log]
level = info
file = $dir/api.log
EOF
}

test_pg_start() {
    local dir port
    test_tmpdir >/dev/null
    dir=$NUBE_TEST_TMP/postgres
    port=$(free_port)
    test_cleanup_add "pg_stop '$dir'"
    pg_start "$dir" "$port" --fast || return 1
    NUBE_TEST_PG_CONNINFO=$(pg_conninfo "$dir")
    export NUBE_TEST_PG_CONNINFO
}

test_rabbit_start() {
    local dir port
    if ! declare -f rabbitmq_start >/dev/null; then
        echo "test: scripts/lib/rabbitmq.sh is missing" >&2
        return 1
    fi
    test_tmpdir >/dev/null
    dir=$NUBE_TEST_TMP/rabbitmq
    port=$(free_port)
    test_cleanup_add "rabbitmq_stop '$dir'"
    rabbitmq_start "$dir" "$port" || return 1
    NUBE_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$port/"
    export NUBE_TEST_AMQP_URL
}

test_api_up() {
    local bin=$1 conf=$2 url port
    port=$(sed -n 's/^port = //p' "$conf" | tail -n 1)
    url=http://127.0.0.1:$port
    "$bin" bootstrap --config "$conf" --admin-password 'Adm1n!pw' >/dev/null 2>&1 ||
        { echo "FAIL: cloud-api bootstrap"; return 1; }
    "$bin" --config "$conf" &
    API_PID=$!
    test_cleanup_add "kill -TERM $API_PID 2>/dev/null; wait $API_PID 2>/dev/null"
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$url/v3" && return 0
        sleep 0.1
    done
    echo "FAIL: cloud-api did not start"
    return 1
}

test_token() {
    curl -s -D - -o /dev/null -H 'Content-Type: application/json' "$1/v3/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"$2\",\"domain\":{\"id\":\"default\"},\"password\":\"$3\"}}},\"scope\":{\"project\":{\"name\":\"$4\",\"domain\":{\"id\":\"default\"}}}}}" |
        grep -i '^x-subject-token:' | cut -d' ' -f2 | tr -d '\r'
}

_test_checks=0
_test_failed=0
ok() {
    _test_checks=$((_test_checks + 1))
    echo "ok: $*"
}
bad() {
    _test_checks=$((_test_checks + 1))
    _test_failed=$((_test_failed + 1))
    echo "FAIL: $*"
}
test_done() {
    echo "$((_test_checks - _test_failed)) passed, $_test_failed failed"
    [ $_test_failed -eq 0 ]
}

test_api_cloud() {
    local bin=$1 rabbit=${2:-} port
    command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
    [ -x "${PG_BINDIR:-}/initdb" ] || { echo "SKIP: no PostgreSQL server (initdb) found"; exit 77; }
    if [ -n "$rabbit" ] && { ! declare -f rabbitmq_available >/dev/null || ! rabbitmq_available; }; then
        echo "SKIP: rabbitmq-server (and erl) are not installed"
        exit 77
    fi
    test_pg_start || { echo "FAIL: PostgreSQL did not start"; exit 1; }
    if [ -n "$rabbit" ]; then
        test_rabbit_start || { echo "FAIL: RabbitMQ did not start"; exit 1; }
    fi
    TMP=$(test_tmpdir)
    port=$(free_port)
    URL=http://127.0.0.1:$port
    BODY=$TMP/body
    # without "rabbit" the bus is unreachable: such a test must not cast
    test_api_conf "$TMP/api.conf" "$port" "$NUBE_TEST_PG_CONNINFO" "${NUBE_TEST_AMQP_URL:-}"
    printf '[api]\npublic_url = %s\n' "$URL" >>"$TMP/api.conf"
    sed "s|@URL@|$URL|g" >>"$TMP/api.conf"
    test_api_up "$bin" "$TMP/api.conf" || { tail -20 "$TMP/api.log"; exit 1; }
    TOKEN=$(test_token "$URL" admin 'Adm1n!pw' admin)
    [ -n "$TOKEN" ] || { echo "FAIL: no admin token"; tail -20 "$TMP/api.log"; exit 1; }
}

req() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -X "$method" -o "$BODY" -w '%{http_code}' -H "X-Auth-Token: $TOKEN" \
        -H 'Content-Type: application/json' "$@" "$URL$path")
}

json() { python3 -c "import json; b = json.load(open('$BODY')); print($1)"; }
