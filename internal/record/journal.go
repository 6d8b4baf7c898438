// Package record is the crash-safe journal that live capture writes to.
//
// Both live sources (the intercepting proxy and the browser recorder) hand
// each completed flow to a Journal, which appends it to a file beside the
// output at once: a kill -9 loses nothing that was appended, because the
// bytes are in the operating system's hands as soon as Append returns. The
// journal is fsync'd in batches, by a background goroutine, every SyncEvery
// flows or SyncInterval, whichever comes first, so that a power loss costs
// at most the flows appended since the last fsync began (about one batch),
// and no Append waits for the disk. Flows are encoded before the journal's
// lock is taken, so flows completing together encode in parallel, and the
// records that complete while another is being written go to the file
// together in the next write call (group commit): Append still returns only
// once its record is written. Memory does not grow with the capture:
// nothing is kept after Append.
//
// On a clean exit Finalize streams the journal into a HAR or SAZ file
// through the har and saz writers and removes the journal. After a crash,
// Open reads every complete record back; a record torn by the crash (the
// last one, at most) is reported and left out.
//
// File format: the line "idtrace-journal 1\n", then records. Each record is
// a header line "K LEN CRC\n" (K: 'F' a flow, 'M' the trace metadata, 'P' a
// page; LEN the byte length of the JSON payload in decimal; CRC its IEEE
// CRC-32 in hex) followed by the JSON payload and "\n".
package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// Magic is the first line of every journal.
const Magic = "idtrace-journal 1\n"

// Ext is the extension added to the output's name to name its journal.
const Ext = ".idtrace-journal"

// Default batch bounds for fsync.
const (
	SyncEvery    = 64
	SyncInterval = 500 * time.Millisecond
)

// Stats are the running totals of a journal.
type Stats struct {
	Flows  int   // flows appended
	Errors int   // flows that ended with an error or an HTTP status >= 400
	Bytes  int64 // request and response body bytes of the appended flows
}

// Journal appends flows to a file. Its methods may be called from any goroutine.
type Journal struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	unsynced int
	lastSync time.Time
	stats    Stats
	err      error
	closed   bool
	stop     chan struct{}
	done     chan struct{}
	kick     chan struct{} // asks syncLoop for an fsync now

	// Group commit: records appended while another goroutine is in its
	// write call gather in pend (batch number batch) and go to the file in
	// one write; flushed is the number of batches written.
	cond           *sync.Cond
	writing        bool
	pend, spare    []byte
	batch, flushed uint64
}

// recBufs holds the buffers flow records are encoded into.
var recBufs = sync.Pool{New: func() any { return new([]byte) }}

// JournalPath is the journal written beside out.
func JournalPath(out string) string { return out + Ext }

// Create starts a new journal at path (it must not exist) and records meta.
// A background goroutine fsyncs pending records every SyncInterval.
func Create(path string, meta *trace.Meta) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	j := &Journal{f: f, path: path, lastSync: time.Now(), stop: make(chan struct{}), done: make(chan struct{}), kick: make(chan struct{}, 1)}
	j.cond = sync.NewCond(&j.mu)
	if _, err := f.WriteString(Magic); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("record: %s: %w", path, err)
	}
	if meta != nil {
		if err := j.write('M', meta); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("record: %s: %w", path, err)
	}
	go j.syncLoop()
	return j, nil
}

// Path is the journal's file name.
func (j *Journal) Path() string { return j.path }

func (j *Journal) syncLoop() {
	defer close(j.done)
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
		case <-j.kick:
		}
		j.mu.Lock()
		due := j.unsynced > 0 && j.err == nil && !j.closed
		if due {
			j.unsynced = 0
			j.lastSync = time.Now()
		}
		j.mu.Unlock()
		if due {
			// Outside the lock: appends go on while the disk works (an
			// fsync and a write on the same file may run at once).
			if err := j.f.Sync(); err != nil {
				j.mu.Lock()
				if j.err == nil && !j.closed {
					j.err = fmt.Errorf("record: sync %s: %w", j.path, err)
				}
				j.mu.Unlock()
			}
		}
	}
}

func (j *Journal) syncLocked() {
	if err := j.f.Sync(); err != nil && j.err == nil {
		j.err = fmt.Errorf("record: sync %s: %w", j.path, err)
	}
	j.unsynced = 0
	j.lastSync = time.Now()
}

// encode returns the record of kind for v: its header line, the JSON
// payload and a newline.
func encode(dst []byte, kind byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("record: encode: %w", err)
	}
	dst = appendHeader(dst[:0], kind, payload)
	dst = append(dst, payload...)
	return append(dst, '\n'), nil
}

// appendHeader appends the header line of a record holding payload.
func appendHeader(dst []byte, kind byte, payload []byte) []byte {
	dst = append(dst, kind, ' ')
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ' ')
	crc := crc32.ChecksumIEEE(payload)
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[crc>>uint(shift)&0xf])
	}
	return append(dst, '\n')
}

// headerRoom is more than the longest record header line.
const headerRoom = 32

// encodeFlow encodes the record of f into buf (appendFlow, not reflection)
// and returns buf, to reuse, and the record within it.
func encodeFlow(buf []byte, f *trace.Flow) (all, rec []byte, err error) {
	buf = append(buf[:0], make([]byte, headerRoom)...)
	if buf, err = appendFlow(buf, f); err != nil {
		return buf, nil, fmt.Errorf("record: encode: %w", err)
	}
	var h [headerRoom]byte
	hdr := appendHeader(h[:0], 'F', buf[headerRoom:])
	start := headerRoom - len(hdr)
	copy(buf[start:], hdr)
	buf = append(buf, '\n')
	return buf, buf[start:], nil
}

// write appends one record with a single write call before the journal
// is shared (Create).
func (j *Journal) write(kind byte, v any) error {
	rec, err := encode(nil, kind, v)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(rec); err != nil {
		return fmt.Errorf("record: write %s: %w", j.path, err)
	}
	return nil
}

// commit writes rec to the file before it returns; j.mu must be held (it
// is released while writing). When no other goroutine is writing, rec is
// written at once; otherwise it joins the records waiting for the current
// write to end, and one of their goroutines writes them all in one call.
func (j *Journal) commit(rec []byte) error {
	if !j.writing && len(j.pend) == 0 {
		j.writing = true
		j.mu.Unlock()
		_, err := j.f.Write(rec)
		j.mu.Lock()
		j.writing = false
		j.cond.Broadcast()
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("record: write %s: %w", j.path, err)
		}
		return j.err
	}
	j.pend = append(j.pend, rec...)
	mine := j.batch
	for j.flushed <= mine && j.err == nil {
		if j.writing {
			j.cond.Wait()
			continue
		}
		buf, id := j.pend, j.batch
		j.pend, j.spare = j.spare[:0], nil
		j.batch++
		j.writing = true
		j.mu.Unlock()
		_, err := j.f.Write(buf)
		j.mu.Lock()
		j.writing = false
		if cap(buf) <= 1<<20 {
			j.spare = buf[:0]
		}
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("record: write %s: %w", j.path, err)
		}
		j.flushed = id + 1
		j.cond.Broadcast()
	}
	return j.err
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("record: journal closed")

// Append writes f to the journal before it returns. The journal does not
// keep f.
func (j *Journal) Append(f *trace.Flow) error {
	bp := recBufs.Get().(*[]byte)
	all, rec, encErr := encodeFlow(*bp, f)
	defer func() {
		if cap(all) <= 1<<20 { // do not keep one huge body's buffer
			*bp = all[:0]
			recBufs.Put(bp)
		}
	}()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if j.err != nil {
		return j.err
	}
	if encErr != nil {
		j.err = encErr
		return encErr
	}
	if err := j.commit(rec); err != nil {
		return err
	}
	j.stats.Flows++
	if f.Error != "" || (f.Response != nil && f.Response.Status >= 400) {
		j.stats.Errors++
	}
	if f.Request != nil {
		j.stats.Bytes += int64(len(f.Request.Body))
	}
	if f.Response != nil {
		j.stats.Bytes += int64(len(f.Response.Body))
	}
	j.unsynced++
	if j.unsynced >= SyncEvery {
		select {
		case j.kick <- struct{}{}:
		default: // an fsync is already asked for
		}
	}
	return nil
}

// AddPage records a page (HAR pages: the documents a browser loaded).
func (j *Journal) AddPage(p trace.Page) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if j.err != nil {
		return j.err
	}
	rec, err := encode(nil, 'P', p)
	if err != nil {
		j.err = err
		return err
	}
	return j.commit(rec)
}

// Stats returns the running totals.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.stats
}

// Close fsyncs and closes the journal file. It is safe to call twice.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.err
	}
	j.closed = true
	for j.writing || (len(j.pend) > 0 && j.err == nil) {
		j.cond.Wait() // appends already accepted reach the file first
	}
	close(j.stop)
	if j.err == nil {
		j.syncLocked()
	}
	if err := j.f.Close(); err != nil && j.err == nil {
		j.err = fmt.Errorf("record: close %s: %w", j.path, err)
	}
	err := j.err
	j.mu.Unlock()
	<-j.done
	return err
}
