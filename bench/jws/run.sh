#!/usr/bin/env bash
# JWS verification: idtrace's jwt.Verify against go-jose's, 3 runs each,
# alternating, CPU time (user+sys) and peak RSS from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-2000}
dir=$(mktemp -d)
go build -o "$dir/jws" ./bench/jws
"$dir/jws" -gen "$dir/fixtures.json"
for run in 1 2 3; do
	for impl in idtrace go-jose; do
		/usr/bin/time -f "run $run $impl user %U sys %S maxrss_kb %M" "$dir/jws" -in "$dir/fixtures.json" -impl "$impl" -n "$N"
	done
done
rm -rf "$dir"
