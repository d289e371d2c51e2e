#!/usr/bin/env bash
# chromium.sh makes sure the browser the console tests drive (internal/web/browsertest) is here:
# it does nothing when `chromium` is on PATH; otherwise, when root, it installs Debian's chromium
# with apt-get (after one apt-get update), and otherwise says what to install. Outside CI a failure
# only warns (the browser tests skip and say so); with CI=true it fails.
set -euo pipefail

fail() {
	echo "chromium: $*" >&2
	if [[ "${CI:-}" == "true" ]]; then
		exit 1
	fi
	exit 0
}

if command -v chromium >/dev/null 2>&1; then
	exit 0
fi

if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	fail "chromium is missing: install it (Debian: apt-get install chromium) to run the console's browser tests"
fi

echo "chromium: installing Debian's chromium (apt-get install -y chromium)" >&2
apt-get update -qq >&2 || fail "apt-get update failed (no network?)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 ||
	fail "apt-get install chromium failed (no network?)"
command -v chromium >/dev/null 2>&1 || fail "apt-get installed chromium but it is not on PATH"
