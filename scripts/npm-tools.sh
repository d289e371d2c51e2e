#!/usr/bin/env bash
# npm-tools.sh installs the npm packages some tests run (the OpenAPI linter, axe-core) into
# $USHER_NPM_TOOLS (default: .tools/ in the repository, ignored by git), exactly as
# tools/npm/package-lock.json lists them (`npm ci`: the pinned versions, checked against their integrity hashes). A run that
# finds that lockfile installed does nothing. Without node and npm it installs Debian's when root
# with apt-get, and otherwise says what to install. Outside CI a failure only warns (the tests that
# need a tool skip and say so); with CI=true it fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

manifest="$PWD/tools/npm"
dir="${USHER_NPM_TOOLS:-$PWD/.tools}"

fail() {
	echo "npm-tools: $*" >&2
	if [[ "${CI:-}" == "true" ]]; then
		exit 1
	fi
	exit 0
}

# A copy of the lockfile is stamped into $dir once npm ci has installed it: the same one there
# means nothing to do.
stamp="$dir/installed-package-lock.json"
if cmp -s "$manifest/package-lock.json" "$stamp"; then
	exit 0
fi

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "npm-tools: installing Node.js (apt-get install -y nodejs npm)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2 ||
			fail "apt-get install nodejs npm failed"
	else
		fail "node and npm are missing: install them (Debian: apt-get install nodejs npm) to run the OpenAPI lint test"
	fi
fi

echo "npm-tools: npm ci --prefix $dir (tools/npm/package-lock.json)" >&2
mkdir -p "$dir"
rm -f "$stamp"
cp "$manifest/package.json" "$manifest/package-lock.json" "$dir/"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2 ||
	fail "npm ci --prefix $dir failed (no network?)"
cp "$manifest/package-lock.json" "$stamp"
