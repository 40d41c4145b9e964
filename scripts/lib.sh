# shellcheck shell=bash disable=SC2034 # the variables here are used by the sourcing scripts
# Shared helpers for scripts/run.sh, scripts/test.sh and scripts/services.sh.
# Sourced, never executed: the caller has already done `set -euo pipefail`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
# Runtime state (SQLite file, secrets, pid files, Elasticsearch) lives in var/, which git ignores.
VAR="${OFFICEHUB_VAR_DIR:-$ROOT/var}"
VENV="$ROOT/.venv"

# Where the local services listen. Loopback only: they run without TLS and, for
# Elasticsearch, without authentication.
PG_URL="postgres://officehub:officehub@127.0.0.1:5432/officehub"
REDIS_URL="redis://127.0.0.1:6379/0"
ES_URL="http://127.0.0.1:9200"

info() { printf '==> %s\n' "$*" >&2; }
warn() { printf '\n!!! WARNING: %s\n\n' "$*" >&2; }
die() { printf '\n!!! ERROR: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# apt_ensure PKG... — install the Debian packages that are not installed yet.
# `apt-get update` runs at most once per top-level command: the marker variable is
# exported, so services.sh started from test.sh does not update again.
apt_ensure() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    is_root || { warn "missing Debian packages (${missing[*]}) and not root: cannot apt-get install"; return 1; }
    command -v apt-get >/dev/null || { warn "missing ${missing[*]} and no apt-get"; return 1; }
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${_OFFICEHUB_SCRIPTS_APT_UPDATED:-}" ]; then
        info "apt-get update"
        apt-get update -qq || return 1
        export _OFFICEHUB_SCRIPTS_APT_UPDATED=1
    fi
    info "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
}

# ensure_venv — .venv with requirements.txt installed (a no-op pip run takes ~2 s).
ensure_venv() {
    if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        # Debian's python3 ships venv/ensurepip in a separate package.
        python3 -c 'import ensurepip' 2>/dev/null || apt_ensure python3-venv \
            || die "python3 cannot create virtual environments (install python3-venv)"
        info "creating $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    info "pip install -r requirements.txt"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
}

# ensure_secret PATH COMMAND... — create a mode-600 secret file once, from COMMAND's output.
ensure_secret() {
    local path="$1"; shift
    [ -s "$path" ] && return 0
    mkdir -p "$(dirname "$path")"
    chmod 700 "$(dirname "$path")"
    (umask 077 && "$@" >"$path.tmp" && mv "$path.tmp" "$path")
}

# A 32-byte key-encryption key for seal private keys, base64 (settings.SEAL_KEK).
new_seal_kek() { python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'; }
# A Django secret key: 64 URL-safe characters.
new_secret_key() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }

# export_seal_kek — OFFICEHUB_SEAL_KEK_FILE, unless the developer supplies a KEK already
# (settings refuse both OFFICEHUB_SEAL_KEK and OFFICEHUB_SEAL_KEK_FILE at once).
export_seal_kek() {
    if [ -z "${OFFICEHUB_SEAL_KEK:-}" ] && [ -z "${OFFICEHUB_SEAL_KEK_FILE:-}" ]; then
        ensure_secret "$VAR/secrets/seal_kek" new_seal_kek
        export OFFICEHUB_SEAL_KEK_FILE="$VAR/secrets/seal_kek"
    fi
}

# The 版式 (PDF) toolchain: LibreOffice driven over UNO by Debian's python3
# (officehub/office/), poppler's pdfsig/pdftoppm, NSS tools (pdfsig's trust store) and the
# faces GB/T 9704 names (mapped by officehub/office/fonts.conf): Noto CJK for 小标宋, Fandol
# for 仿宋/楷体/黑体/宋体.
OFFICE_PACKAGES=(libreoffice-writer-nogui libreoffice-core python3-uno poppler-utils libnss3-tools fonts-noto-cjk)
FANDOL_DIR=/usr/local/share/fonts/officehub-fandol

# ensure_fandol_fonts — the six Fandol faces, extracted from Debian's texlive-lang-chinese
# (the only package that ships them; installing it whole would pull ~375 MB of TeX).
ensure_fandol_fonts() {
    [ -f "$FANDOL_DIR/FandolFang-Regular.otf" ] && return 0
    is_root || { warn "Fandol fonts missing and not root: PDFs fall back to other faces"; return 1; }
    local tmp
    tmp=$(mktemp -d)
    if ! (cd "$tmp" && apt-get download -qq texlive-lang-chinese >/dev/null 2>&1); then
        apt-get update -qq >/dev/null 2>&1 || true
        (cd "$tmp" && apt-get download -qq texlive-lang-chinese >/dev/null) || { rm -rf "$tmp"; return 1; }
    fi
    dpkg-deb --fsys-tarfile "$tmp"/texlive-lang-chinese_*.deb \
        | tar -x -C "$tmp" --wildcards './usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/Fandol[FSHK]*' \
        || { rm -rf "$tmp"; return 1; }
    mkdir -p "$FANDOL_DIR"
    cp "$tmp"/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/*.otf "$FANDOL_DIR"/
    rm -rf "$tmp"
    fc-cache -f "$FANDOL_DIR" >/dev/null 2>&1 || true
    info "Fandol fonts installed in $FANDOL_DIR"
}
