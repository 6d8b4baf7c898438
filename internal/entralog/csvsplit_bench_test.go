package entralog

import (
	"bytes"
	"testing"
)

// BenchmarkCSVSplitter splits generated portal sign-in rows.
func BenchmarkCSVSplitter(b *testing.B) {
	data := generatedCSV(b, 20000)
	n := 0
	{
		hdr := data[:bytes.IndexByte(data, '\n')]
		n = bytes.Count(hdr, []byte{','}) + 1
	}
	body := string(data[bytes.IndexByte(data, '\n')+1:])
	b.SetBytes(int64(len(body)))
	var sp csvSplitter
	for b.Loop() {
		sp.reset(body, n, 1<<30)
		recs := 0
		for {
			_, ok, bad := sp.next()
			if bad {
				b.Fatal("bad")
			}
			if !ok {
				break
			}
			recs++
		}
		if recs != 20000 {
			b.Fatal(recs)
		}
	}
}
