#!/usr/bin/env bash
# Benchmark for encrypted SAZ archives (issue 14), with 7-Zip as the peer in
# the same run: idtrace writes and reads WinZip AES-256 one entry at a time,
# so its peak memory should not grow with the number of sessions; 7-Zip
# encrypts (-mem=AES256) and tests the same files. Prints a Markdown table of
# wall time and peak RSS (GNU time). Not part of the test suite.
#
#   bench/encrypted.sh              # HARs of 10 and 40 MB
#   SIZES="10" bench/encrypted.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/idtrace ./cmd/idtrace
Z=$(command -v 7zz || command -v 7z) || { echo "7-Zip missing: apt-get install -y 7zip" >&2; exit 1; }
PW=bench-password

measure() { # label cmd... → "label | seconds | MB"
	local label=$1; shift
	/usr/bin/time -f '%e %M' -o bench/out/time.txt "$@" >bench/out/stdout.txt 2>bench/out/stderr.txt || { cat bench/out/stderr.txt >&2; return 1; }
	read -r secs kb <bench/out/time.txt
	printf '| %s | %s | %.1f |\n' "$label" "$secs" "$(awk -v k="$kb" 'BEGIN{print k/1024}')"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(go version); $($Z | head -2 | tail -1)"
echo
echo "| command | wall s | peak RSS MB |"
echo "| --- | --- | --- |"
for size in ${SIZES:-10 40}; do
	f=bench/out/enc$size.har
	[ -f "$f" ] || go run ./bench/genhar -size "$size" -o "$f"
	n=$(bench/out/idtrace ls --count "$f")
	real=$(du -m "$f" | cut -f1)
	tag="$real MB, $n sessions"
	measure "idtrace convert → plain saz ($tag)" bench/out/idtrace convert "$f" bench/out/enc$size-plain.saz
	measure "idtrace convert → AES-256 saz ($tag)" bench/out/idtrace convert "$f" bench/out/enc$size.saz --out-password "$PW"
	measure "idtrace ls --json, AES-256 saz ($tag)" bench/out/idtrace ls --json --password "$PW" bench/out/enc$size.saz
	rm -rf bench/out/enc$size-files && mkdir -p bench/out/enc$size-files
	(cd bench/out/enc$size-files && "$Z" x -y "../enc$size-plain.saz" >/dev/null)
	measure "7-Zip a -tzip -mem=AES256, same files ($tag)" sh -c "cd bench/out/enc$size-files && '$Z' a -tzip -mem=AES256 -p$PW ../enc$size-7z.saz . >/dev/null"
	measure "7-Zip t, idtrace's AES-256 saz ($tag)" "$Z" t -p"$PW" bench/out/enc$size.saz
	measure "idtrace ls --json, 7-Zip's AES-256 saz ($tag)" bench/out/idtrace ls --json --password "$PW" bench/out/enc$size-7z.saz
	rm -rf bench/out/enc$size-files bench/out/enc$size*.saz
done
