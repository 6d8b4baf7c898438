package entralog

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMeasure generates and reads a million records of three kinds and logs
// CPU time and peak RSS. Opt-in: ENTRALOG_BIG=1 (ENTRALOG_BIG_N to resize).
func TestMeasure(t *testing.T) {
	if os.Getenv("ENTRALOG_BIG") == "" {
		t.Skip()
	}
	for _, c := range []struct{ shape, kind string }{{ShapeDiagnostic, trace.KindSignIn}, {ShapePortalCSV, trace.KindSignIn}, {ShapePortalCSV, trace.KindAudit}} {
		p := t.TempDir() + "/x"
		f, _ := os.Create(p)
		bw := bufio.NewWriter(f)
		c0 := cpu()
		if err := Generate(bw, c.shape, c.kind, bigN(), 1); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		f.Close()
		st, _ := os.Stat(p)
		c1 := cpu()
		r, cl, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range r.Events() {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		cl.Close()
		c2 := cpu()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		t.Logf("%s/%s: %d MB, gen cpu %v, read %d events cpu %v (%.1f us/rec), maxrss so far %d MB", c.shape, c.kind, st.Size()>>20, c1-c0, n, c2-c1, float64((c2-c1).Microseconds())/float64(n), ru.Maxrss>>10)
	}
}

func bigN() int {
	n := 1000000
	if s := os.Getenv("ENTRALOG_BIG_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	return n
}
