#!/usr/bin/env bash
# npm-tools.sh installs the pinned npm packages some tests run (the OpenAPI linter) into
# $USHER_NPM_TOOLS (default: .tools/ in the repository, ignored by git), once: a run that finds
# them installed at the pinned versions does nothing. Without node and npm it installs Debian's
# when root with apt-get, and otherwise says what to install. Outside CI a failure only warns
# (the tests that need a tool skip and say so); with CI=true it fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The pinned packages; internal/api/openapi_lint_test.go pins the same version.
packages=("@redocly/cli@2.77.0")

dir="${USHER_NPM_TOOLS:-$PWD/.tools}"

fail() {
	echo "npm-tools: $*" >&2
	if [[ "${CI:-}" == "true" ]]; then
		exit 1
	fi
	exit 0
}

# installed NAME@VERSION reports whether the package is in $dir at exactly that version.
installed() {
	local name="${1%@*}" version="${1##*@}" manifest
	manifest="$dir/node_modules/$name/package.json"
	[[ -f "$manifest" ]] && grep -q "\"version\": *\"$version\"" "$manifest"
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
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

echo "npm-tools: npm install --prefix $dir ${missing[*]}" >&2
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "${missing[@]}" >&2 ||
	fail "npm install --prefix $dir ${missing[*]} failed"
