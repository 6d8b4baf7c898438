#!/usr/bin/env bash
# Viewer benchmark (issue 10), peers side by side in one run on one file:
#   idtrace ls --count big.har            (the trace reader's fastest pass)
#   index build + analysis (what `idtrace view` does on a first open)
#   first grid page, a deep page, FTS queries through the HTTP API (p50/p95)
# Peak RSS by GNU time. Not part of the test suite.
#
#   bench/viewer/run.sh              # 100k flows
#   FLOWS=20000 bench/viewer/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
go build -o bench/out/viewerbench ./bench/viewer
n=${FLOWS:-100000}
f=bench/out/viewer$n.har
[ -f "$f" ] || bench/out/viewerbench gen -flows "$n" -o "$f"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); file $(du -m "$f" | cut -f1) MB"
cat "$f" >/dev/null
/usr/bin/time -f 'ls --count: %e s wall, %U s user, %S s sys, peak RSS %M KB' bench/out/idtrace ls --count "$f"
CHROMIUM=$(command -v chromium || true)
/usr/bin/time -f "viewer bench: %e s wall, %U s user, %S s sys, peak RSS %M KB (the bench process; Chromium not included)" bench/out/viewerbench run ${CHROMIUM:+-chromium "$CHROMIUM"} "$f"
