#!/usr/bin/env bash
# Benchmark for sanitize (issue 9), peers side by side in one run, on a
# generated HAR of 200 MB (bench/genhar: cookies, refresh tokens in forms,
# tokens in JSON, images):
#   idtrace ls --count          (skips over entries)
#   idtrace ls                  (a full parse, table to /dev/null)
#   idtrace convert → har       (read + write, no redaction)
#   idtrace sanitize -o out.har (full parse, redaction, HAR written)
#   idtrace sanitize --check    (on sanitize's output)
#   jq deleting only Cookie and Authorization request headers (the issue's program)
# Each command runs ROUNDS times (default 3), the rounds interleaved so that
# every command sees the same machine load. Prints one Markdown row per run
# (wall time, CPU time user+sys, peak RSS, from GNU time), then the medians
# and the ratios the issue sets targets for. Default GC settings.
#
#   bench/sanitize/run.sh            # 200 MB, 3 rounds
#   SIZE=1024 ROUNDS=1 bench/sanitize/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
command -v jq >/dev/null || { echo "jq missing: apt-get install -y jq" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install -y time" >&2; exit 1; }

size=${SIZE:-200}
rounds=${ROUNDS:-3}
f=bench/out/big$size.har
[ -f "$f" ] || go run ./bench/genhar -size "$size" -o "$f"
real=$(du -m "$f" | cut -f1)
res=bench/out/sanitize-times.txt
: >"$res"

measure() { # label cmd... → a row, and "label wall cpu rss" in $res
	local label=$1; shift
	/usr/bin/time -f '%e %U %S %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
	read -r secs user sys kb <bench/out/time.txt
	local cpu mb
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
	mb=$(awk -v k="$kb" 'BEGIN{printf "%.1f", k/1024}')
	printf '| %s | %s | %s | %s | %s |\n' "$round" "$label" "$secs" "$cpu" "$mb"
	printf '%s\t%s\t%s\t%s\n' "$label" "$secs" "$cpu" "$mb" >>"$res"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); $(jq --version); input $real MB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | command | wall s | CPU s (user+sys) | peak RSS MB |"
echo "| --- | --- | --- | --- | --- |"
cat "$f" >/dev/null # warm the page cache alike for every command
for round in $(seq "$rounds"); do
	measure "idtrace ls --count" bench/out/idtrace ls --count "$f"
	measure "idtrace ls (full parse)" sh -c "bench/out/idtrace ls '$f' >/dev/null"
	measure "idtrace convert → har" bench/out/idtrace convert "$f" bench/out/converted.har
	rm -f bench/out/converted.har
	measure "idtrace sanitize -o out.har" bench/out/idtrace sanitize "$f" -o bench/out/sanitized.har
	[ "$round" = 1 ] && summary=$(sed -n 1p bench/out/stderr.txt)
	measure "idtrace sanitize --check out.har" bench/out/idtrace sanitize --check bench/out/sanitized.har
	measure "jq: drop Cookie and Authorization only" sh -c "jq '.log.entries[] |= (.request.headers |= map(select(.name|ascii_downcase|IN(\"cookie\",\"authorization\")|not)))' '$f' >bench/out/jq.har"
	rm -f bench/out/sanitized.har bench/out/jq.har
done
echo
echo "$summary; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Medians of $rounds runs:"
echo
echo "| command | wall s | CPU s | peak RSS MB |"
echo "| --- | --- | --- | --- |"
awk -F'\t' '
	{ n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3; m[$1, n[$1]] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
	function median(a, l, cnt,   i, j, t, v) {
		for (i = 1; i <= cnt; i++) v[i] = a[l, i]
		for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return v[int((cnt + 1) / 2)]
	}
	END {
		for (i = 1; i <= k; i++) {
			l = order[i]; W[l] = median(w, l, n[l]); C[l] = median(c, l, n[l])
			printf "| %s | %s | %s | %s |\n", l, W[l], C[l], median(m, l, n[l])
		}
		s = "idtrace sanitize -o out.har"; j = "jq: drop Cookie and Authorization only"
		printf "\nsanitize CPU / ls --count CPU = %.2fx; sanitize CPU / ls (full parse) CPU = %.2fx (target <= 2x)\n", C[s] / C["idtrace ls --count"], C[s] / C["idtrace ls (full parse)"]
		printf "jq wall / sanitize wall = %.1fx; jq CPU / sanitize CPU = %.1fx (target >= 20x)\n", W[j] / W[s], C[j] / C[s]
	}' "$res"
