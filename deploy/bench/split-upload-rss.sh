#!/bin/bash
# split-upload-rss.sh — the checker's memory during a big LB upload.
#
# Starts the three data services and a checker (split mode; on SQLite, or
# on PostgreSQL with --db postgres://...), or one all-in-one server
# (--mode all-in-one), uploads DM, waits for its checks to finish, then
# uploads LB and prints the server's RSS before the LB upload (idle), its
# peak (VmHWM) until the upload's response, and its peak until the checks
# the upload queued have run. Every process it starts is stopped on exit.
#
#   deploy/bench/split-upload-rss.sh [--bin PATH] [--dir DIR] [--db DSN] [--mode split|all-in-one]
#                                    [--port BASE] [--runs N]
#
#   --bin   the trialwatch binary (default: trialwatch on $PATH)
#   --dir   work directory; the study is generated into DIR/gen when missing
#           (2,000 subjects × 1,000 labs = 2,000,000 LB rows, ~340 MB)
#   --db    the checker's database: a SQLite file name (default checker.db,
#           recreated each run) or a postgres:// URL naming a scratch schema
#           (search_path=NAME, never public), dropped and recreated before
#           each run
#   --mode  split (default): the checker's memory; all-in-one: the server's
#   --port  first of the ports used: BASE..BASE+3 HTTP, BASE+10..BASE+13 admin
#   --runs  how many runs (default 1)
# Extra environment for the checker alone: CHECKER_ENV="GOGC=100 ...".
set -euo pipefail

BIN=$(command -v trialwatch || true)
DIR=/tmp/split-upload-rss
DB=checker.db
PORT=8280
RUNS=1
MODE=split
while [ $# -gt 0 ]; do
	case $1 in
	--bin) BIN=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--db) DB=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	*) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
	esac
done
[[ $MODE == split || $MODE == all-in-one ]] || { echo "--mode is split or all-in-one, not $MODE" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no trialwatch binary: pass --bin PATH" >&2; exit 2; }
BIN=$(realpath "$BIN")
mkdir -p "$DIR"
cd "$DIR"
if [ ! -s gen/lb.csv ]; then
	"$BIN" gen-study --subjects 2000 --labs-per-subject 1000 --out gen >/dev/null
fi

export TRIALWATCH_SERVICE_TOKEN=split-upload-rss-service-token-0123456789
ADMIN_TOKEN=split-upload-rss-admin-token-0123456789
PIDS=()
stop() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}
trap stop EXIT

wait_ready() { # URL
	for _ in $(seq 100); do curl -sf "$1/readyz" >/dev/null && return; sleep 0.2; done
	echo "$1 did not become ready" >&2; exit 1
}

queue_depth() {
	curl -sf -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$((PORT + 10))/metrics" |
		awk '/^trialwatch_check_queue_depth/ {print $2}'
}

wait_idle() { # until the check queue is empty
	for _ in $(seq 1200); do
		d=$(queue_depth)
		[ "${d:-1}" = 0 ] && return
		sleep 0.5
	done
	echo "the check queue did not drain" >&2; exit 1
}

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }

one_run() {
	rm -f subjects.db* exposure.db* events.db*
	if [[ $DB == postgres://* || $DB == postgresql://* ]]; then
		# The schema is dropped each run: it must be named, never public.
		local schema=
		[[ $DB =~ [?\&]search_path=([A-Za-z0-9_]+) ]] && schema=${BASH_REMATCH[1]}
		if [ -z "$schema" ] || [ "$schema" = public ]; then
			echo "--db $DB: name a scratch schema with search_path=NAME (not public): it is dropped and recreated each run" >&2
			exit 2
		fi
		psql -q "${DB/search_path=/options=-csearch_path%3D}" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema;" >/dev/null
	else
		rm -f "$DB" "$DB"-wal "$DB"-shm
	fi
	local servers=$PORT
	if [ "$MODE" = split ]; then
		local i=1
		for svc in subjects exposure events; do
			"$BIN" serve $svc --db $svc.db --http 127.0.0.1:$((PORT + i)) --admin 127.0.0.1:$((PORT + 10 + i)) >$svc.log 2>&1 &
			PIDS+=($!)
			servers="$servers $((PORT + i))"
			i=$((i + 1))
		done
		env ${CHECKER_ENV:-} "$BIN" serve checker --db "$DB" --admin-token "$ADMIN_TOKEN" \
			--http 127.0.0.1:$PORT --admin 127.0.0.1:$((PORT + 10)) \
			--subjects-url http://127.0.0.1:$((PORT + 1)) --exposure-url http://127.0.0.1:$((PORT + 2)) \
			--events-url http://127.0.0.1:$((PORT + 3)) >checker.log 2>&1 &
	else
		env ${CHECKER_ENV:-} "$BIN" serve --db "$DB" --admin-token "$ADMIN_TOKEN" \
			--http 127.0.0.1:$PORT --admin 127.0.0.1:$((PORT + 10)) >checker.log 2>&1 &
	fi
	local checker=$!
	PIDS+=($checker)
	for p in $servers; do wait_ready http://127.0.0.1:$p; done

	local sites token
	sites=$(awk -F, 'NR > 1 {gsub(/"/, "", $13); print $13}' gen/dm.csv | sort -u | paste -sd,)
	"$BIN" user add --db "$DB" --name uploader --role site --study GEN01 --sites "$sites" >/dev/null
	token=$("$BIN" token create --db "$DB" --user uploader 2>&1 | grep -o 'tw_[A-Za-z0-9_-]*' | head -1)
	upload() { # FIELD=@FILE
		curl -sf -H "Authorization: Bearer $token" -F "$1" "http://127.0.0.1:$PORT/api/v1/studies/GEN01/uploads" >/dev/null ||
			{ echo "upload $1 failed (see $DIR/checker.log)" >&2; exit 1; }
	}
	upload dm=@gen/dm.csv
	wait_idle
	sleep 2
	echo 5 >/proc/$checker/clear_refs # VmHWM := VmRSS
	local idle start secs peak after
	idle=$(kib VmRSS $checker)
	start=$(date +%s.%N)
	upload lb=@gen/lb.csv
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	peak=$(kib VmHWM $checker)
	wait_idle # the checks of the 2,000 subjects
	after=$(kib VmHWM $checker)
	printf '%s db=%s idle=%dMB peak=%dMB over_idle=%dMB upload=%.1fs peak_with_checks=%dMB\n' \
		"$MODE" "${DB%%\?*}" $((idle / 1024)) $((peak / 1024)) $(((peak - idle) / 1024)) "$secs" $((after / 1024))
	stop
}

for _ in $(seq "$RUNS"); do one_run; done
