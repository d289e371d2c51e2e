#!/usr/bin/env bash
# directory-servers.sh makes sure the directory servers the directory tests start
# (internal/directory/dirtest) are here: OpenLDAP's slapd (with slapadd, and ldap-utils for a person
# poking at a test server) and Samba's AD DC (samba, samba-tool). It does nothing when their
# binaries are on PATH; otherwise, when root, it installs the missing Debian packages with apt-get
# (after one apt-get update), and otherwise says what to install. The packages' own services are
# never left running: the tests start their own servers, on 127.0.0.1 only. Outside CI a failure
# only warns (the directory tests skip and say so); with CI=true it fails.
set -euo pipefail

# The PATH of a root shell has sbin, where slapd and slapadd live; a user's may not.
export PATH="$PATH:/usr/sbin:/sbin"

fail() {
	echo "directory-servers: $*" >&2
	if [[ "${CI:-}" == "true" ]]; then
		exit 1
	fi
	exit 0
}

have() {
	local b
	for b in "$@"; do
		command -v "$b" >/dev/null 2>&1 || return 1
	done
}

packages=()
have slapd slapadd ldapsearch || packages+=(slapd ldap-utils)
have samba samba-tool || packages+=(samba-ad-dc samba-ad-provision)
if [[ ${#packages[@]} -eq 0 ]]; then
	exit 0
fi

what="apt-get install slapd ldap-utils && apt-get install --no-install-recommends samba-ad-dc samba-ad-provision"
if [[ "$EUID" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	fail "the packages ${packages[*]} are missing: install them (Debian: $what) to run the directory tests"
fi

echo "directory-servers: installing ${packages[*]} with apt-get" >&2
apt-get update -qq >&2 || fail "apt-get update failed (no network?)"
# --no-install-recommends leaves out what only a real domain member needs (libnss-winbind,
# libpam-winbind, logrotate); samba-ad-provision, which samba merely recommends, is named above.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 ||
	fail "apt-get install ${packages[*]} failed (no network?)"

# A package's postinst may start its service (on a machine with systemd, or with invoke-rc.d
# allowed). The tests never use it, and a system slapd or samba would hold ports 389/636 that the
# tests' Samba needs: stop and disable whatever started.
for svc in slapd samba-ad-dc samba smbd nmbd winbind; do
	if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [[ -x "/etc/init.d/$svc" ]]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
	fi
done
for proc in slapd samba smbd nmbd winbindd; do
	# Only daemons the packages started: the system's, run from /usr/sbin, never a test's
	# (those run from the test binary with -f or -s options of their own temp dirs).
	if pids="$(pgrep -x "$proc")"; then
		for pid in $pids; do
			if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -e '/tmp/' -e "${TMPDIR:-/tmp}"; then
				echo "directory-servers: stopping the system $proc (pid $pid) the package started" >&2
				kill "$pid" 2>/dev/null || true
			fi
		done
	fi
done

have slapd slapadd samba samba-tool || fail "apt-get installed ${packages[*]} but slapd, slapadd, samba or samba-tool is not on PATH"
