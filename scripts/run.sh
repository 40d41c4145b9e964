#!/usr/bin/env bash
# Set up and run OfficeHub with demo data on http://127.0.0.1:8000/.
#
#   ./scripts/run.sh
#
# Builds .venv, starts PostgreSQL, Redis and Elasticsearch when it can (installing the
# Debian packages as root), migrates, collects static files, seeds the demo
# organisation, then runs Daphne beside the background worker until Ctrl-C. A service
# that cannot be started is replaced by the embedded default (SQLite, in-memory channel
# layer, degraded search) with a loud warning. The services keep running after Ctrl-C:
# `./scripts/services.sh stop` stops them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mkdir -p "$VAR"

# Print a URL without its password.
redact() { sed -E 's#(://[^:/@]*):[^@]*@#\1@#' <<<"$1"; }

if curl -s -o /dev/null --max-time 2 http://127.0.0.1:8000/; then
    die "something already answers on 127.0.0.1:8000 (another ./scripts/run.sh?)"
fi

ensure_venv

# Install both server packages in one apt run (one `apt-get update`); without root or
# apt this fails and the fallbacks below take over.
# fonts-wqy-zenhei: the CJK font the seal images are drawn with; fonts-noto-color-emoji:
# emoji glyphs for a browser on this machine (the pages name it in their font stack).
if is_root; then apt_ensure postgresql redis-server curl unzip fonts-wqy-zenhei fonts-noto-color-emoji || true; fi

# Each service in its own services.sh process, so one failure does not stop the others.
fallbacks=()
if [ -z "${OFFICEHUB_DATABASE_URL:-}" ]; then
    if "$SCRIPTS/services.sh" start postgres; then
        export OFFICEHUB_DATABASE_URL="$PG_URL"
    else
        fallbacks+=("PostgreSQL not started: using SQLite at $VAR/officehub.sqlite3")
    fi
fi
if [ -z "${OFFICEHUB_REDIS_URL:-}" ]; then
    if "$SCRIPTS/services.sh" start redis; then
        export OFFICEHUB_REDIS_URL="$REDIS_URL"
    else
        fallbacks+=("Redis not started: in-memory channel layer; the worker's notifications will not reach browsers")
    fi
fi
if [ -z "${OFFICEHUB_ELASTICSEARCH_URL:-}" ]; then
    if "$SCRIPTS/services.sh" start elasticsearch; then
        export OFFICEHUB_ELASTICSEARCH_URL="$ES_URL"
    else
        fallbacks+=("Elasticsearch not started: degraded search (database queries, banner shown)")
    fi
fi

export OFFICEHUB_DEBUG="${OFFICEHUB_DEBUG:-true}"
export OFFICEHUB_HTTPS="${OFFICEHUB_HTTPS:-false}"
# A secret key generated once into var/secrets/ (git ignores var/), unless one is given.
if [ -z "${OFFICEHUB_SECRET_KEY:-}" ] && [ -z "${OFFICEHUB_SECRET_KEY_FILE:-}" ]; then
    ensure_secret "$VAR/secrets/secret_key" new_secret_key
    export OFFICEHUB_SECRET_KEY_FILE="$VAR/secrets/secret_key"
fi
export_seal_kek

py="$VENV/bin/python"
info "migrate"
"$py" manage.py migrate --noinput
info "collectstatic"
"$py" manage.py collectstatic --noinput -v 0
info "seed_demo"
seed_output=$("$py" manage.py seed_demo)
printf '%s\n' "$seed_output"
info "seed_demo_seals (CA and one active 公章 per issuing organisation)"
"$py" manage.py seed_demo_seals

# Daphne and the worker run as children of this script; Ctrl-C or either one exiting
# stops both.
children=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    [ "${#children[@]}" -gt 0 ] || return 0
    kill "${children[@]}" 2>/dev/null || true
    wait "${children[@]}" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if "$py" manage.py help run_worker >/dev/null 2>&1; then
    "$py" manage.py run_worker &
    children+=("$!")
    worker_note="python manage.py run_worker (pid $!)"
else
    worker_note="not started: this checkout has no run_worker command yet"
    fallbacks+=("background worker not started: reminders, DING and indexing will not run")
fi
"$VENV/bin/daphne" -b 127.0.0.1 -p 8000 officehub.asgi:application &
children+=("$!")
daphne_pid=$!

for _ in $(seq 1 60); do
    curl -s -o /dev/null --max-time 2 http://127.0.0.1:8000/ && break
    kill -0 "$daphne_pid" 2>/dev/null || die "Daphne exited during start-up (see above)"
    sleep 0.5
done

cat <<EOF

================================ OfficeHub is running ================================
  Open:           http://127.0.0.1:8000/   (Daphne, pid $daphne_pid; Ctrl-C stops it)
  Worker:         $worker_note
  Database:       $(redact "${OFFICEHUB_DATABASE_URL:-sqlite:///$VAR/officehub.sqlite3 (embedded fallback)}")
  Redis:          $(redact "${OFFICEHUB_REDIS_URL:-not started: in-memory channel layer}")
  Elasticsearch:  ${OFFICEHUB_ELASTICSEARCH_URL:-not started: degraded search}
  Secrets:        $VAR/secrets/ (secret key, seal KEK; never commit them)
  Services keep running after Ctrl-C; stop them with ./scripts/services.sh stop

$seed_output
=======================================================================================
EOF
for note in "${fallbacks[@]}"; do warn "$note"; done

# Return when Daphne or the worker exits; the EXIT trap stops the other one.
status=0
wait -n "${children[@]}" || status=$?
exit "$status"
