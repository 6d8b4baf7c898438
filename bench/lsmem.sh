#!/usr/bin/env bash
# Memory of `idtrace ls` and `idtrace show` on a HAR whose single response
# body is 300 MB (issue 15), with jq as the peer in the same run. Prints a
# Markdown table of wall time and peak RSS (GNU time). Not part of the test
# suite; needs about 1 GB of disk in bench/out.
#
#   bench/lsmem.sh            # 300 MB body
#   MB=50 bench/lsmem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
MB=${MB:-300}
f=bench/out/body$MB.har
if [ ! -f "$f" ]; then
	{
		printf '{"log":{"version":"1.2","creator":{"name":"lsmem","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05.000Z","time":10,"request":{"method":"GET","url":"https://a.example/big","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":%d,"mimeType":"text/plain","text":"' $((MB << 20))
		head -c $((MB << 20)) /dev/zero | tr '\0' 'A'
		printf '"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":1,"wait":8,"receive":1}}]}}'
	} >"$f"
fi

measure() { # label cmd... → "| label | seconds | MB |"
	local label=$1; shift
	/usr/bin/time -f '%e %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
	read -r secs kb <bench/out/time.txt
	printf '| %s | %s | %.1f |\n' "$label" "$secs" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); $(jq --version)"
echo
echo "| command ($(du -m "$f" | cut -f1) MB HAR, one body) | wall s | peak RSS MB |"
echo "| --- | --- | --- |"
measure "idtrace ls" bench/out/idtrace ls "$f"
measure "idtrace ls --json" bench/out/idtrace ls --json "$f"
measure "idtrace ls --count" bench/out/idtrace ls --count "$f"
measure "idtrace ls --grep x (reads bodies)" bench/out/idtrace ls --grep x "$f"
measure "idtrace show 1 (64 kB on screen)" bench/out/idtrace show 1 "$f"
measure "idtrace show --body FILE 1" bench/out/idtrace show --body bench/out/body.out 1 "$f"
measure "jq -c '.log.entries[] | [.request.url, .response.status]'" jq -c '.log.entries[] | [.request.url, .response.status]' "$f"
measure "jq --stream (entries' urls only)" jq -c --stream 'select(.[0][-1] == "url") | .[1]' "$f"
rm -f bench/out/body.out
