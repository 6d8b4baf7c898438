package saz

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/httpmsg"
	"github.com/idtrace/idtrace/internal/trace"
)

// WriterOptions control writing.
type WriterOptions struct {
	// Password, when set, encrypts every file entry with WinZip AES-256
	// (AE-2), one entry at a time like plain archives (see crypt.go).
	Password string
	// Count, when known, is the number of sessions: file numbers are then
	// zero-padded to its width as Fiddler does ("01".."56"). Otherwise they
	// are padded to 4 digits. Fiddler sorts by name, so past the width the
	// order shown by Fiddler may differ (idtrace sorts numerically).
	Count int
	// Modified is the time stamped on the entries (default: now).
	Modified time.Time
}

var _ trace.Sink = (*Writer)(nil)

// maxIndexRows bounds the rows of _index.htm (kept in memory until Close):
// past it, one last row says how many sessions are not listed. _index.htm
// is only a convenience for people browsing the zip; Fiddler and idtrace
// read the sessions from raw/.
const maxIndexRows = 10000

// contentTypes is [Content_Types].xml exactly as Fiddler writes it.
const contentTypes = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\r\n<Default Extension=\"htm\" ContentType=\"text/html\" />\r\n<Default Extension=\"xml\" ContentType=\"application/xml\" />\r\n<Default Extension=\"txt\" ContentType=\"text/plain\" />\r\n</Types>"

// Writer writes a SAZ archive session by session. It implements
// trace.Sink. Only one goroutine may use it.
type Writer struct {
	opts   WriterOptions
	meta   *trace.Meta
	zw     *zipWriter
	buf    bytes.Buffer // the entry being built
	width  int
	n      int
	rows   bytes.Buffer // the rows of _index.htm
	nrows  int
	more   int
	err    error
	closed bool
}

// NewWriter starts a SAZ archive on w. meta may be nil; Close takes the
// final metadata.
func NewWriter(w io.Writer, meta *trace.Meta, opts WriterOptions) *Writer {
	sw := &Writer{opts: opts, meta: meta, width: 4}
	if opts.Count > 0 {
		sw.width = len(strconv.Itoa(opts.Count))
	}
	if sw.opts.Modified.IsZero() {
		sw.opts.Modified = time.Now()
	}
	sw.zw = newZipWriter(w, sw.opts.Modified, sw.width)
	sw.zw.password = opts.Password
	sw.err = sw.zw.add(0, kindDir, nil)
	return sw
}

// entry writes session num's file of the given kind (names are rebuilt
// from the kind and number at Close).
func (w *Writer) entry(num int, kind uint8, fill func(io.Writer) error) error {
	w.buf.Reset()
	if err := fill(&w.buf); err != nil {
		return err
	}
	err := w.zw.add(num, kind, w.buf.Bytes())
	if w.buf.Cap() > 4<<20 {
		w.buf = bytes.Buffer{} // do not keep one huge body's buffer
	}
	return err
}

// WriteFlow writes raw/N_c.txt, raw/N_s.txt (empty without a response, or
// for a response with status 0 and nothing else, HAR's "no response"),
// raw/N_m.xml and, for WebSocket sessions, raw/N_w.txt. The messages are
// strict HTTP/1.1; what they cannot carry is kept in session flags (see
// wire.go). A flow without a request is an error (and stops the writer).
func (w *Writer) WriteFlow(f *trace.Flow) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("saz: WriteFlow after Close")
	}
	w.n++
	num := fmt.Sprintf("%0*d", w.width, w.n)
	sid := f.Session
	if sid <= 0 {
		sid = f.ID
	}
	if sid <= 0 {
		sid = w.n
	}
	req := f.Request
	if req == nil {
		w.err = fmt.Errorf("saz: flow %d has no request", f.ID)
		return w.err
	}
	rq := requestMessage(req)
	extra := rq.flags
	var rs message
	hasResp := false
	if f.Response != nil {
		rs, hasResp = responseMessage(f.Response, req.Method)
		extra = append(extra, rs.flags...)
	}
	if stale := ownFlags(f.Flags); stale {
		c := *f
		c.Flags = nil
		for _, fl := range f.Flags {
			if !isOwnFlag(fl.Name) {
				c.Flags = append(c.Flags, fl)
			}
		}
		f = &c
	}
	w.err = w.entry(w.n, fileC, func(ew io.Writer) error {
		return httpmsg.WriteMessage(ew, rq.start, rq.headers, rq.body)
	})
	if w.err == nil {
		w.err = w.entry(w.n, fileS, func(ew io.Writer) error {
			if !hasResp {
				return nil
			}
			return httpmsg.WriteMessage(ew, rs.start, rs.headers, rs.body)
		})
	}
	if w.err == nil {
		w.err = w.entry(w.n, fileM, func(ew io.Writer) error { return writeMeta(ew, f, sid, extra) })
	}
	if w.err == nil && len(f.WebSocket) > 0 {
		w.err = w.entry(w.n, fileW, func(ew io.Writer) error { return writeWebSocket(ew, f.WebSocket) })
	}
	if w.err != nil {
		return w.err
	}
	if w.nrows < maxIndexRows {
		w.rows.WriteString(indexRow(num, sid, f))
		w.nrows++
	} else {
		w.more++
	}
	return nil
}

// Close writes _index.htm, [Content_Types].xml, the archive comment and the
// zip directory. It does not close the underlying writer.
func (w *Writer) Close(meta *trace.Meta) error {
	if w.closed {
		return errors.New("saz: writer closed twice")
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if meta != nil {
		w.meta = meta
	}
	if err := w.entry(0, kindIndex, w.writeIndex); err != nil {
		return err
	}
	if err := w.entry(0, kindTypes, func(ew io.Writer) error {
		_, err := io.WriteString(ew, contentTypes)
		return err
	}); err != nil {
		return err
	}
	return w.zw.close(archiveComment(w.meta))
}

// archiveComment is the zip comment. Fiddler's form (with the version)
// is kept for archives read from a SAZ; others say who wrote them.
func archiveComment(m *trace.Meta) string {
	if m != nil && m.Format == "saz" && m.Version != "" {
		return "Fiddler (v" + m.Version + ") Session Archive. See https://fiddler2.com"
	}
	return "Fiddler Session Archive written by idtrace. See https://fiddler2.com"
}

func indexRow(num string, sid int, f *trace.Flow) string {
	var status, proto, host, path, body, ctype string
	if f.Request != nil {
		host, path = f.Request.Host(), f.Request.Path()
		proto = "HTTP"
		if strings.HasPrefix(strings.ToLower(f.Request.URL), "https:") {
			proto = "HTTPS"
		}
		if f.Request.Method == "CONNECT" {
			proto, path = "HTTP", "Tunnel to "+f.Request.URL
			host = "Tunnel to"
		}
	}
	if r := f.Response; r != nil {
		status = strconv.Itoa(r.Status)
		body = strconv.Itoa(len(r.Body))
		ctype = r.Headers.Get("Content-Type")
	} else {
		status = "-"
		body = "-1"
	}
	e := html.EscapeString
	return fmt.Sprintf("<tr><td><a href='raw\\%s_c.txt'>C</a>&nbsp;<a href='raw\\%s_s.txt'>S</a>&nbsp;<a href='raw\\%s_m.xml'>M</a></td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td></td><td>%s</td><td>%s</td><td>%s</td><td></td></tr>",
		num, num, num, sid, e(status), proto, e(host), e(path), body, e(ctype), e(f.Process), e(f.Comment))
}

func (w *Writer) writeIndex(ew io.Writer) error {
	var b bytes.Buffer
	b.Write(bom)
	b.WriteString("<html><head><style>body,thead,td,a,p{font-family:verdana,sans-serif;font-size: 10px;}</style></head><body><table cols=12><thead><tr><th>&nbsp;</th><th>#</th><th>Result</th><th>Protocol</th><th>Host</th><th>URL</th><th>Body</th><th>Caching</th><th>Content-Type</th><th>Process</th><th>Comments</th><th>Custom</th></tr></thead><tbody>")
	b.Write(w.rows.Bytes())
	if w.more > 0 {
		fmt.Fprintf(&b, "<tr><td colspan=12>%d more sessions are in raw/ but not listed here.</td></tr>", w.more)
	}
	b.WriteString("</tbody></table></body></html>")
	_, err := ew.Write(b.Bytes())
	return err
}

// isOwnFlag reports whether a flag name is one the Writer sets itself to
// keep what the raw messages cannot carry (see wire.go).
func isOwnFlag(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "x-idtrace-request-") || strings.HasPrefix(n, "x-idtrace-response-")
}

func ownFlags(fl []trace.Flag) bool {
	for _, x := range fl {
		if isOwnFlag(x.Name) {
			return true
		}
	}
	return false
}
