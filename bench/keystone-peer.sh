#!/bin/bash
# Runs Debian's Keystone privately on loopback, as the peer of the identity
# benchmark (bench/identity_bench.c).
#
#   bench/keystone-peer.sh start    set up a fresh Keystone and serve it; prints
#                                   KEYSTONE_URL and KEYSTONE_PASSWORD
#   bench/keystone-peer.sh env      print them again for a running peer
#   bench/keystone-peer.sh stop     stop it (the state folder is kept)
#   bench/keystone-peer.sh clean    stop it and remove the state folder
#
# Everything lives in one state folder (KEYSTONE_PEER_DIR, default
# /tmp/nube-keystone-peer): keystone.conf, uwsgi.ini, an SQLite database,
# Fernet and credential keys, logs. /etc/keystone is not used. Keystone uses
# Fernet tokens (its default) and is served by uWSGI's python3 plugin, the
# WSGI server Debian's keystone package runs it under.
#
# Tuning, all optional:
#   KEYSTONE_PEER_PORT       TCP port on 127.0.0.1 (default: a free one)
#   KEYSTONE_PEER_PROCESSES  uWSGI worker processes (default: 2 x cores,
#                            Debian's own advice in keystone-uwsgi.ini)
#   KEYSTONE_PEER_THREADS    threads per worker (default 4)
#   KEYSTONE_PEER_CACHE      true|false: Keystone's in-process cache (true)
#   KEYSTONE_PEER_PASSWORD   admin password (default: random)
#
# Needs Debian's `keystone` package; as root, `start` installs it when it is
# missing, with a policy-rc.d that keeps the package's own service stopped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${KEYSTONE_PEER_DIR:-/tmp/nube-keystone-peer}
# Debian's python3 (keystone's modules live in /usr/lib/python3/dist-packages),
# whatever python a user has earlier on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() {
    echo "keystone-peer: $*" >&2
    exit 1
}

peer_install() {
    command -v keystone-manage >/dev/null && command -v uwsgi >/dev/null &&
        [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] && return 0
    [ "$(id -u)" = 0 ] || die "Debian's keystone package is missing: apt-get install keystone uwsgi-core"
    echo "keystone-peer: installing Debian's keystone package" >&2
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q keystone uwsgi-core \
        >"${TMPDIR:-/tmp}/keystone-peer-install.log" 2>&1 || rc=$?
    [ -n "$made_policy" ] && rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install keystone failed: see ${TMPDIR:-/tmp}/keystone-peer-install.log"
}

peer_pid() {
    local pid
    [ -s "$state/uwsgi.pid" ] || return 1
    pid=$(cat "$state/uwsgi.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

render() { # template output
    sed -e "s|@STATE@|$state|g" -e "s|@PORT@|$port|g" -e "s|@PROCESSES@|$processes|g" \
        -e "s|@THREADS@|$threads|g" -e "s|@CACHE@|$cache|g" "$1" >"$2"
}

peer_env() {
    [ -s "$state/peer.env" ] || die "no peer set up in $state"
    cat "$state/peer.env"
}

peer_stop() {
    local pid i
    pid=$(peer_pid) || return 0
    kill -TERM "$pid"
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "keystone-peer: uWSGI master $pid did not stop on TERM, killing it" >&2
        kill -KILL "$pid"
    fi
    rm -f "$state/uwsgi.pid"
    echo "keystone-peer: stopped" >&2
}

peer_start() {
    peer_install
    if peer_pid >/dev/null; then
        die "already running (pid $(peer_pid)); '$0 stop' first"
    fi
    port=${KEYSTONE_PEER_PORT:-$(free_port)}
    processes=${KEYSTONE_PEER_PROCESSES:-$((2 * $(nproc)))}
    threads=${KEYSTONE_PEER_THREADS:-4}
    cache=${KEYSTONE_PEER_CACHE:-true}
    local password=${KEYSTONE_PEER_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_hex(12))')}
    local url="http://127.0.0.1:$port/v3"
    local user group
    user=$(id -un)
    group=$(id -gn)

    # A fresh state folder each time: no stale keys, tokens or endpoints.
    if [ -e "$state" ] && [ ! -e "$state/keystone.conf" ] && [ -n "$(ls -A "$state")" ]; then
        die "$state exists and is not a keystone-peer state folder"
    fi
    rm -rf "$state"
    mkdir -p "$state/log"
    render "$here/keystone/keystone.conf.in" "$state/keystone.conf"
    render "$here/keystone/uwsgi.ini.in" "$state/uwsgi.ini"

    local manage=(keystone-manage --config-file "$state/keystone.conf")
    echo "keystone-peer: db_sync, key setup and bootstrap in $state" >&2
    "${manage[@]}" db_sync >>"$state/log/manage.log" 2>&1 ||
        die "keystone-manage db_sync failed: see $state/log/manage.log"
    "${manage[@]}" fernet_setup --keystone-user "$user" --keystone-group "$group" \
        >>"$state/log/manage.log" 2>&1 || die "fernet_setup failed: see $state/log/manage.log"
    "${manage[@]}" credential_setup --keystone-user "$user" --keystone-group "$group" \
        >>"$state/log/manage.log" 2>&1 || die "credential_setup failed: see $state/log/manage.log"
    "${manage[@]}" bootstrap --bootstrap-password "$password" \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-service-name keystone \
        --bootstrap-region-id RegionOne --bootstrap-admin-url "$url" \
        --bootstrap-internal-url "$url" --bootstrap-public-url "$url" \
        >>"$state/log/manage.log" 2>&1 || die "keystone-manage bootstrap failed: see $state/log/manage.log"

    echo "keystone-peer: starting uWSGI ($processes processes x $threads threads, cache=$cache) on $url" >&2
    setsid uwsgi --ini "$state/uwsgi.ini" </dev/null >>"$state/log/uwsgi.out" 2>&1 &
    local i
    for i in $(seq 1 600); do
        if curl -fsS -o /dev/null -H 'Accept: application/json' "$url" 2>/dev/null; then
            break
        fi
        peer_pid >/dev/null || [ "$i" -lt 50 ] ||
            die "uWSGI exited: see $state/log/uwsgi.log"
        sleep 0.1
    done
    curl -fsS -o /dev/null "$url" 2>/dev/null || die "Keystone did not answer on $url: see $state/log/"

    cat >"$state/peer.env" <<EOF
KEYSTONE_URL=$url
KEYSTONE_USER=admin
KEYSTONE_PASSWORD=$password
KEYSTONE_PROJECT=admin
KEYSTONE_DOMAIN=Default
KEYSTONE_PEER_PROCESSES=$processes
KEYSTONE_PEER_THREADS=$threads
KEYSTONE_PEER_CACHE=$cache
EOF
    peer_env
}

case "${1:-}" in
start) peer_start ;;
env) peer_env ;;
stop) peer_stop ;;
clean)
    peer_stop
    [ -e "$state/keystone.conf" ] && rm -rf "$state"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
