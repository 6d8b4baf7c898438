package record

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// MaxRecord bounds one record's payload (a flow with its bodies).
const MaxRecord = 1 << 30

// Reader reads a journal back. It implements trace.Source.
type Reader struct {
	name string
	r    *bufio.Reader
	off  int64
	rec  int
	meta trace.Meta
	torn string
	used bool
}

// NewReader reads a journal from r; name is used in errors.
func NewReader(r io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != Magic {
		return nil, &trace.InputError{File: name, Entry: -1, Offset: 0, Field: "header",
			Err: errors.New("not an idtrace journal (want the line \"idtrace-journal 1\")")}
	}
	jr := &Reader{name: name, r: br, off: int64(len(Magic)), meta: trace.Meta{Format: "journal"}}
	return jr, nil
}

// Meta returns the trace metadata recorded in the journal; pages are complete
// once Flows has been consumed.
func (r *Reader) Meta() *trace.Meta { return &r.meta }

// Torn describes the incomplete last record a crash left ("" if none). The
// flow it held had not been fully written and is not yielded.
func (r *Reader) Torn() string { return r.torn }

// Flows yields every complete flow record in journal order. A torn last
// record ends the stream without an error (see Torn); a damaged record
// followed by more data is an error.
func (r *Reader) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		if r.used {
			yield(nil, errors.New("record: Flows called twice"))
			return
		}
		r.used = true
		for {
			kind, payload, err := r.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			switch kind {
			case 'M':
				var m trace.Meta
				if err := json.Unmarshal(payload, &m); err != nil {
					yield(nil, r.fail("meta", err))
					return
				}
				pages := r.meta.Pages
				r.meta = m
				r.meta.Pages = append(pages, m.Pages...)
			case 'P':
				var p trace.Page
				if err := json.Unmarshal(payload, &p); err != nil {
					yield(nil, r.fail("page", err))
					return
				}
				r.meta.Pages = append(r.meta.Pages, p)
			case 'F':
				f := new(trace.Flow)
				if err := json.Unmarshal(payload, f); err != nil {
					yield(nil, r.fail("flow", err))
					return
				}
				if !yield(f, nil) {
					return
				}
			default:
				yield(nil, r.fail("kind", fmt.Errorf("unknown record kind %q", kind)))
				return
			}
		}
	}
}

func (r *Reader) fail(field string, err error) error {
	return &trace.InputError{File: r.name, Entry: r.rec, EntryKind: "record", Offset: r.off, Field: field, Err: err}
}

// next reads one record. A record cut short at the end of the file sets torn
// and returns io.EOF.
func (r *Reader) next() (byte, []byte, error) {
	r.rec++
	start := r.off
	line, err := r.r.ReadSlice('\n')
	if err == io.EOF {
		if len(line) > 0 {
			r.torn = fmt.Sprintf("record %d at byte %d: header cut short", r.rec, start)
		}
		return 0, nil, io.EOF
	}
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, r.fail("header", errors.New("header line too long"))
		}
		return 0, nil, r.fail("header", err)
	}
	r.off += int64(len(line))
	parts := strings.Fields(string(line))
	if len(parts) != 3 || len(parts[0]) != 1 {
		return 0, nil, r.damaged(start, "header", fmt.Errorf("malformed record header"))
	}
	n, err1 := strconv.ParseInt(parts[1], 10, 64)
	sum, err2 := strconv.ParseUint(parts[2], 16, 32)
	if err1 != nil || err2 != nil || n < 0 || n > MaxRecord {
		return 0, nil, r.damaged(start, "header", fmt.Errorf("malformed record header"))
	}
	// Grow with the data actually present, so a damaged length cannot make
	// the reader allocate what the file does not hold.
	var pb bytes.Buffer
	got, err := io.CopyN(&pb, r.r, n+1)
	r.off += got
	payload := pb.Bytes()
	if err != nil {
		r.torn = fmt.Sprintf("record %d at byte %d: %d of %d bytes written", r.rec, start, got, n+1)
		return 0, nil, io.EOF
	}
	if payload[n] != '\n' || crc32.ChecksumIEEE(payload[:n]) != uint32(sum) {
		return 0, nil, r.damaged(start, "payload", errors.New("checksum mismatch"))
	}
	return parts[0][0], payload[:n], nil
}

// damaged reports a bad record: torn if it is the last thing in the file
// (a crash while writing it), an error otherwise.
func (r *Reader) damaged(start int64, field string, err error) error {
	// A crash leaves at most one partial record at the end; skip to the
	// end to see whether anything follows.
	rest, _ := io.Copy(io.Discard, r.r)
	if rest == 0 {
		r.torn = fmt.Sprintf("record %d at byte %d: %v", r.rec, start, err)
		return io.EOF
	}
	return &trace.InputError{File: r.name, Entry: r.rec, EntryKind: "record", Offset: start, Field: field, Err: err}
}

// Open opens the journal at path. The caller closes the returned file.
func Open(path string) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// Format is an output format of Finalize.
type Format string

// The formats Finalize writes.
const (
	HAR Format = "har"
	SAZ Format = "saz"
)

// FormatOf returns the format named by the output file's extension.
func FormatOf(out string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(out)) {
	case ".har":
		return HAR, true
	case ".saz":
		return SAZ, true
	}
	return "", false
}

// Result is what Finalize wrote.
type Result struct {
	Flows int
	// Torn describes a partial last record left out (see Reader.Torn).
	Torn string
}

// reorderWindow is how many flows Finalize holds at most to put them back in
// ID order: live flows complete out of order (a slow download finishes after
// the requests that started behind it), and files list them by start. A
// flow whose predecessors are all written goes out at once, so the window
// holds only the flows that wait for an earlier one.
const reorderWindow = 4096

type flowHeap []*trace.Flow

func (h flowHeap) Len() int           { return len(h) }
func (h flowHeap) Less(i, j int) bool { return h[i].ID < h[j].ID }
func (h flowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *flowHeap) Push(x any)        { *h = append(*h, x.(*trace.Flow)) }
func (h *flowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

// Finalize writes the flows of the journal at path into out (HAR or SAZ, by
// format), in flow ID order within a window of reorderWindow flows, then
// removes the journal. out is written beside its final name and renamed into
// place when complete; on error the journal is kept.
func Finalize(path, out string, format Format, meta *trace.Meta) (Result, error) {
	r, c, err := Open(path)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return Result{}, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	var sink trace.Sink
	var res Result
	next := func() trace.Sink {
		if sink != nil {
			return sink
		}
		m := r.Meta()
		if meta != nil {
			m = mergeMeta(meta, m)
		}
		switch format {
		case SAZ:
			sink = saz.NewWriter(bw, m, saz.WriterOptions{})
		default:
			sink = har.NewWriter(bw, m)
		}
		return sink
	}
	var h flowHeap
	last := 0 // the ID written last
	emit := func(f *trace.Flow) error {
		if err := next().WriteFlow(f); err != nil {
			return fmt.Errorf("write %s: flow %d: %w", out, f.ID, err)
		}
		res.Flows++
		last = max(last, f.ID)
		return nil
	}
	for f, err := range r.Flows() {
		if err != nil {
			return res, err
		}
		heap.Push(&h, f)
		for h.Len() > 0 && (h[0].ID <= last+1 || h.Len() > reorderWindow) {
			if err := emit(heap.Pop(&h).(*trace.Flow)); err != nil {
				return res, err
			}
		}
	}
	for h.Len() > 0 {
		if err := emit(heap.Pop(&h).(*trace.Flow)); err != nil {
			return res, err
		}
	}
	res.Torn = r.Torn()
	m := r.Meta()
	if meta != nil {
		m = mergeMeta(meta, m)
	}
	if err := next().Close(m); err != nil {
		return res, fmt.Errorf("write %s: %w", out, err)
	}
	if err := bw.Flush(); err != nil {
		return res, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return res, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return res, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return res, err
	}
	ok = true
	c.Close()
	if err := os.Remove(path); err != nil {
		return res, fmt.Errorf("remove journal: %w", err)
	}
	return res, nil
}

// mergeMeta is base with the pages the journal recorded.
func mergeMeta(base, j *trace.Meta) *trace.Meta {
	m := *base
	m.Pages = append(append([]trace.Page(nil), base.Pages...), j.Pages...)
	return &m
}
