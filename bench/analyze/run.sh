#!/usr/bin/env bash
# Benchmark: `idtrace analyze --format json` against `idtrace ls --count`
# (a plain parse that only counts entries) and `idtrace ls` (a full decode
# of every entry), on the same generated HAR, in one run.
# Usage: bench/analyze/run.sh [SIZE_MB]   (default 200). Results: bench/RESULTS-analyze.md
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${1:-200}
work=${BENCH_DIR:-/tmp/idtrace-bench-analyze}
mkdir -p "$work"
go build -o "$work/idtrace" ./cmd/idtrace
if [ ! -f "$work/big.har" ] || [ "$(stat -c %s "$work/big.har")" -lt $((size * 1024 * 1024)) ]; then
	go run ./bench/analyze/gen -size "$size" -o "$work/big.har"
fi
ls -l "$work/big.har"
cat "$work/big.har" > /dev/null # warm the page cache for every run alike

measure() { # name, command...
	local name=$1; shift
	/usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.time"
	awk -v n="$name" -F': ' '
		/User time/ {u=$2} /System time/ {s=$2} /Elapsed/ {e=$2} /Maximum resident/ {r=$2}
		END {printf "%-8s cpu %6.2f s (user %s + sys %s)  wall %s  peak RSS %d MB\n", n, u+s, u, s, e, r/1024}' "$work/$name.time"
}
for i in 1 2 3; do
	echo "-- run $i"
	measure count "$work/idtrace" ls --count "$work/big.har"
	measure ls "$work/idtrace" ls "$work/big.har"
	measure analyze "$work/idtrace" analyze --format json "$work/big.har"
done
echo "flows: $(cat "$work/count.out")"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('sign-ins', len(d['flows']), 'tokens', len(d['tokens']), 'findings', len(d['findings']), 'verified', sum(1 for t in d['tokens'] if t['verified']))" "$work/analyze.out"
