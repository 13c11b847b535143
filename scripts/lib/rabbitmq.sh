# shellcheck shell=bash
# Run a PRIVATE RabbitMQ node in a state folder, on loopback ports of our own,
# without touching a system service (its config, its epmd, its cookie or its
# ports). Source this file; every function returns non-zero and says why on
# stderr when it fails.
#
#   rabbitmq_start DIR AMQP_PORT [DIST_PORT [EPMD_PORT]]
#       Start node nube-<AMQP_PORT>@localhost with its data, logs, config and
#       Erlang cookie (mode 0400) under DIR; free distribution and epmd ports
#       are picked when not given. Waits until the AMQP port accepts and
#       `rabbitmqctl await_startup` says ready. DIR/node.env records the node
#       name, ports and pid. Restarting on the same DIR keeps durable queues
#       and persistent messages.
#   rabbitmq_stop DIR
#       Stop that node only (rabbitmqctl stop, then the recorded pid) and its
#       private epmd.
#   rabbitmq_ctl DIR ARGS...
#       rabbitmqctl against that node.
#   rabbitmq_add_user DIR USER PASS
#       Create (or re-password) USER with full rights on vhost "/". guest/guest
#       also works, on loopback only.
#   rabbitmq_url DIR [USER PASS]
#       Print amqp://USER:PASS@127.0.0.1:PORT/ (guest/guest by default).
#   rabbitmq_free_port
#       Print a TCP port nothing listens on (loopback), from 20000-59999.
#
# As root we run the server script from /usr/lib/rabbitmq/bin directly: the
# /usr/sbin wrapper would switch to the rabbitmq user, who cannot write DIR.
# Erlang and RabbitMQ run fine as root. HOME is set to DIR so that the server
# and rabbitmqctl read DIR/.erlang.cookie and nothing of the caller's.

RABBITMQ_SH_BIN=${RABBITMQ_SH_BIN:-/usr/lib/rabbitmq/bin}
RABBITMQ_START_TIMEOUT=${RABBITMQ_START_TIMEOUT:-60}

rabbitmq_available() {
    [[ -x $RABBITMQ_SH_BIN/rabbitmq-server && -x $RABBITMQ_SH_BIN/rabbitmqctl ]] &&
        command -v erl >/dev/null 2>&1
}

rabbitmq_free_port() {
    local port tries=0
    while ((tries++ < 200)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if command -v ss >/dev/null 2>&1; then
            ss -Htan "( sport = :$port )" 2>/dev/null | grep -q . && continue
        elif _rabbitmq_port_open "$port"; then
            continue
        fi
        echo "$port"
        return 0
    done
    echo "rabbitmq_free_port: no free port found" >&2
    return 1
}

# The environment of one node, for the server and for rabbitmqctl alike.
# (NODE_NAME, AMQP_PORT, DIST_PORT, EPMD_PORT come from DIR/node.env.)
# shellcheck disable=SC2153
_rabbitmq_env() {
    local dir=$1
    # shellcheck disable=SC1091
    . "$dir/node.env" || return 1
    export HOME=$dir
    export RABBITMQ_NODENAME=$NODE_NAME
    export RABBITMQ_USE_LONGNAME=false
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$AMQP_PORT
    export RABBITMQ_DIST_PORT=$DIST_PORT
    export ERL_EPMD_PORT=$EPMD_PORT
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE=$dir/mnesia
    export RABBITMQ_LOG_BASE=$dir/log
    export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
    export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
    export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
    export RABBITMQ_PLUGINS_EXPAND_DIR=$dir/plugins-expand
    export RABBITMQ_PID_FILE=$dir/rabbitmq.beam.pid
    export RABBITMQ_FEATURE_FLAGS_FILE=$dir/feature_flags
    export RABBITMQ_QUORUM_DIR=$dir/quorum
    export RABBITMQ_STREAM_DIR=$dir/stream
    # Erlang distribution on loopback only (epmd is bound by ERL_EPMD_ADDRESS).
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmq_ctl() {
    local dir=${1:?usage: rabbitmq_ctl DIR ARGS...}
    shift
    (
        _rabbitmq_env "$dir" || exit 1
        timeout "${RABBITMQ_SH_TIMEOUT:-120}" "$RABBITMQ_SH_BIN/rabbitmqctl" -n "$NODE_NAME" -q "$@"
    )
}

_rabbitmq_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

rabbitmq_start() {
    local dir=${1:?usage: rabbitmq_start DIR AMQP_PORT [DIST_PORT [EPMD_PORT]]}
    local amqp_port=${2:?usage: rabbitmq_start DIR AMQP_PORT [DIST_PORT [EPMD_PORT]]}
    local dist_port=${3:-} epmd_port=${4:-}

    rabbitmq_available || {
        echo "rabbitmq_start: rabbitmq-server (and erl) are not installed" >&2
        return 1
    }
    mkdir -p "$dir/log" "$dir/mnesia" || return 1
    dir=$(cd "$dir" && pwd) || return 1

    if [[ -f $dir/node.env ]]; then
        # A restart on the same state: keep the node name and ports, since
        # the data in mnesia belongs to that node name.
        # shellcheck disable=SC1091
        (. "$dir/node.env" && [[ $AMQP_PORT == "$amqp_port" ]]) || {
            echo "rabbitmq_start: $dir belongs to a node on another port" >&2
            return 1
        }
        if [[ -f $dir/rabbitmq.pid ]] && kill -0 "$(cat "$dir/rabbitmq.pid")" 2>/dev/null; then
            echo "rabbitmq_start: the node in $dir is already running" >&2
            return 1
        fi
    else
        [[ -n $dist_port ]] || dist_port=$(rabbitmq_free_port) || return 1
        [[ -n $epmd_port ]] || epmd_port=$(rabbitmq_free_port) || return 1
        cat >"$dir/node.env" <<EOF
NODE_NAME=nube-$amqp_port@localhost
AMQP_PORT=$amqp_port
DIST_PORT=$dist_port
EPMD_PORT=$epmd_port
EOF
    fi
    if _rabbitmq_port_open "$amqp_port"; then
        echo "rabbitmq_start: port $amqp_port is already in use" >&2
        return 1
    fi

    if [[ ! -f $dir/.erlang.cookie ]]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie") ||
            return 1
    fi
    chmod 0400 "$dir/.erlang.cookie"
    : >"$dir/rabbitmq-env.conf"
    echo '[].' >"$dir/enabled_plugins"
    echo '[].' >"$dir/advanced.config"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp_port
loopback_users.guest = true
log.console = false
log.file.level = info
management.tcp.ip = 127.0.0.1
disk_free_limit.absolute = 50MB
EOF

    (
        _rabbitmq_env "$dir" || exit 1
        cd "$dir" || exit 1
        exec setsid -w "$RABBITMQ_SH_BIN/rabbitmq-server" </dev/null >>"$dir/log/console.log" 2>&1
    ) &
    local pid=$!
    echo "$pid" >"$dir/rabbitmq.pid"

    local deadline=$((SECONDS + RABBITMQ_START_TIMEOUT))
    until _rabbitmq_port_open "$amqp_port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "rabbitmq_start: the node exited; last lines of $dir/log/console.log:" >&2
            tail -n 20 "$dir/log/console.log" >&2
            rabbitmq_stop "$dir" >/dev/null 2>&1
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "rabbitmq_start: port $amqp_port not open after ${RABBITMQ_START_TIMEOUT}s" >&2
            rabbitmq_stop "$dir" >/dev/null 2>&1
            return 1
        fi
        sleep 0.2
    done
    if ! rabbitmq_ctl "$dir" await_startup --timeout "$RABBITMQ_START_TIMEOUT" >/dev/null; then
        echo "rabbitmq_start: rabbitmqctl await_startup failed (see $dir/log)" >&2
        rabbitmq_stop "$dir" >/dev/null 2>&1
        return 1
    fi
    return 0
}

rabbitmq_stop() {
    local dir=${1:?usage: rabbitmq_stop DIR}
    [[ -f $dir/node.env ]] || return 0
    local pid="" beam="" i
    [[ -f $dir/rabbitmq.pid ]] && pid=$(cat "$dir/rabbitmq.pid")
    [[ -f $dir/rabbitmq.beam.pid ]] && beam=$(cat "$dir/rabbitmq.beam.pid")

    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        RABBITMQ_SH_TIMEOUT=30 rabbitmq_ctl "$dir" stop >/dev/null 2>&1 ||
            kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            [[ -n $beam ]] && kill -KILL "$beam" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    fi
    # The beam process writes its own pid; make sure it is gone too.
    if [[ -n $beam ]] && kill -0 "$beam" 2>/dev/null &&
        grep -q beam "/proc/$beam/comm" 2>/dev/null; then
        kill -TERM "$beam" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            kill -0 "$beam" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$beam" 2>/dev/null
    fi
    rm -f "$dir/rabbitmq.pid" "$dir/rabbitmq.beam.pid"
    # Our private epmd (it listens only on EPMD_PORT, which no one else uses).
    (
        # shellcheck disable=SC1091
        . "$dir/node.env" || exit 0
        ERL_EPMD_PORT=$EPMD_PORT epmd -kill >/dev/null 2>&1
    )
    return 0
}

rabbitmq_add_user() {
    local dir=${1:?usage: rabbitmq_add_user DIR USER PASS}
    local user=${2:?usage: rabbitmq_add_user DIR USER PASS}
    local pass=${3:?usage: rabbitmq_add_user DIR USER PASS}
    if rabbitmq_ctl "$dir" list_users 2>/dev/null | awk '{print $1}' | grep -qxF -- "$user"; then
        rabbitmq_ctl "$dir" change_password -- "$user" "$pass" >/dev/null || return 1
    else
        rabbitmq_ctl "$dir" add_user -- "$user" "$pass" >/dev/null || return 1
    fi
    rabbitmq_ctl "$dir" set_permissions -p / -- "$user" '.*' '.*' '.*' >/dev/null
}

rabbitmq_url() {
    local dir=${1:?usage: rabbitmq_url DIR [USER PASS]}
    (
        # shellcheck disable=SC1091
        . "$dir/node.env" || exit 1
        echo "amqp://${2:-guest}:${3:-guest}@127.0.0.1:$AMQP_PORT/"
    )
}
