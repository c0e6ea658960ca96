#!/usr/bin/env bash
# Make sure what the browser tests drive and read is installed: Debian's `chromium` package
# (the browser) and `poppler-utils` (pdftotext, which reads the plan's PDF back).
#
# Playwright never downloads a browser here (the machines reach only package registries);
# tests/ui/conftest.py launches /usr/bin/chromium (or $RELOG_CHROMIUM). Idempotent:
#   * if both are there, print their versions;
#   * otherwise, as root, install the missing Debian packages;
#   * otherwise explain what to do and exit 1.
set -euo pipefail

browser=${RELOG_CHROMIUM:-/usr/bin/chromium}
missing=()

if [[ ! -x $browser ]]; then
    if [[ -n ${RELOG_CHROMIUM:-} ]]; then
        echo "ensure-chromium: RELOG_CHROMIUM=$RELOG_CHROMIUM is not an executable" >&2
        exit 1
    fi
    missing+=(chromium)
fi
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)

if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "ensure-chromium: missing Debian packages: ${missing[*]}." >&2
        echo "  Install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
fi
echo "$("$browser" --version 2>/dev/null || echo chromium) available as $browser"
echo "$(pdftotext -v 2>&1 | head -n 1) available as $(command -v pdftotext)"
