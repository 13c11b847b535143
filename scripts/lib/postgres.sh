# Private PostgreSQL clusters for the all-in-one cloud and the tests.
# Source this file; it defines:
#   pg_start DIR PORT [--fast]  init (once) and start a cluster in DIR/pg on
#                               127.0.0.1:PORT; --fast turns fsync off (tests only)
#   pg_stop DIR                 stop that cluster (by its pid file), nothing broader
#   pg_running DIR              true when that cluster's postmaster is alive
#   pg_conninfo DIR             print the libpq connection string for role "nube"
#
# PostgreSQL refuses to run as root: when we are root the cluster runs as the
# system user in $NUBE_PG_USER (default "nube", created when missing). Clients
# authenticate with a generated password (scram-sha-256) kept in DIR/pg-password.

PG_BINDIR=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then
        local u=${NUBE_PG_USER:-nube}
        if ! id -u "$u" >/dev/null 2>&1; then
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$u" || return 1
        fi
        echo "$u"
    else
        id -un
    fi
}

_pg_as() {
    local u=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$u" -- "$@"
    else
        "$@"
    fi
}

pg_running() {
    local pidfile=$1/pg/postmaster.pid
    [ -f "$pidfile" ] && kill -0 "$(head -n 1 "$pidfile")" 2>/dev/null
}

pg_conninfo() {
    local dir=$1
    echo "host=127.0.0.1 port=$(cat "$dir/pg-port") dbname=nube user=nube password=$(cat "$dir/pg-password") connect_timeout=5"
}

pg_start() {
    local dir=$1 port=$2 fast=${3:-}
    local user
    [ -x "$PG_BINDIR/initdb" ] || { echo "postgres: no PostgreSQL server found (install postgresql)" >&2; return 1; }
    user=$(_pg_user) || { echo "postgres: cannot create user for the cluster" >&2; return 1; }
    mkdir -p "$dir"
    # the cluster's user must be able to reach its folders inside DIR
    chmod 711 "$dir"
    if [ ! -f "$dir/pg/PG_VERSION" ]; then
        rm -rf "$dir/pg" "$dir/pg-run"
        mkdir -p "$dir/pg" "$dir/pg-run"
        chown "$user" "$dir/pg" "$dir/pg-run"
        chmod 700 "$dir/pg" "$dir/pg-run"
        (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/pg-password")
        local pwfile
        pwfile=$(mktemp)
        cat "$dir/pg-password" > "$pwfile"
        chown "$user" "$pwfile"
        if ! _pg_as "$user" "$PG_BINDIR/initdb" -D "$dir/pg" -U nube --pwfile="$pwfile" \
            --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
            >"$dir/pg-initdb.log" 2>&1; then
            rm -f "$pwfile"
            echo "postgres: initdb failed, see $dir/pg-initdb.log" >&2
            return 1
        fi
        rm -f "$pwfile"
        cat >>"$dir/pg/postgresql.conf" <<CONF
# written by nube's scripts/lib/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/pg-run'
max_connections = 200
shared_buffers = 64MB
logging_collector = off
CONF
        if [ "$fast" = "--fast" ]; then
            printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/pg/postgresql.conf"
        fi
    fi
    echo "$port" > "$dir/pg-port"
    if pg_running "$dir"; then
        return 0
    fi
    if ! _pg_as "$user" "$PG_BINDIR/pg_ctl" -D "$dir/pg" -o "-p $port" -l "$dir/pg/server.log" \
        -w -t 60 start >/dev/null; then
        echo "postgres: the cluster in $dir/pg did not start, see $dir/pg/server.log" >&2
        return 1
    fi
    # the database the cloud uses (idempotent)
    if ! PGPASSWORD=$(cat "$dir/pg-password") "$PG_BINDIR/psql" -h 127.0.0.1 -p "$port" -U nube \
        -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'nube'" | grep -q 1; then
        PGPASSWORD=$(cat "$dir/pg-password") "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$port" \
            -U nube nube || return 1
    fi
}

pg_stop() {
    local dir=$1
    pg_running "$dir" || return 0
    local user
    user=$(stat -c %U "$dir/pg")
    _pg_as "$user" "$PG_BINDIR/pg_ctl" -D "$dir/pg" -m fast -w -t 60 stop >/dev/null
}
