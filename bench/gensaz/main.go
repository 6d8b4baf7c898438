// Command gensaz writes a SAZ holding one session whose response body is
// MB megabytes of base64 text (random, so it does not compress away), for
// the memory benchmark of ls and show on SAZ (bench/lsmem.sh). It streams.
//
//	go run ./bench/gensaz -mb 300 -o bench/out/body300.saz
package main

import (
	"archive/zip"
	"bufio"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
)

func main() {
	mb := flag.Int("mb", 300, "response body size in MB")
	out := flag.String("o", "body.saz", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	w, err := zw.Create("raw/1_c.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(w, "GET https://a.example/big HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n")
	n := *mb << 20
	if w, err = zw.Create("raw/1_s.txt"); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n)
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 3<<18)
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for left := n; left > 0; {
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		base64.StdEncoding.Encode(enc, raw)
		k := min(left, len(enc))
		if _, err := w.Write(enc[:k]); err != nil {
			log.Fatal(err)
		}
		left -= k
	}
	if w, err = zw.Create("raw/1_m.xml"); err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(w, "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Session SID=\"1\" BitFlags=\"0\"><SessionTimers ClientConnected=\"2026-01-02T03:04:05.0000000+00:00\" ClientBeginRequest=\"2026-01-02T03:04:05.0000000+00:00\" ClientDoneResponse=\"2026-01-02T03:04:06.0000000+00:00\" /><SessionFlags /></Session>")
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
