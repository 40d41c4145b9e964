#!/usr/bin/env bash
# Set up and run OfficeHub with demo data on http://127.0.0.1:8000/.
#
#   ./scripts/run.sh [--debug] [serve options, e.g. --sockets 4 --http-workers 4]
#
# Builds .venv, starts PostgreSQL, Redis and Elasticsearch when it can (installing the
# Debian packages as root), migrates, collects static files, seeds the demo
# organisation, then serves the production topology until Ctrl-C (`manage.py serve`,
# officehub/topology.py): nginx on :8000 in front of a pool of Daphne processes for the
# sockets and gunicorn workers for HTTP, plus the background worker, sized to this
# machine, with DEBUG off as in production (`--debug` turns it on). A service that cannot
# be started is replaced by the embedded default (SQLite, in-memory channel layer,
# degraded search) with a loud warning; then one Daphne serves everything. The services
# keep running after Ctrl-C: `./scripts/services.sh stop` stops them.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mkdir -p "$VAR"

# Print a URL without its password.
redact() { sed -E 's#(://[^:/@]*):[^@]*@#\1@#' <<<"$1"; }

debug=false
serve_args=()
for arg in "$@"; do
    case "$arg" in
        --debug) debug=true ;;
        *) serve_args+=("$arg") ;;
    esac
done

if curl -s -o /dev/null --max-time 2 http://127.0.0.1:8000/; then
    die "something already answers on 127.0.0.1:8000 (another ./scripts/run.sh?)"
fi

ensure_venv

# Install both server packages in one apt run (one `apt-get update`); without root or
# apt this fails and the fallbacks below take over.
# fonts-wqy-zenhei: the CJK font the seal images are drawn with; fonts-noto-color-emoji:
# emoji glyphs for a browser on this machine (the pages name it in their font stack);
# nginx-light: the front proxy of the served topology; poppler-utils (in OFFICE_PACKAGES):
# chat attachment previews (pdftoppm, pdfinfo).
if is_root; then
    apt_ensure postgresql redis-server nginx-light curl unzip fonts-wqy-zenhei fonts-noto-color-emoji \
        "${OFFICE_PACKAGES[@]}" || true
    ensure_fandol_fonts || true
fi

# Each service in its own services.sh process, so one failure does not stop the others.
fallbacks=()
if [ -z "${OFFICEHUB_DATABASE_URL:-}" ]; then
    if "$SCRIPTS/services.sh" start postgres; then
        export OFFICEHUB_DATABASE_URL="$PG_URL"
    else
        fallbacks+=("PostgreSQL not started: using SQLite at $VAR/officehub.sqlite3 (one process)")
        export OFFICEHUB_EMBEDDED_FALLBACK=true
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

export OFFICEHUB_DEBUG="${OFFICEHUB_DEBUG:-$debug}"
export OFFICEHUB_HTTPS="${OFFICEHUB_HTTPS:-false}"
export OFFICEHUB_ALLOWED_HOSTS="${OFFICEHUB_ALLOWED_HOSTS:-127.0.0.1,localhost}"
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

printf '%s\n' "$seed_output" > "$VAR/demo-accounts.txt"
cat <<EOF

================================ OfficeHub is starting ================================
  Open:           http://127.0.0.1:8000/   (DEBUG $OFFICEHUB_DEBUG)
  Database:       $(redact "${OFFICEHUB_DATABASE_URL:-sqlite:///$VAR/officehub.sqlite3 (embedded fallback)}")
  Redis:          $(redact "${OFFICEHUB_REDIS_URL:-not started: in-memory channel layer}")
  Elasticsearch:  ${OFFICEHUB_ELASTICSEARCH_URL:-not started: degraded search}
  Secrets:        $VAR/secrets/ (secret key, seal KEK; never commit them)
  Demo accounts:  above, and in $VAR/demo-accounts.txt (password OfficeHub#2026)
  Services keep running after Ctrl-C; stop them with ./scripts/services.sh stop
=======================================================================================
EOF
for note in "${fallbacks[@]}"; do warn "$note"; done
# serve prints the processes it started and where their logs are, then supervises them.
exec "$py" manage.py serve --port 8000 "${serve_args[@]}"
