#!/usr/bin/env bash
# Benchmark for sanitize (issue 9), peers side by side in one run, on a
# generated HAR of 200 MB (bench/genhar: cookies, refresh tokens in forms,
# tokens in JSON, images):
#   idtrace ls --count          (skips over entries)
#   idtrace ls                  (a full parse, table to /dev/null)
#   idtrace sanitize -o out.har (full parse, redaction, HAR written)
#   jq deleting only Cookie and Authorization request headers (the issue's program)
# Prints a Markdown table of wall time, CPU time and peak RSS (GNU time).
# Default GC settings. On a shared machine compare CPU times: wall times
# include waiting for the other processes.
#
#   bench/sanitize/run.sh            # 200 MB
#   SIZE=1024 bench/sanitize/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
command -v jq >/dev/null || { echo "jq missing: apt-get install -y jq" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install -y time" >&2; exit 1; }

measure() { # label cmd... → "| label | seconds | MB |"
	local label=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
	read -r secs user sys kb <bench/out/time.txt
	printf '| %s | %s | %s | %.1f |\n' "$label" "$secs" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
}

size=${SIZE:-200}
f=bench/out/big$size.har
[ -f "$f" ] || go run ./bench/genhar -size "$size" -o "$f"
real=$(du -m "$f" | cut -f1)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); $(jq --version); input $real MB"
echo
echo "| command | wall s | CPU s (user+sys) | peak RSS MB |"
echo "| --- | --- | --- | --- |"
cat "$f" >/dev/null # warm the page cache alike for every command
measure "idtrace ls --count" bench/out/idtrace ls --count "$f"
measure "idtrace convert → har (read + write, no redaction)" bench/out/idtrace convert "$f" bench/out/converted.har
measure "idtrace ls (full parse)" sh -c "bench/out/idtrace ls '$f' >/dev/null"
measure "idtrace sanitize -o out.har" bench/out/idtrace sanitize "$f" -o bench/out/sanitized.har
sed -n 1p bench/out/stderr.txt
measure "idtrace sanitize --check out.har" bench/out/idtrace sanitize --check bench/out/sanitized.har
measure "jq: drop Cookie and Authorization only" sh -c "jq '.log.entries[] |= (.request.headers |= map(select(.name|ascii_downcase|IN(\"cookie\",\"authorization\")|not)))' '$f' >bench/out/jq.har"
rm -f bench/out/sanitized.har bench/out/jq.har bench/out/converted.har
