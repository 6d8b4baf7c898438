package entralog

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/idtrace/idtrace/internal/trace"
)

// Parallel NDJSON and CSV: one goroutine cuts the input into chunks of
// whole records (lines; CSV records, which may hold newlines in quotes),
// workers map the records of a chunk to Events, and the caller's goroutine
// hands the results on in input order. A chunk's bytes are never written
// after it is cut, so its Events' strings may point into it.

// chunkSize is the size of the chunks the input is cut into (a variable so
// that tests can make every line boundary a chunk boundary).
var chunkSize = 128 << 10

type ndChunk struct {
	data []byte
	line int   // line number of the chunk's first line, minus one
	err  error // a read error or a line over the limit, after data
	// out is filled by a worker; done is closed when it is.
	out  []ndResult
	done chan struct{}
	// evs is the slab the chunk's Events come from (see event); end is
	// the count of Events handed over up to this chunk's last, set when
	// its results have been yielded (see Reader.Release).
	evs []trace.Event
	end int
	// extra holds, per slot of evs, the memory its last Extra had; it is
	// reused only with an Extra filter (filtered, see Reader.KeepExtra).
	extra    [][]trace.KV
	filtered bool
}

// ndResult is the outcome of one non-blank line: an Event, an error, or a
// record of another category (skipped).
type ndResult struct {
	ev      *trace.Event
	err     error
	skipped string
}

// event returns a zero Event from the chunk's slab. A new slab replaces a
// full one (the Events of the old one stay where they are); a recycled
// chunk hands out its last slab again. The Event's Extra is empty but has
// the memory the slot's previous Event had for it (see settle).
func (c *ndChunk) event() *trace.Event {
	if len(c.evs) == cap(c.evs) {
		c.evs = make([]trace.Event, 0, max(64, 2*cap(c.evs)))
		c.extra = make([][]trace.KV, 0, cap(c.evs))
	}
	i := len(c.evs)
	c.evs = c.evs[:i+1]
	if len(c.extra) <= i {
		c.extra = append(c.extra, nil)
	}
	ev := &c.evs[i]
	*ev = trace.Event{}
	if c.filtered {
		ev.Extra = c.extra[i][:0]
	}
	return ev
}

// settle keeps the memory of the last Event's Extra for the slot's next
// Event, and leaves an empty Extra nil, as the one-goroutine reader does
// with an Extra filter (without one, Extra is never reused: an empty one
// stays empty, not nil).
func (c *ndChunk) settle(ev *trace.Event) {
	if !c.filtered {
		return
	}
	c.extra[len(c.evs)-1] = ev.Extra[:0]
	if len(ev.Extra) == 0 {
		ev.Extra = nil
	}
}

// PoisonReleased, when set, makes a Reader overwrite the memory of released
// records before reusing it (the bytes of their lines with '#', their
// Events with zero values), so that a test can show that a consumer which
// calls Release keeps no reference into what it released. For tests only.
var PoisonReleased atomic.Bool

// Release tells the Reader that the first n Events it has handed over, and
// every string in them, are no longer referenced by anyone, so that their
// memory may be reused for later records. It may be called from any
// goroutine, with n never decreasing. Without it nothing is reused (the
// garbage collector frees the records as usual); with it, the NDJSON and
// CSV readers on several goroutines (SetWorkers) reuse their input
// buffers and Events, which saves most of what reading allocates. A
// consumer that calls Release must copy whatever it keeps of an Event.
func (r *Reader) Release(n int) {
	for {
		old := r.released.Load()
		if int64(n) <= old || r.released.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

func (r *Reader) ndjsonParallel(yield func(*trace.Event, error) bool) {
	cut := func(b []byte) int { return bytes.LastIndexByte(b, '\n') + 1 }
	r.parallel(yield, r.br, 0, cut, maxRecordBytes, func() func(*ndChunk) {
		ps := newParser(jsontext.NewDecoder(bytes.NewReader(nil), jsonOpts...))
		ps.keep = r.keep
		return func(c *ndChunk) { r.mapChunk(ps, c) }
	})
}

// maxHanded bounds the chunks kept for reuse until Release frees them; a
// consumer that releases late (or never) only loses the reuse.
const maxHanded = 64

// parallel reads src (whose first line is line startLine+1) in chunks that
// cut returns the end of (the length of the leading whole records of a
// buffer; 0 for none), maps the chunks on r.workers goroutines with the
// mappers newMapper makes (one per goroutine), and yields the results in
// input order. A record that reaches limit bytes without an end is an
// error. Chunks whose Events the consumer has released (Reader.Release)
// go back to the reading goroutine for reuse.
func (r *Reader) parallel(yield func(*trace.Event, error) bool, src io.Reader, startLine int, cut func([]byte) int, limit int, newMapper func() func(*ndChunk)) {
	work := make(chan *ndChunk, r.workers)
	order := make(chan *ndChunk, r.workers+1)
	free := make(chan *ndChunk, maxHanded)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(quit)
		wg.Wait()
	}()
	go cutChunks(src, startLine, cut, limit, work, order, free, quit)
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mapChunk := newMapper()
			for {
				select {
				case c, ok := <-work:
					if !ok {
						return
					}
					c.filtered = r.keep != nil
					mapChunk(c)
					close(c.done)
				case <-quit:
					return
				}
			}
		}()
	}
	recNo, evNo := 0, 0
	var handed []*ndChunk // yielded chunks not yet released, oldest first
	for c := range order {
		<-c.done
		for _, res := range c.out {
			recNo++
			switch {
			case res.err != nil:
				var ie *trace.InputError
				if errors.As(res.err, &ie) {
					ie.Entry, ie.EntryKind = recNo, "record"
				}
				yield(nil, res.err)
				return
			case res.ev == nil:
				r.countSkipped(res.skipped)
			default:
				evNo++
				if !yield(res.ev, nil) {
					return
				}
			}
		}
		if c.err != nil {
			yield(nil, r.inputErr(recNo+1, c.line+bytes.Count(c.data, []byte{'\n'})+1, "", c.err))
			return
		}
		c.end = evNo
		if len(handed) == maxHanded {
			handed[0] = nil // never released in time: left to the collector
			handed = handed[1:]
		}
		handed = append(handed, c)
		rel := int(r.released.Load())
		for len(handed) > 0 && handed[0].end <= rel {
			recycle(handed[0], free)
			handed[0] = nil
			handed = handed[1:]
		}
	}
}

// recycle empties a released chunk and offers it to the reading goroutine.
func recycle(c *ndChunk, free chan<- *ndChunk) {
	if PoisonReleased.Load() {
		data := c.data[:cap(c.data)]
		for i := range data {
			data[i] = '#'
		}
		clear(c.evs[:cap(c.evs)])
		clear(c.extra)
	}
	clear(c.out) // no pointers to the old Events and errors
	c.out, c.evs, c.err = c.out[:0], c.evs[:0], nil
	select {
	case free <- c:
	default:
	}
}

// cutChunks reads src into chunks of whole records (see Reader.parallel)
// and sends each to a worker and, in order, to the consumer. It takes
// chunks to fill from free when there are any.
func cutChunks(src io.Reader, line int, cut func([]byte) int, limit int, work, order chan<- *ndChunk, free <-chan *ndChunk, quit <-chan struct{}) {
	defer close(order)
	defer close(work)
	var carry []byte // the start of a record cut off at a chunk's end (a copy)
	send := func(c *ndChunk) bool {
		select {
		case order <- c:
		case <-quit:
			return false
		}
		if c.err != nil && len(c.data) == 0 {
			close(c.done)
			return true
		}
		select {
		case work <- c:
			return true
		case <-quit:
			return false
		}
	}
	for {
		size := max(chunkSize, 2*len(carry))
		var c *ndChunk
		select {
		case c = <-free:
		default:
			c = new(ndChunk)
		}
		c.line, c.done = line, make(chan struct{})
		buf := c.data[:cap(c.data)]
		if len(buf) < size {
			buf = make([]byte, size)
		}
		n := copy(buf, carry)
		var rerr error
		for n < len(buf) && rerr == nil {
			var m int
			m, rerr = src.Read(buf[n:])
			n += m
		}
		buf = buf[:n]
		end := len(buf)
		if rerr != io.EOF {
			end = cut(buf)
		}
		if end == 0 && rerr == nil {
			// one record longer than the buffer: read on, up to the limit
			if len(buf) > limit {
				c.data, c.err = nil, errTooLarge
				send(c)
				return
			}
			carry = append(carry[:0], buf...)
			continue
		}
		c.data = buf[:end]
		carry = append(carry[:0], buf[end:]...)
		if rerr != nil && rerr != io.EOF {
			c.err = rerr
		}
		if !send(c) || rerr != nil {
			return
		}
		line += bytes.Count(c.data, []byte{'\n'})
	}
}

// mapChunk maps every non-blank line of c into c.out. Record numbers in
// errors are relative to the chunk until the consumer sets them.
func (r *Reader) mapChunk(ps *parser, c *ndChunk) {
	if len(c.data) == 0 {
		return
	}
	// The chunk is never written again: its strings can share its bytes.
	all := unsafe.String(&c.data[0], len(c.data))
	lineNo := c.line
	for pos := 0; pos < len(c.data); {
		i := bytes.IndexByte(c.data[pos:], '\n')
		end, next := pos+i, pos+i+1
		if i < 0 {
			end, next = len(c.data), len(c.data)
		}
		lineNo++
		line := c.data[pos:end]
		s := all[pos:end]
		pos = next
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line, s = line[:len(line)-1], s[:len(s)-1]
		}
		if len(line) > maxRecordBytes {
			c.out = append(c.out, ndResult{err: r.inputErr(1, lineNo, "", errTooLarge)})
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev, err := r.ndjsonLine(ps, c.event(), line, s, lineNo, 1)
		var oc *otherCategory
		switch {
		case errors.As(err, &oc):
			c.out = append(c.out, ndResult{skipped: oc.category})
		case err != nil:
			c.out = append(c.out, ndResult{err: err})
			return
		default:
			c.settle(ev)
			c.out = append(c.out, ndResult{ev: ev})
		}
	}
}
