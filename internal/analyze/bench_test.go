package analyze

import (
	"os"
	"testing"

	"github.com/idtrace/idtrace/internal/har"
)

// BenchmarkRun analyses the HAR named by $IDTRACE_BENCH_HAR (made with
// go run ./bench/analyze/gen); BenchmarkRead only reads it, for comparison.
func BenchmarkRun(b *testing.B)  { benchHAR(b, true) }
func BenchmarkRead(b *testing.B) { benchHAR(b, false) }

func benchHAR(b *testing.B, analyse bool) {
	p := os.Getenv("IDTRACE_BENCH_HAR")
	if p == "" {
		b.Skip("set IDTRACE_BENCH_HAR to a HAR file (go run ./bench/analyze/gen)")
	}
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		src := har.NewReader(f, p)
		if analyse {
			if _, err := Run(src, Options{}); err != nil {
				b.Fatal(err)
			}
		} else {
			for _, err := range src.Flows() {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		f.Close()
	}
}
