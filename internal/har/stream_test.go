package har

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// genHAR is a synthetic HAR document of n copies of entry, produced on the
// fly so that the test itself holds no large buffer.
type genHAR struct {
	parts [][]byte
	n     int // entries still to emit
	cur   []byte
	state int
}

func newGenHAR(entry string, n int) *genHAR {
	return &genHAR{parts: [][]byte{
		[]byte(`{"log":{"version":"1.2","creator":{"name":"gen","version":"1"},"entries":[`),
		[]byte(entry), []byte(","), []byte("]}}\n"),
	}, n: n}
}

func (g *genHAR) Read(p []byte) (int, error) {
	for len(g.cur) == 0 {
		switch {
		case g.state == 0:
			g.cur, g.state = g.parts[0], 1
		case g.state == 1 && g.n > 0:
			g.cur = g.parts[1]
			g.n--
			if g.n > 0 {
				g.state = 2
			}
		case g.state == 2:
			g.cur, g.state = g.parts[2], 1
		case g.state == 1:
			g.cur, g.state = g.parts[3], 3
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.cur)
	g.cur = g.cur[n:]
	return n, nil
}

// bigEntry is a synthetic entry of about 64 KiB: headers, a cookie and a
// base64 body.
var bigEntry = strings.Replace(minimalEntry, `"text":"hi"`,
	`"text":"`+strings.Repeat("QUJD", 16<<10)+`","encoding":"base64"`, 1)

func TestGenHARReads(t *testing.T) {
	flows, _, err := readAll(mustReadAll(t, newGenHAR(bigEntry, 3)), "gen")
	if err != nil || len(flows) != 3 || len(flows[2].Response.Body) != 48<<10 {
		t.Fatalf("%d flows, %v", len(flows), err)
	}
}

func mustReadAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCountMemoryIsBounded counts a 256 MiB stream and checks that Count
// allocated a small, fixed amount in total: it keeps nothing per entry.
func TestCountMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const n = 4096 // entries of ~64 KiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := Count(newGenHAR(bigEntry, n), "gen")
	runtime.ReadMemStats(&after)
	if err != nil || got != n {
		t.Fatalf("Count = %d, %v", got, err)
	}
	t.Logf("Count allocated %d KiB in total", (after.TotalAlloc-before.TotalAlloc)>>10)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("Count allocated %d MiB for a %d MiB stream", alloc>>20, n*len(bigEntry)>>20)
	}
}

// TestReaderMemoryIsBounded reads the same stream entry by entry and checks
// that the live heap stays small while it does.
func TestReaderMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const n = 4096
	var peak uint64
	i := 0
	for f, err := range NewReader(newGenHAR(bigEntry, n), "gen").Flows() {
		if err != nil {
			t.Fatal(err)
		}
		if i++; i%512 == 0 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
		_ = f
	}
	if i != n {
		t.Fatalf("read %d of %d", i, n)
	}
	t.Logf("peak live heap %d KiB", peak>>10)
	if peak > 32<<20 {
		t.Errorf("live heap reached %d MiB", peak>>20)
	}
}

// TestWriterStreams checks that the writer hands its output to the
// io.Writer as it goes rather than buffering the document.
func TestWriterStreams(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil)
	f := syntheticFlows()[0]
	f.Response.Body = bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; i < 64; i++ {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() < 32*64<<10 {
		t.Fatalf("after 64 flows of 64 KiB only %d bytes reached the io.Writer", buf.Len())
	}
	if err := w.Close(&trace.Meta{}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCount and BenchmarkReader measure throughput on a synthetic
// stream of 64 KiB entries (see bench/ for the end-to-end comparison).
func BenchmarkCount(b *testing.B) {
	const n = 256
	b.SetBytes(int64(n * (len(bigEntry) + 1)))
	for b.Loop() {
		if _, err := Count(newGenHAR(bigEntry, n), "gen"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	const n = 256
	b.SetBytes(int64(n * (len(bigEntry) + 1)))
	for b.Loop() {
		for _, err := range NewReader(newGenHAR(bigEntry, n), "gen").Flows() {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	flows, meta, err := readAll(mustReadAllB(b, newGenHAR(bigEntry, 64)), "gen")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(64 * (len(bigEntry) + 1)))
	for b.Loop() {
		w := NewWriter(io.Discard, meta)
		for _, f := range flows {
			if err := w.WriteFlow(f); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(meta); err != nil {
			b.Fatal(err)
		}
	}
}

func mustReadAllB(b *testing.B, r io.Reader) []byte {
	d, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	return d
}
