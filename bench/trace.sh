#!/usr/bin/env bash
# Benchmark for the trace foundation (issue 2), peers side by side in one run:
#   idtrace ls --count   vs   jq '.log.entries|length'   (Debian jq)
#   idtrace convert big.har big.saz
# on generated HARs of 200 MB and 1 GB. Prints a Markdown table of wall time
# and peak RSS (GNU time). Not part of the test suite.
#
#   bench/trace.sh            # sizes 200 and 1024 MB
#   SIZES="200" bench/trace.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
command -v jq >/dev/null || { echo "jq missing: apt-get install -y jq" >&2; exit 1; }

measure() { # label cmd... → "label | seconds | MB"
	local label=$1; shift
	/usr/bin/time -f '%e %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
	read -r secs kb <bench/out/time.txt
	printf '| %s | %s | %.1f | %s |\n' "$label" "$secs" "$(awk -v k="$kb" 'BEGIN{print k/1024}')" "$(head -c 60 bench/out/stdout.txt | tr '\n' ' ')"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); $(jq --version)"
echo
echo "| command | wall s | peak RSS MB | output |"
echo "| --- | --- | --- | --- |"
for size in ${SIZES:-200 1024}; do
	f=bench/out/big$size.har
	[ -f "$f" ] || go run ./bench/genhar -size "$size" -o "$f"
	real=$(du -m "$f" | cut -f1)
	cat "$f" > /dev/null # warm the page cache alike for every command
	measure "idtrace ls --count ($real MB)" bench/out/idtrace ls --count "$f"
	measure "jq '.log.entries|length' ($real MB)" jq '.log.entries|length' "$f"
	measure "idtrace convert → saz ($real MB)" bench/out/idtrace convert "$f" bench/out/big$size.saz
	measure "idtrace ls --count (saz of $real MB)" bench/out/idtrace ls --count bench/out/big$size.saz
	measure "idtrace ls --json (saz of $real MB)" bench/out/idtrace ls --json bench/out/big$size.saz
	rm -f bench/out/big$size.saz
done
