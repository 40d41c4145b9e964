#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian 12 machine, then run it.
#
#   ./scripts/test.sh [pytest arguments]     (default: the whole suite)
#
# Installs the Debian packages, builds .venv, starts real PostgreSQL, Redis and
# Elasticsearch (scripts/services.sh) and runs pytest. Exits with pytest's code, except
# that "no tests ran" (pytest's 5) and a run where no test passed count as failures.
# Any OFFICEHUB_* variable already set in the environment wins over the defaults here;
# setting OFFICEHUB_DATABASE_URL, _REDIS_URL or _ELASTICSEARCH_URL also skips starting
# that local service.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
started=$SECONDS

# chromium + fonts: end-to-end tests and seal images (CJK), emoji in chat (colour emoji);
# poppler-utils: chat attachment previews (pdftoppm, pdfinfo);
# openssl: cross-checks CMS signatures; nginx-light: the served topology (tests/scale).
apt_ensure postgresql redis-server nginx-light chromium fonts-wqy-zenhei fonts-noto-color-emoji openssl unzip curl \
    "${OFFICE_PACKAGES[@]}" || die "could not install the Debian packages the tests need"
ensure_fandol_fonts || die "could not install the Fandol fonts (texlive-lang-chinese)"
ensure_venv

services=()
[ -n "${OFFICEHUB_DATABASE_URL:-}" ] || services+=(postgres)
[ -n "${OFFICEHUB_REDIS_URL:-}" ] || services+=(redis)
[ -n "${OFFICEHUB_ELASTICSEARCH_URL:-}" ] || services+=(elasticsearch)
if [ "${#services[@]}" -gt 0 ]; then
    "$SCRIPTS/services.sh" start "${services[@]}"
fi

export OFFICEHUB_DATABASE_URL="${OFFICEHUB_DATABASE_URL:-$PG_URL}"
export OFFICEHUB_REDIS_URL="${OFFICEHUB_REDIS_URL:-$REDIS_URL}"
export OFFICEHUB_ELASTICSEARCH_URL="${OFFICEHUB_ELASTICSEARCH_URL:-$ES_URL}"
# Test like production: no debug, but plain HTTP and unhashed static names (no collectstatic).
export OFFICEHUB_DEBUG="${OFFICEHUB_DEBUG:-false}"
export OFFICEHUB_HTTPS="${OFFICEHUB_HTTPS:-false}"
export OFFICEHUB_STATIC_MANIFEST="${OFFICEHUB_STATIC_MANIFEST:-false}"
export OFFICEHUB_ALLOWED_HOSTS="${OFFICEHUB_ALLOWED_HOSTS:-127.0.0.1,localhost,testserver}"
export OFFICEHUB_CHROMIUM="${OFFICEHUB_CHROMIUM:-/usr/bin/chromium}"
# A fresh secret key per run; never written to disk.
if [ -z "${OFFICEHUB_SECRET_KEY:-}" ] && [ -z "${OFFICEHUB_SECRET_KEY_FILE:-}" ]; then
    OFFICEHUB_SECRET_KEY=$(new_secret_key)
    export OFFICEHUB_SECRET_KEY
fi
export_seal_kek

# Types first: a run with a type error fails before any test starts (config: pyproject.toml
# [tool.mypy]; the django-stubs plugin reads the settings, hence after the exports above).
# OFFICEHUB_SKIP_MYPY=true skips it for a quick local run of a few tests (not under CI=true).
if [ "${CI:-}" = "true" ] || [ "${OFFICEHUB_SKIP_MYPY:-false}" != "true" ]; then
    info "mypy"
    mypy_started=$SECONDS
    "$VENV/bin/mypy" || die "mypy found type errors (see above)"
    info "mypy took $((SECONDS - mypy_started)) s"
fi

info "setup took $((SECONDS - started)) s; running pytest $*"
# The plugin in scripts/ turns "nothing passed" into a failure.
export PYTHONPATH="$SCRIPTS${PYTHONPATH:+:$PYTHONPATH}"
status=0
"$VENV/bin/python" -m pytest -p no:cacheprovider -p pytest_require_passed "$@" || status=$?
if [ "$status" -eq 5 ]; then
    printf '\n!!! pytest collected no tests: failing.\n' >&2
    status=1
fi
exit "$status"
