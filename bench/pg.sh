#!/usr/bin/env bash
# pg.sh start|stop|url — a throwaway PostgreSQL cluster for the benchmarks, in
# $BENCH_PG_DIR (default /tmp/usher-bench-pg) on 127.0.0.1:$BENCH_PG_PORT (default 54329).
# Unlike scripts/with-postgres.sh it outlives one command, so that gen, search, api and foot run
# against the same generated database. Settings are PostgreSQL's defaults except
# shared_buffers=1GB (a million users and their indexes take about 1.5 GB) and
# max_connections=200; fsync stays on. `start` also creates the database `bench`.
set -euo pipefail

dir="${BENCH_PG_DIR:-/tmp/usher-bench-pg}"
port="${BENCH_PG_PORT:-54329}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x "$bindir/initdb" ]] || { echo "pg.sh: no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
	if [[ "$(id -u)" -eq 0 ]]; then
		su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
	else
		"$@"
	fi
}

case "${1:-}" in
start)
	if [[ ! -d "$dir/data" ]]; then
		mkdir -p "$dir"
		[[ "$(id -u)" -eq 0 ]] && chown postgres: "$dir"
		chmod 700 "$dir"
		as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log"
	fi
	if ! as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c shared_buffers=1GB -c max_connections=200" start >/dev/null
	fi
	as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAtc \
		"SELECT 1 FROM pg_database WHERE datname = 'bench'" | grep -q 1 ||
		as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
	echo "postgres://postgres@127.0.0.1:$port/bench?sslmode=disable"
	;;
stop)
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	;;
url)
	echo "postgres://postgres@127.0.0.1:$port/bench?sslmode=disable"
	;;
*)
	echo "usage: $0 start|stop|url" >&2
	exit 2
	;;
esac
