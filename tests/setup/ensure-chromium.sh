#!/usr/bin/env bash
# Make sure the browser the UI tests drive is installed: Debian's `chromium` package.
#
# Playwright never downloads a browser here (the machines reach only package registries);
# tests/ui/conftest.py launches /usr/bin/chromium (or $RELOG_CHROMIUM). Idempotent:
#   * if the browser is there, print its version;
#   * otherwise, as root, install Debian's chromium;
#   * otherwise explain what to do and exit 1.
set -euo pipefail

browser=${RELOG_CHROMIUM:-/usr/bin/chromium}

if [[ -x $browser ]]; then
    echo "$("$browser" --version 2>/dev/null || echo chromium) available as $browser"
    exit 0
fi
if [[ -n ${RELOG_CHROMIUM:-} ]]; then
    echo "ensure-chromium: RELOG_CHROMIUM=$RELOG_CHROMIUM is not an executable" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-chromium: /usr/bin/chromium not found." >&2
    echo "  Install it as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
echo "$("$browser" --version) installed as $browser"
