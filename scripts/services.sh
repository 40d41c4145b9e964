#!/usr/bin/env bash
# Start, stop or inspect the local PostgreSQL, Redis and Elasticsearch that OfficeHub uses.
#
#   scripts/services.sh start|stop|status [postgres] [redis] [elasticsearch]
#
# With no service named, acts on all three. Every action is idempotent: starting a
# running service only checks it, stopping a stopped one does nothing. `start` exits
# non-zero at the first service that cannot be started (run.sh starts them one by one
# and falls back to embedded defaults; test.sh stops).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ES_VERSION=9.2.0
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
ES_USER=officehub-es
ES_HEAP="-Xms512m -Xmx512m"
RUN_DIR="$VAR/run"

# ---------------------------------------------------------------------------- PostgreSQL

# The Debian cluster listening on 5432 ("15 main"), creating one if there is none.
pg_cluster() {
    local cluster
    cluster=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }')
    if [ -z "$cluster" ]; then
        local major
        major=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
        [ -n "$major" ] || return 1
        info "creating PostgreSQL $major cluster 'main' on port 5432"
        pg_createcluster -p 5432 "$major" main >/dev/null
        cluster="$major main"
    fi
    echo "$cluster"
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

# psql as the postgres superuser over the Unix socket (peer auth). `cd /` because
# the postgres user cannot enter /root, where the repo may live.
pg_super() { (cd / && runuser -u postgres -- psql -p 5432 -v ON_ERROR_STOP=1 -qtA "$@"); }

postgres_start() {
    if ! is_root; then
        # Without root we cannot manage the cluster; use it only if it is already set up.
        PGCONNECT_TIMEOUT=3 psql "$PG_URL" -qtAc 'select 1' >/dev/null 2>&1 && return 0
        warn "PostgreSQL not reachable at 127.0.0.1:5432 and not root: cannot start it"
        return 1
    fi
    apt_ensure postgresql || return 1
    local cluster
    cluster=$(pg_cluster) || { warn "no PostgreSQL cluster could be created"; return 1; }
    if ! pg_ready; then
        info "starting PostgreSQL $cluster"
        # One retry: after a crash (or everything being killed before CI), the old
        # server's processes may hold the socket lock for a few more seconds; or a
        # concurrent start (another checkout) won the race.
        # shellcheck disable=SC2086 # "$cluster" is "VERSION NAME": two arguments
        pg_ctlcluster $cluster start || { sleep 5; pg_ready || pg_ctlcluster $cluster start; } \
            || { warn "PostgreSQL failed to start"; return 1; }
        for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
        pg_ready || { warn "PostgreSQL did not accept connections within 30 s"; return 1; }
    fi
    # Role and database, idempotently. CREATEDB: pytest-django creates test databases.
    pg_super <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'officehub') THEN
    CREATE ROLE officehub LOGIN;
  END IF;
END $$;
ALTER ROLE officehub WITH LOGIN CREATEDB PASSWORD 'officehub';
SQL
    if [ -z "$(pg_super -c "SELECT 1 FROM pg_database WHERE datname = 'officehub'")" ]; then
        pg_super -c 'CREATE DATABASE officehub OWNER officehub'
    fi
    info "PostgreSQL ready: ${PG_URL/:officehub@/@}"
}

postgres_stop() {
    is_root || { warn "not root: leaving PostgreSQL alone"; return 0; }
    command -v pg_lsclusters >/dev/null || return 0
    local cluster
    cluster=$(pg_lsclusters -h | awk '$3 == 5432 && $4 ~ /online/ { print $1, $2; exit }')
    [ -n "$cluster" ] || { info "PostgreSQL not running"; return 0; }
    info "stopping PostgreSQL $cluster"
    # shellcheck disable=SC2086
    pg_ctlcluster $cluster stop
}

postgres_status() {
    if pg_ready; then echo "postgres:      running  ${PG_URL/:officehub@/@}"; else echo "postgres:      stopped"; fi
}

# ---------------------------------------------------------------------------- Redis

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

redis_start() {
    if ! command -v redis-server >/dev/null; then
        apt_ensure redis-server || return 1
    fi
    # Debian's package may already run one (init script): any server on 6379 will do.
    if ! redis_ping; then
        info "starting Redis"
        mkdir -p "$RUN_DIR" "$VAR/redis"
        # No systemd in containers, so start the daemon directly. Data is throw-away:
        # the channel layer and cache need no persistence.
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
            --pidfile "$RUN_DIR/redis.pid" --logfile "$VAR/redis/redis.log" \
            --dir "$VAR/redis" --save '' --appendonly no \
            || { warn "Redis failed to start"; return 1; }
        for _ in $(seq 1 50); do redis_ping && break; sleep 0.2; done
        redis_ping || { warn "Redis did not answer PING within 10 s"; tail -n 20 "$VAR/redis/redis.log" >&2; return 1; }
    fi
    info "Redis ready: $REDIS_URL"
}

redis_stop() {
    redis_ping || { info "Redis not running"; return 0; }
    info "stopping Redis"
    # SHUTDOWN NOSAVE works whoever started it (our pid file or the Debian init script).
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    rm -f "$RUN_DIR/redis.pid"
}

redis_status() {
    if redis_ping; then echo "redis:         running  $REDIS_URL"; else echo "redis:         stopped"; fi
}

# ---------------------------------------------------------------------------- Elasticsearch

# ES_JAVA_HOME: the caller's if set, else the first Temurin (then any) JDK under
# /usr/lib/jvm whose major version is at least 21 (Elasticsearch 9 needs 21+; the
# integ-test zip bundles no JDK).
es_java_home() {
    if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return 0; fi
    local jdk major
    for jdk in /usr/lib/jvm/temurin-*-jdk-* /usr/lib/jvm/*; do
        [ -x "$jdk/bin/java" ] || continue
        [ -f "$jdk/release" ] || continue
        major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$jdk/release")
        if [ -n "$major" ] && [ "$major" -ge 21 ]; then echo "$jdk"; return 0; fi
    done
    return 1
}

# Elasticsearch refuses to run as root: as root we run it as a system user, and as
# anyone else as that user.
es_run_as() {
    if is_root; then runuser -u "$ES_USER" -- "$@"; else "$@"; fi
}

# ES_BASE: where the unzipped server, its data and its logs live. Normally var/, but
# the ES user must be able to traverse every parent directory (a repo under /root,
# mode 700, is not): then /var/lib/officehub-es.
es_base() {
    if ! is_root; then echo "$VAR"; return 0; fi
    mkdir -p "$VAR"
    chmod 755 "$VAR"
    if runuser -u "$ES_USER" -- test -x "$VAR"; then echo "$VAR"; else echo /var/lib/officehub-es; fi
}

es_health() {
    curl -fsS --max-time 5 "$ES_URL/_cluster/health" 2>/dev/null | grep -Eq '"status":"(green|yellow)"'
}

# es_wait_healthy SECONDS [BASE] — poll the health; with BASE, give up as soon as the
# server of that pid file has died.
es_wait_healthy() {
    local _
    for _ in $(seq 1 "$1"); do
        es_health && return 0
        if [ -n "${2:-}" ] && ! es_pid "$2" >/dev/null; then return 1; fi
        sleep 1
    done
    es_health
}

# The pid in our pid file, if that process is alive and still Elasticsearch (after a
# crash or reboot the number may belong to something else).
es_pid() {
    local pidfile="$1/elasticsearch-logs/elasticsearch.pid" pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    grep -qa elasticsearch "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# Fetch the pinned integ-test zip with Maven (it caches in ~/.m2) and unzip it once.
es_install() {
    local home="$1" tmp
    [ -x "$home/bin/elasticsearch" ] && return 0
    command -v mvn >/dev/null || apt_ensure maven || return 1
    apt_ensure unzip || return 1
    tmp=$(mktemp -d)
    info "fetching Elasticsearch $ES_VERSION with Maven ($ES_ARTIFACT)"
    # Run in the empty temp dir so no pom.xml around us is picked up; show Maven's
    # output only if it fails.
    if ! (cd "$tmp" && mvn -B -q dependency:copy -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$tmp") >"$tmp/mvn.log" 2>&1; then
        cat "$tmp/mvn.log" >&2
        rm -rf "$tmp"
        warn "Maven could not fetch $ES_ARTIFACT"
        return 1
    fi
    # Unzip beside the target and rename, so a half-extracted tree never looks installed.
    mkdir -p "$(dirname "$home")"
    unzip -q "$tmp/elasticsearch-$ES_VERSION.zip" -d "$tmp" \
        && rm -rf "$home" && mv "$tmp/elasticsearch-$ES_VERSION" "$home"
    rm -rf "$tmp"
    [ -x "$home/bin/elasticsearch" ]
}

es_configure() {
    local home="$1" base="$2"
    # The integ-test zip ships only a few modules (no ingest-geoip, no analysis-common):
    # a setting of an absent module makes Elasticsearch refuse to start.
    {
        echo "# Written by scripts/services.sh on every start; edit that script instead."
        echo "cluster.name: officehub"
        echo "node.name: officehub-local"
        echo "discovery.type: single-node"
        echo "network.host: 127.0.0.1"
        echo "http.port: 9200"
        echo "xpack.security.enabled: false"
        echo "node.store.allow_mmap: false"
        echo "cluster.routing.allocation.disk.threshold_enabled: false"
        echo "path.data: $base/elasticsearch-data"
        echo "path.logs: $base/elasticsearch-logs"
        if [ -d "$home/modules/ingest-geoip" ]; then
            echo "ingest.geoip.downloader.enabled: false"
        fi
    } >"$home/config/elasticsearch.yml"
}

elasticsearch_start() {
    local base home java
    if is_root && ! id "$ES_USER" >/dev/null 2>&1; then
        info "creating system user $ES_USER"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$ES_USER"
    fi
    base=$(es_base)
    home="$base/elasticsearch/elasticsearch-$ES_VERSION"

    command -v curl >/dev/null || apt_ensure curl || return 1
    if es_health; then info "Elasticsearch ready: $ES_URL"; return 0; fi
    java=$(es_java_home) || { warn "no JDK 21+ under /usr/lib/jvm (set ES_JAVA_HOME)"; return 1; }

    if ! es_pid "$base" >/dev/null; then
        es_install "$home" || return 1
        es_configure "$home" "$base"
        mkdir -p "$base/elasticsearch-data" "$base/elasticsearch-logs"
        rm -f "$base/elasticsearch-logs/elasticsearch.pid"
        if is_root; then
            chown -R "$ES_USER:$ES_USER" "$base/elasticsearch" "$base/elasticsearch-data" "$base/elasticsearch-logs"
        fi
        info "starting Elasticsearch $ES_VERSION (java: $java)"
        # cd into the logs dir: jvm.options writes gc.log and hs_err files relative to it.
        # With -d the launcher echoes the startup log until the node is up: keep it in a file.
        if ! (cd "$base/elasticsearch-logs" && es_run_as env ES_JAVA_HOME="$java" ES_JAVA_OPTS="$ES_HEAP" \
            "$home/bin/elasticsearch" -d -p "$base/elasticsearch-logs/elasticsearch.pid") \
            >"$base/elasticsearch-logs/startup.out" 2>&1; then
            # Lost a race: a start from another checkout or test run took the port first.
            if es_wait_healthy 10; then info "Elasticsearch ready (started elsewhere meanwhile): $ES_URL"; return 0; fi
            warn "Elasticsearch failed to start; output:"
            tail -n 40 "$base/elasticsearch-logs/startup.out" >&2
            return 1
        fi
    fi
    if ! es_wait_healthy 120 "$base"; then
        warn "Elasticsearch did not become healthy within 120 s; log tail:"
        tail -n 40 "$base/elasticsearch-logs/officehub.log" >&2 || true
        return 1
    fi
    info "Elasticsearch ready: $ES_URL (home $home)"
}

elasticsearch_stop() {
    local base pid
    is_root && ! id "$ES_USER" >/dev/null 2>&1 && { info "Elasticsearch not running"; return 0; }
    base=$(es_base)
    if ! pid=$(es_pid "$base"); then
        # No pid file here: as root, the server that $ES_USER runs is still ours (it was
        # started from another checkout, whose var/ has the pid file).
        if ! is_root || ! pid=$(pgrep -u "$ES_USER" -o -f 'org\.elasticsearch\.server'); then
            if es_health; then
                warn "an Elasticsearch answers on $ES_URL that this script did not start: leaving it"
            else
                info "Elasticsearch not running"
            fi
            return 0
        fi
    fi
    info "stopping Elasticsearch (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then warn "Elasticsearch ignored SIGTERM for 60 s; killing it"; kill -9 "$pid"; fi
    rm -f "$base/elasticsearch-logs/elasticsearch.pid"
}

elasticsearch_status() {
    if es_health; then echo "elasticsearch: running  $ES_URL"; else echo "elasticsearch: stopped"; fi
}

# ---------------------------------------------------------------------------- main

main() {
    local action="${1:-}" svc
    case "$action" in start | stop | status) shift ;; *) die "usage: $0 start|stop|status [postgres] [redis] [elasticsearch]" ;; esac
    [ "$#" -gt 0 ] || set -- postgres redis elasticsearch
    for svc in "$@"; do
        case "$svc" in postgres | redis | elasticsearch) ;; *) die "unknown service: $svc" ;; esac
    done
    # Called plainly (not in `||` or `if`) so that `set -e` stays in force inside them.
    for svc in "$@"; do "${svc}_${action}"; done
}

main "$@"
