#!/usr/bin/env bash
# Make sure what the deployment test drives is installed: Debian's `nginx` (the reverse proxy
# of docs/deploiement.md, started by tests/ui/test_deployment.py on loopback ports, never as a
# service), `openssl` (its test certificate) and `systemd-analyze` (checks the shipped units).
# Idempotent: if all are there, print their versions; otherwise, as root, install the missing
# Debian packages; otherwise explain what to do and exit 1.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)

if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "ensure-nginx: missing Debian packages: ${missing[*]}." >&2
        echo "  Install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # the package's own service is not started here (no init in a container; the test
    # starts nginx itself on its own configuration)
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
fi
echo "$(/usr/sbin/nginx -v 2>&1) available as /usr/sbin/nginx"
echo "$(openssl version) available as $(command -v openssl)"
echo "$(systemd-analyze --version | head -n 1) available as $(command -v systemd-analyze)"
