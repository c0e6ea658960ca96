#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries the test suite needs are installed.
#
# The suite (tests/postgres_cluster.py) starts its own throwaway primary + hot
# standby with initdb / pg_ctl / pg_basebackup; it never uses a system cluster.
# This script is idempotent:
#   * if $RELOG_PG_BINDIR or /usr/lib/postgresql/*/bin already holds initdb,
#     it only prints which PostgreSQL is available;
#   * otherwise, as root, it installs Debian's `postgresql` package without
#     letting the package start its auto-created cluster, then makes sure that
#     cluster stays stopped and is not started at boot (start.conf = manual);
#   * otherwise (not root) it explains what to do and exits 1.
# Output: one line, e.g.
#   PostgreSQL 15.18 (Debian 15.18-0+deb12u1) available in /usr/lib/postgresql/15/bin
set -euo pipefail

required=(initdb pg_ctl pg_basebackup postgres)

has_binaries() {
    local dir=$1 bin
    for bin in "${required[@]}"; do
        [[ -x "$dir/$bin" ]] || return 1
    done
}

# Same preference as tests/postgres_cluster.py: $RELOG_PG_BINDIR, then the
# highest Debian version directory.
find_bindir() {
    if [[ -n "${RELOG_PG_BINDIR:-}" ]]; then
        has_binaries "$RELOG_PG_BINDIR" && { echo "$RELOG_PG_BINDIR"; return 0; }
        echo "ensure-postgres: RELOG_PG_BINDIR=$RELOG_PG_BINDIR lacks ${required[*]}" >&2
        return 1
    fi
    local dir best=""
    while IFS= read -r dir; do
        has_binaries "$dir" && best=$dir
    done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
    [[ -n "$best" ]] && echo "$best"
}

report() {
    local bindir=$1 version
    version=$("$bindir/postgres" --version 2>/dev/null | sed 's/^postgres (PostgreSQL) //')
    echo "PostgreSQL ${version:-?} available in $bindir"
}

if bindir=$(find_bindir); then
    report "$bindir"
    exit 0
fi
if [[ -n "${RELOG_PG_BINDIR:-}" ]]; then
    exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-postgres: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin." >&2
    echo "  Install them as root: apt-get update && apt-get install -y postgresql" >&2
    echo "  (or set RELOG_PG_BINDIR to a directory holding ${required[*]})." >&2
    exit 1
fi

# Keep the package from starting its cluster: policy-rc.d exit 101 forbids
# service starts from maintainer scripts (Debian's invoke-rc.d policy layer).
# Only add it if there is none, and remove only the one we added.
policy=/usr/sbin/policy-rc.d
added_policy=0
cleanup() {
    if [[ $added_policy -eq 1 ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from tests/setup/ensure-postgres.sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    added_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq postgresql >&2

# The package may have created (and, where services can start, started) a
# "main" cluster. We never use it: stop it if it runs, and don't start it at
# boot. (We only get here when no server was installed: these are the
# package's own clusters, not somebody's data.)
if command -v pg_lsclusters >/dev/null 2>&1; then
    while read -r ver name port status _; do
        [[ $ver =~ ^[0-9.]+$ ]] || continue
        if [[ $status == online* ]]; then
            pg_ctlcluster "$ver" "$name" stop >&2 || true
        fi
        conf=/etc/postgresql/$ver/$name/start.conf
        if [[ -f $conf ]]; then
            sed -i 's/^auto$/manual/' "$conf"
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

if bindir=$(find_bindir); then
    report "$bindir"
else
    echo "ensure-postgres: installed the postgresql package but found no initdb under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
