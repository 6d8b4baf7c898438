package cli

import (
	"context"
	"fmt"
	"sync"

	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/trace"
)

// pipeBudget caps the body bytes of the flows between the pipeline's
// stages (read, redact, write). One flow always passes, whatever its size,
// so memory stays bounded by the largest flow plus this budget.
const pipeBudget = 24 << 20

// pipeDepth is the number of flows each stage may run ahead of the next.
const pipeDepth = 16

// pipeItem is one flow (or the error that ends the stream) between stages.
type pipeItem struct {
	f      *trace.Flow
	err    error
	weight int64
}

// pipeFlows streams the flows of src through red (when not nil) into
// write, with reading, redaction and writing each on its own goroutine so
// that a second core shares the work. Order is kept: each stage handles
// the flows one at a time in file order, and an error of src reaches write's
// caller after every flow read before it, as in a plain loop. It returns
// the number of flows written. It returns only once every goroutine it
// started has stopped, so the caller may close src's file.
func pipeFlows(ctx context.Context, src trace.Source, red *redact.Redactor, write func(*trace.Flow) error) (n int, err error) {
	done := make(chan struct{})
	g := newByteGate(pipeBudget)
	var wg sync.WaitGroup
	defer func() {
		close(done)
		g.close()
		wg.Wait()
	}()

	read := make(chan pipeItem, pipeDepth)
	wg.Go(func() {
		defer close(read)
		defer recoverTo(read, done)
		for f, err := range src.Flows() {
			it := pipeItem{f: f, err: err}
			if f != nil {
				it.weight = flowWeight(f)
				if !g.acquire(it.weight) {
					return
				}
			}
			select {
			case read <- it:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	})

	in := read
	if red != nil {
		redacted := make(chan pipeItem, pipeDepth)
		wg.Go(func() {
			defer close(redacted)
			defer recoverTo(redacted, done)
			for it := range read {
				if it.f != nil {
					it.f = red.Flow(it.f)
				}
				select {
				case redacted <- it:
				case <-done:
					return
				}
			}
		})
		in = redacted
	}

	for it := range in {
		if it.err != nil {
			return n, it.err
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := write(it.f); err != nil {
			return n, err
		}
		g.release(it.weight)
		n++
	}
	return n, nil
}

// recoverTo turns a panic of a stage into an error for the writer, so that
// the caller's clean-up (removing a half-written file) still runs.
func recoverTo(out chan<- pipeItem, done <-chan struct{}) {
	if p := recover(); p != nil {
		select {
		case out <- pipeItem{err: fmt.Errorf("internal error: %v", p)}:
		case <-done:
		}
	}
}

// flowWeight is what a flow holds in memory, roughly: its bodies.
func flowWeight(f *trace.Flow) int64 {
	w := int64(1 << 10)
	if f.Request != nil {
		w += int64(len(f.Request.Body))
	}
	if f.Response != nil {
		w += int64(len(f.Response.Body) + len(f.Response.Wire))
	}
	return w
}

// byteGate bounds the bytes in flight between goroutines.
type byteGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	used   int64
	max    int64
	closed bool
}

func newByteGate(max int64) *byteGate {
	g := &byteGate{max: max}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// acquire waits until n bytes fit (or nothing is in flight); false once
// the gate is closed.
func (g *byteGate) acquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for !g.closed && g.used > 0 && g.used+n > g.max {
		g.cond.Wait()
	}
	if g.closed {
		return false
	}
	g.used += n
	return true
}

func (g *byteGate) release(n int64) {
	g.mu.Lock()
	g.used -= n
	g.mu.Unlock()
	g.cond.Broadcast()
}

func (g *byteGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cond.Broadcast()
}
