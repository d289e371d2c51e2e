#!/usr/bin/env bash
# with-postgres.sh CMD ARGS... runs CMD with USHER_TEST_POSTGRES_URL pointing at a throwaway
# PostgreSQL cluster that lives in a temporary directory and is removed when CMD ends, whatever
# way it ends. With USHER_TEST_POSTGRES_URL already set it only runs CMD. It exits with CMD's status.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [[ -n "${USHER_TEST_POSTGRES_URL:-}" ]]; then
	exec "$@"
fi

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# pg_bindir prints the bin directory of the newest PostgreSQL installed from Debian packages.
pg_bindir() {
	local dirs=() d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && dirs+=("$d")
	done
	[[ ${#dirs[@]} -gt 0 ]] || return 1
	printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
}

if ! bindir="$(pg_bindir)"; then
	if is_root && command -v apt-get >/dev/null 2>&1; then
		echo "with-postgres: installing PostgreSQL (apt-get install -y postgresql)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
		# The package may start a cluster of its own; tests never use it.
		if command -v pg_lsclusters >/dev/null 2>&1; then
			while read -r ver name _port status _rest; do
				if [[ "$status" == online* ]]; then
					pg_ctlcluster "$ver" "$name" stop >&2 || true
				fi
			done < <(pg_lsclusters --no-header 2>/dev/null || true)
		fi
		bindir="$(pg_bindir)" || { echo "with-postgres: PostgreSQL binaries still missing after apt-get install" >&2; exit 1; }
	else
		echo "with-postgres: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: apt-get install postgresql) or set USHER_TEST_POSTGRES_URL" >&2
		exit 1
	fi
fi

# as_pg runs a command as the OS user postgres when we are root (PostgreSQL refuses to run as
# root), and as ourselves otherwise.
as_pg() {
	if is_root; then
		# cd /: our working directory may be closed to postgres.
		su postgres -s /bin/sh -c "cd / && $(printf '%q ' "$@")"
	else
		"$@"
	fi
}

# A directory the postgres user can reach even when TMPDIR is private to root.
if is_root; then
	tmp_parent=/tmp
else
	tmp_parent="${TMPDIR:-/tmp}"
fi
datadir="$(mktemp -d "$tmp_parent/usher-pg.XXXXXX")"
started=""

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [[ -n "$started" ]]; then
		as_pg "$bindir/pg_ctl" -D "$datadir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$datadir"
}
child=""
# on_signal stops CMD (a background child ignores Ctrl-C, so it gets SIGTERM) and exits, which
# runs cleanup. Without it, a signal would wait for CMD to end on its own.
# shellcheck disable=SC2317 # called from the INT and TERM traps
on_signal() {
	if [[ -n "$child" ]]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

if is_root; then
	chown postgres: "$datadir"
fi
chmod 700 "$datadir"

if ! as_pg "$bindir/initdb" -D "$datadir/data" -A trust -U postgres -E UTF8 --no-sync >"$datadir/initdb.log" 2>&1; then
	echo "with-postgres: initdb failed:" >&2
	cat "$datadir/initdb.log" >&2
	exit 1
fi

# port_in_use reports whether something accepts connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pick a free port and start; if another process takes the port between the check and the
# start, try another one.
port=""
started=1 # from here on, cleanup stops whatever pg_ctl may have started
for _ in 1 2 3 4 5; do
	candidate=$((20000 + RANDOM % 40000))
	if port_in_use "$candidate"; then
		continue
	fi
	if as_pg "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/postgres.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $candidate -k $datadir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null 2>&1; then
		port="$candidate"
		break
	fi
done
if [[ -z "$port" ]]; then
	echo "with-postgres: could not start PostgreSQL; its log:" >&2
	cat "$datadir/postgres.log" >&2 || true
	exit 1
fi

export USHER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"

# In the background so that a signal reaches on_signal at once; <&0 keeps our stdin for CMD.
"$@" <&0 &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
