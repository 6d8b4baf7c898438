#!/usr/bin/env bash
# The logs benchmark: idtrace logs --format json over N sign-in rows (portal
# CSV and diagnostic NDJSON) and N audit rows (NDJSON), each against jq in its
# best mode, streaming (jq -n 'reduce inputs ...': one record in memory at a
# time), over the same file, in one run, with /usr/bin/time -v for wall time,
# CPU time and peak RSS. jq -s (the whole file in memory) is kept as a memory
# footnote only. Go's default GC settings: no GOGC or GOMEMLIMIT is set.
#
#   bash bench/logs/run.sh [DIR] [N...]      (from the repository root)
#
# N is one or more record counts ("200000 1000000" runs both sizes in one
# run); each size's inputs live in DIR/N. RUNS=3 repeats the whole set three
# times (each command once per round, the peers in the same round), for
# figures on a shared machine. SKIP_JQ_AUDIT=1 leaves out jq over the audit
# file (100 s of CPU per 200k rows).
#
# DIR defaults to /tmp/idtrace-bench, N to 200000 1000000. Inputs are
# generated once (go run ./bench/logs/gen) and reused. Needs go, jq and GNU
# time. With BASE_BIN=/path/to/older/idtrace, that binary is timed too,
# beside the current one (before/after figures from one run).
set -euo pipefail
DIR=${1:-/tmp/idtrace-bench}
shift || true
SIZES=${*:-200000 1000000}
BIN=${BIN:-$DIR/idtrace}
mkdir -p "$DIR"
go build -o "$BIN" ./cmd/idtrace
echo "machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), $(jq --version)"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"

measure() { # name, command... (the last argument is the input file)
  local name=$1; shift
  local log; log=$(mktemp)
  # Every command reads its input from the page cache: the machine may have
  # evicted it (a 1M-row set is 3.5 GB) while another command ran, and a
  # read from disk would time the disk, not the tool.
  cat "${@: -1}" > /dev/null
  /usr/bin/time -v "$@" > /dev/null 2> "$log" || { echo "$name FAILED:"; cat "$log"; rm -f "$log"; return 1; }
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f s", u+s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$log")
  printf '| %-50s | %10s | %10s | %8s MB |\n' "$name" "$wall" "$cpu" "$rss"
  rm -f "$log"
  # wall time in seconds, for the ratios
  LAST=$(echo "$wall" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; print s}')
}
ratio() { # label, idtrace seconds, jq seconds
  awk -v l="$1" -v a="$2" -v b="$3" 'BEGIN {printf "| %-50s | %9.1fx | %10s | %11s |\n", "(jq wall / idtrace wall) " l, b/a, "", ""}'
}

for N in $SIZES; do
D=$DIR/$N
mkdir -p "$D"
if [ ! -s "$D/audit.ndjson" ] || [ "$(cat "$D/.n" 2>/dev/null)" != "$N" ]; then
  go run ./bench/logs/gen -dir "$D" -n "$N"
  echo "$N" > "$D/.n"
fi
echo
echo "inputs ($N records each):"
ls -l "$D"/signins.csv "$D"/signins.ndjson "$D"/audit.ndjson | awk '{printf "  %s %d MB\n", $NF, $5/1048576}'
echo
printf '| %-50s | %10s | %10s | %11s |\n' "command ($N records)" "wall" "CPU (u+s)" "peak RSS"
printf '| %-50s | %10s | %10s | %11s |\n' "---" "---" "---" "---"
for round in $(seq "${RUNS:-1}"); do
measure "idtrace logs --format json signins.ndjson" "$BIN" logs --format json "$D/signins.ndjson"; IT=$LAST
if [ -n "${BASE_BIN:-}" ]; then measure "(base) idtrace logs --format json signins.ndjson" "$BASE_BIN" logs --format json "$D/signins.ndjson"; fi
measure "jq -n 'reduce inputs' by appId, signins.ndjson" jq -n 'reduce inputs as $r ({}; .[$r.properties.appId] += 1)' "$D/signins.ndjson"; ratio "signins.ndjson" "$IT" "$LAST"
measure "idtrace logs --format json signins.csv" "$BIN" logs --format json "$D/signins.csv"; IT=$LAST
if [ -n "${BASE_BIN:-}" ]; then measure "(base) idtrace logs --format json signins.csv" "$BASE_BIN" logs --format json "$D/signins.csv"; fi
measure "jq -R -n 'reduce inputs' by column 18, signins.csv" jq -R -n 'reduce (inputs | split(",")[17]) as $k ({}; .[$k] += 1)' "$D/signins.csv"; ratio "signins.csv" "$IT" "$LAST"
measure "idtrace logs --format json audit.ndjson" "$BIN" logs --format json "$D/audit.ndjson"; IT=$LAST
if [ -n "${BASE_BIN:-}" ]; then measure "(base) idtrace logs --format json audit.ndjson" "$BASE_BIN" logs --format json "$D/audit.ndjson"; fi
if [ "${SKIP_JQ_AUDIT:-0}" != 1 ]; then
  measure "jq -n 'reduce inputs' by actor, audit.ndjson" jq -n 'reduce inputs as $r ({}; .[$r.properties.initiatedBy.user.userPrincipalName // $r.properties.initiatedBy.app.displayName // ""] += 1)' "$D/audit.ndjson"
  ratio "audit.ndjson" "$IT" "$LAST"
fi
done
if [ "${JQ_SLURP:-0}" = 1 ]; then
  measure "(footnote) jq -s group_by, signins.ndjson" jq -s 'group_by(.properties.appId) | map({app: .[0].properties.appId, n: length})' "$D/signins.ndjson"
fi
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
