#!/usr/bin/env bash
# Back-to-back pairs: idtrace logs --format json FILE, then a jq command over
# the same FILE, N times, each with its input read into the page cache
# first, output to /dev/null; prints each pair's times and jq/idtrace ratio.
# On a machine whose speed drifts, pairs compare where separate runs do not.
#
#   BIN=/path/to/idtrace bash bench/logs/pairs.sh FILE N JQ-ARGS...
#   bash bench/logs/pairs.sh /tmp/lpb/200000/signins.csv 10 -R -n 'reduce (inputs | split(",")[17]) as $k ({}; .[$k] += 1)'
set -euo pipefail
F=$1 N=$2
shift 2
BIN=${BIN:-$(mktemp -d)/idtrace}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/idtrace
for _ in $(seq "$N"); do
  cat "$F" > /dev/null
  a=$( { /usr/bin/time -f "%e %M" "$BIN" logs --format json "$F" > /dev/null; } 2>&1 )
  cat "$F" > /dev/null
  b=$( { /usr/bin/time -f "%e" jq "$@" "$F" > /dev/null; } 2>&1 )
  echo "$a $b" | awk '{printf "idtrace %.2f s (%d MB)  jq %.2f s  ratio %.1fx\n", $1, $2/1024, $3, $3/$1}'
done
