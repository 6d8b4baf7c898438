package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/trace"
)

// fakeSource yields n generated flows carrying secrets (so that the
// Redactor's order-dependent echo memory is exercised), then fails with
// err if it is set.
type fakeSource struct {
	n      int
	err    error
	body   int          // bytes of each response body
	yields atomic.Int64 // flows handed out so far
}

func (s *fakeSource) Meta() *trace.Meta { return &trace.Meta{Format: "har", Version: "1.2"} }

func (s *fakeSource) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		for i := 1; i <= s.n; i++ {
			s.yields.Add(1)
			f := &trace.Flow{ID: i, Response: &trace.Response{Body: make([]byte, s.body)}}
			if s.body < 1<<20 {
				f = fakeFlow(i, s.body)
			}
			if !yield(f, nil) {
				return
			}
		}
		if s.err != nil {
			yield(nil, s.err)
		}
	}
}

func fakeFlow(i, body int) *trace.Flow {
	secret := fmt.Sprintf("0.AXoA%08dqR7Zk3Lm9Tx2Wv5Yb8Nc1Pd4", i)
	prev := "start"
	if i > 1 {
		prev = fmt.Sprintf("0.AXoA%08dqR7Zk3Lm9Tx2Wv5Yb8Nc1Pd4", i-1)
	}
	b := fmt.Sprintf(`{"refresh_token":%q,"note":%q}`, secret, strings.Repeat("x", max(0, body-80)))
	return &trace.Flow{
		ID: i, Time: trace.NA, Timings: trace.NoTimings(),
		Request: &trace.Request{
			Method: "POST", URL: "https://login.example/token/" + prev, Proto: "HTTP/1.1",
			Headers:     trace.Headers{{Name: "Cookie", Value: "ESTSAUTH=" + secret + "; lang=en"}},
			HeadersSize: trace.Unknown, BodySize: trace.Unknown,
		},
		Response: &trace.Response{
			Status: 200, Proto: "HTTP/1.1", MimeType: "application/json", Body: []byte(b),
			Headers:     trace.Headers{{Name: "Content-Type", Value: "application/json"}},
			HeadersSize: trace.Unknown, BodySize: trace.Unknown, Size: int64(len(b)),
		},
	}
}

// sequential is the plain loop pipeFlows replaces: the reference output.
func sequential(t *testing.T, src trace.Source, red *redact.Redactor) []byte {
	t.Helper()
	var out bytes.Buffer
	w := har.NewWriter(&out, red.Meta(src.Meta()))
	for f, err := range src.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFlow(red.Flow(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(red.Meta(src.Meta())); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestPipeFlowsMatchesPlainLoop(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	want := sequential(t, &fakeSource{n: 500, body: 300}, redact.New(redact.Options{Key: key}))

	src := &fakeSource{n: 500, body: 300}
	red := redact.New(redact.Options{Key: key})
	var out bytes.Buffer
	w := har.NewWriter(&out, red.Meta(src.Meta()))
	n, err := pipeFlows(context.Background(), src, red, w.WriteFlow)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(red.Meta(src.Meta())); err != nil {
		t.Fatal(err)
	}
	if n != 500 {
		t.Fatalf("wrote %d flows, want 500", n)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("pipelined output (%d bytes) differs from the plain loop's (%d bytes)", out.Len(), len(want))
	}
	if bytes.Contains(out.Bytes(), []byte("qR7Zk3Lm9Tx2Wv5Yb8Nc1Pd4")) {
		t.Fatal("a planted secret survived the pipeline")
	}
	// Echoes (a flow's URL path copies the previous flow's refresh token)
	// prove that the redactor saw the flows in order.
	if got := red.Counts()["echo"]; got < 499 {
		t.Fatalf("echo removals = %d, want at least 499 (flows redacted out of order?)", got)
	}
}

func TestPipeFlowsSourceError(t *testing.T) {
	bad := errors.New("entry 7: broken")
	for _, red := range []*redact.Redactor{nil, redact.New(redact.Options{})} {
		var ids []int
		n, err := pipeFlows(context.Background(), &fakeSource{n: 7, err: bad}, red, func(f *trace.Flow) error {
			ids = append(ids, f.ID)
			return nil
		})
		if !errors.Is(err, bad) {
			t.Fatalf("err = %v, want the source's error", err)
		}
		if n != 7 || len(ids) != 7 || ids[6] != 7 {
			t.Fatalf("wrote %d flows (%v) before the error, want the 7 read before it", n, ids)
		}
	}
}

func TestPipeFlowsWriteErrorStops(t *testing.T) {
	full := errors.New("disk full")
	src := &fakeSource{n: 100000, body: 100}
	n, err := pipeFlows(context.Background(), src, redact.New(redact.Options{}), func(f *trace.Flow) error {
		if f.ID == 3 {
			return full
		}
		return nil
	})
	if !errors.Is(err, full) || n != 2 {
		t.Fatalf("n, err = %d, %v; want 2, the write error", n, err)
	}
	// pipeFlows has returned, so its reader has stopped: it read at most
	// what fits in the queues, not the whole source.
	if src.yields.Load() > 3+2*pipeDepth+2 {
		t.Fatalf("the reader went on to flow %d after the writer failed", src.yields.Load())
	}
}

func TestPipeFlowsCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n, err := pipeFlows(ctx, &fakeSource{n: 1000}, nil, func(f *trace.Flow) error {
		if f.ID == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 5 {
		t.Fatalf("n, err = %d, %v; want 5, context.Canceled", n, err)
	}
}

func TestPipeFlowsBudget(t *testing.T) {
	// Flows of 10 MB each: the budget lets at most three be in flight,
	// and a flow larger than the budget still passes alone.
	src := &fakeSource{n: 12, body: 10 << 20}
	var seen int
	n, err := pipeFlows(context.Background(), src, nil, func(f *trace.Flow) error {
		seen++
		if ahead := int(src.yields.Load()) - seen; ahead > pipeBudget/(10<<20)+1 {
			return fmt.Errorf("%d flows of 10 MB read ahead of the writer, budget %d MB", ahead, pipeBudget>>20)
		}
		return nil
	})
	if err != nil || n != 12 {
		t.Fatalf("n, err = %d, %v", n, err)
	}
	big := &fakeSource{n: 2, body: pipeBudget + 1}
	if n, err := pipeFlows(context.Background(), big, nil, func(*trace.Flow) error { return nil }); err != nil || n != 2 {
		t.Fatalf("flows over the budget: n, err = %d, %v", n, err)
	}
}

type panicSource struct{ fakeSource }

func (s *panicSource) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		if yield(fakeFlow(1, 10), nil) {
			panic("reader bug")
		}
	}
}

func TestPipeFlowsPanicBecomesError(t *testing.T) {
	n, err := pipeFlows(context.Background(), &panicSource{}, nil, func(*trace.Flow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "reader bug") || n != 1 {
		t.Fatalf("n, err = %d, %v; want 1 and an internal error", n, err)
	}
}
