#!/usr/bin/env bash
# Memory of `idtrace ls` and `idtrace show` on a HAR and on a SAZ whose
# single response body is 300 MB (issue 15), with a peer in the same run:
# jq for the HAR, 7-Zip (7zz) and unzip extracting the entry for the SAZ.
# Each command runs RUNS times (default 3); the table gives CPU time
# (user+sys, seconds) and peak RSS (MB) of each run (GNU time). Not part of
# the test suite; needs about 1.5 GB of disk in bench/out.
#
#   bench/lsmem.sh              # HAR and SAZ, 300 MB body
#   PART=saz bench/lsmem.sh     # only the SAZ (PART=har: only the HAR)
#   MB=50 RUNS=1 bench/lsmem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
MB=${MB:-300}
RUNS=${RUNS:-3}
PART=${PART:-all}

measure() { # label cmd... → "| label | cpu s … | MB … |"
	local label=$1; shift
	local cpu="" rss=""
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%U %S %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
		read -r usr sys kb <bench/out/time.txt
		cpu+="$(awk -v u="$usr" -v s="$sys" 'BEGIN{printf "%.2f", u+s}') "
		rss+="$(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}') "
	done
	printf '| %s | %s| %s|\n' "$label" "$cpu" "$rss"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$PART" != saz ]; then
	f=bench/out/body$MB.har
	if [ ! -f "$f" ]; then
		{
			printf '{"log":{"version":"1.2","creator":{"name":"lsmem","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05.000Z","time":10,"request":{"method":"GET","url":"https://a.example/big","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":%d,"mimeType":"text/plain","text":"' $((MB << 20))
			head -c $((MB << 20)) /dev/zero | tr '\0' 'A'
			printf '"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":1,"wait":8,"receive":1}}]}}'
		} >"$f"
	fi
	echo
	echo "| command ($(du -m "$f" | cut -f1) MB HAR, one body; $(jq --version)) | CPU s per run | peak RSS MB per run |"
	echo "| --- | --- | --- |"
	measure "idtrace ls" bench/out/idtrace ls "$f"
	measure "idtrace ls --json" bench/out/idtrace ls --json "$f"
	measure "idtrace ls --count" bench/out/idtrace ls --count "$f"
	measure "idtrace ls --grep x (reads bodies)" bench/out/idtrace ls --grep x "$f"
	measure "idtrace show 1 (64 kB on screen)" bench/out/idtrace show 1 "$f"
	measure "idtrace show --body FILE 1" bench/out/idtrace show --body bench/out/body.out 1 "$f"
	measure "jq -c '.log.entries[] | [.request.url, .response.status]'" jq -c '.log.entries[] | [.request.url, .response.status]' "$f"
	measure "jq --stream (entries' urls only)" jq -c --stream 'select(.[0][-1] == "url") | .[1]' "$f"
fi

if [ "$PART" != har ]; then
	s=bench/out/body$MB.saz
	[ -f "$s" ] || go run ./bench/gensaz -mb "$MB" -o "$s"
	echo
	echo "| command ($(du -m "$s" | cut -f1) MB SAZ, one $MB MB body) | CPU s per run | peak RSS MB per run |"
	echo "| --- | --- | --- |"
	measure "idtrace ls" bench/out/idtrace ls "$s"
	measure "idtrace ls --grep x (reads bodies)" bench/out/idtrace ls --grep x "$s" || echo "| idtrace ls --grep x | failed: see above | |"
	measure "idtrace show 1 (64 kB on screen)" bench/out/idtrace show 1 "$s"
	measure "idtrace show --body FILE 1" bench/out/idtrace show --body bench/out/body.out 1 "$s"
	measure "7zz e -so (the raw entry, with headers)" 7zz e -so "$s" raw/1_s.txt
	measure "unzip -p (the raw entry, with headers)" unzip -p "$s" raw/1_s.txt
fi
rm -f bench/out/body.out
