package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// The stored form of a flow: a compact binary encoding of every field of
// trace.Flow, written and read in one fixed order (no field names, bodies
// as raw bytes rather than base64), compressed with s2 by the caller.
// Lengths are uvarints; a slice or byte string is stored as its length
// plus one, 0 meaning nil, so that nil and empty survive the round trip as
// they do in JSON. TestCodecRoundTrip fills every field of a Flow by
// reflection and compares the JSON of the flow before and after: a field
// added to trace.Flow and not written here fails it.
//
// codecVersion is the first byte; it changes with the layout (and with it
// SchemaVersion).
const codecVersion = 1

type enc struct{ b []byte }

func (e *enc) uint(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) float(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *enc) str(s string) { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(b []byte) {
	if b == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(b)) + 1)
	e.b = append(e.b, b...)
}

// count writes the length of a slice (plus one; 0 for nil) and reports
// whether elements follow.
func (e *enc) count(n int, isNil bool) bool {
	if isNil {
		e.uint(0)
		return false
	}
	e.uint(uint64(n) + 1)
	return n > 0
}

func (e *enc) optBool(p *bool) {
	switch {
	case p == nil:
		e.b = append(e.b, 0)
	case *p:
		e.b = append(e.b, 2)
	default:
		e.b = append(e.b, 1)
	}
}

func (e *enc) time(t time.Time) {
	b, err := t.AppendBinary(nil)
	if err != nil { // a zone offset not in whole minutes: keep the instant in UTC
		b, _ = t.UTC().AppendBinary(nil)
	}
	e.bytes(b)
}

func (e *enc) ext(x trace.Extensions) {
	if e.count(len(x), x == nil) {
		for _, v := range x {
			e.str(v.Name)
			e.bytes(v.JSON)
		}
	}
}

func (e *enc) headers(h trace.Headers) {
	if e.count(len(h), h == nil) {
		for _, v := range h {
			e.str(v.Name)
			e.str(v.Value)
		}
	}
}

func (e *enc) cookies(cs []trace.Cookie) {
	if e.count(len(cs), cs == nil) {
		for _, c := range cs {
			e.str(c.Name)
			e.str(c.Value)
			e.str(c.Path)
			e.str(c.Domain)
			e.str(c.Expires)
			e.optBool(c.HTTPOnly)
			e.optBool(c.Secure)
			e.str(c.SameSite)
			e.str(c.Comment)
			e.ext(c.Extra)
		}
	}
}

// appendFlow appends the binary form of f to b.
func appendFlow(b []byte, f *trace.Flow) []byte {
	e := &enc{b: append(b, codecVersion)}
	e.int(int64(f.ID))
	e.int(int64(f.Session))
	e.str(f.PageRef)
	e.time(f.Started)
	e.float(f.Time)
	if q := f.Request; q == nil {
		e.bool(false)
	} else {
		e.bool(true)
		e.str(q.Method)
		e.str(q.URL)
		e.str(q.Proto)
		e.headers(q.Headers)
		e.cookies(q.Cookies)
		e.bytes(q.Body)
		e.str(q.MimeType)
		e.bool(q.HasBody)
		if e.count(len(q.Params), q.Params == nil) {
			for _, p := range q.Params {
				e.str(p.Name)
				e.str(p.Value)
				e.str(p.FileName)
				e.str(p.ContentType)
				e.str(p.Comment)
			}
		}
		e.int(q.HeadersSize)
		e.int(q.BodySize)
		e.str(q.Comment)
		e.ext(q.Extra)
		e.ext(q.PostDataExtra)
	}
	if s := f.Response; s == nil {
		e.bool(false)
	} else {
		e.bool(true)
		e.int(int64(s.Status))
		e.str(s.Reason)
		e.str(s.Proto)
		e.headers(s.Headers)
		e.cookies(s.Cookies)
		e.bytes(s.Body)
		e.str(s.Encoding)
		e.bytes(s.Wire)
		e.str(s.MimeType)
		e.bool(s.BodyOmitted)
		e.int(s.Size)
		e.int(s.Compression)
		e.str(s.RedirectURL)
		e.int(s.HeadersSize)
		e.int(s.BodySize)
		e.str(s.Comment)
		e.ext(s.Extra)
		e.ext(s.ContentExtra)
	}
	e.str(f.Error)
	t := f.Timings
	for _, v := range []float64{t.Blocked, t.DNS, t.Connect, t.SSL, t.Send, t.Wait, t.Receive} {
		e.float(v)
	}
	e.str(t.Comment)
	e.ext(t.Extra)
	e.str(f.ServerAddr)
	e.str(f.ClientAddr)
	e.str(f.Connection)
	e.str(f.Process)
	e.str(f.Comment)
	if e.count(len(f.WebSocket), f.WebSocket == nil) {
		for _, m := range f.WebSocket {
			e.str(m.Type)
			e.float(m.Time)
			e.int(int64(m.Opcode))
			e.str(m.Data)
			e.ext(m.Extra)
		}
	}
	if e.count(len(f.Flags), f.Flags == nil) {
		for _, fl := range f.Flags {
			e.str(fl.Name)
			e.str(fl.Value)
		}
	}
	e.bytes(f.Cache)
	e.ext(f.Extra)
	return e.b
}

var errShort = errors.New("stored flow is truncated")

type dec struct {
	b   []byte
	err error
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) float() float64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *dec) bool() bool {
	if d.err != nil || len(d.b) < 1 {
		d.err = errShort
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

func (d *dec) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string { return string(d.take(d.uint())) }

func (d *dec) bytes() []byte {
	n := d.uint()
	if n == 0 || d.err != nil {
		return nil
	}
	return append([]byte{}, d.take(n-1)...)
}

// count reads a slice length: -1 for nil. It refuses a count larger than
// the bytes left (every element takes at least one byte).
func (d *dec) count() int {
	n := d.uint()
	if n == 0 || d.err != nil {
		return -1
	}
	if n-1 > uint64(len(d.b)) {
		d.err = errShort
		return -1
	}
	return int(n - 1)
}

func (d *dec) optBool() *bool {
	if d.err != nil || len(d.b) < 1 {
		d.err = errShort
		return nil
	}
	c := d.b[0]
	d.b = d.b[1:]
	if c == 0 {
		return nil
	}
	v := c == 2
	return &v
}

func (d *dec) time() time.Time {
	b := d.bytes()
	var t time.Time
	if d.err == nil {
		if err := t.UnmarshalBinary(b); err != nil {
			d.err = err
		} else if y := t.Year(); y < 0 || y > 9999 {
			// no trace holds such a time (HAR, SAZ and the capture write
			// four-digit years), and JSON, which the viewer serves flows
			// in, cannot carry it: the index entry is damaged
			d.err = fmt.Errorf("a time in year %d", y)
		}
	}
	return t
}

func (d *dec) ext() trace.Extensions {
	n := d.count()
	if n < 0 {
		return nil
	}
	x := make(trace.Extensions, n)
	for i := range x {
		x[i] = trace.Extension{Name: d.str(), JSON: d.bytes()}
	}
	return x
}

func (d *dec) headers() trace.Headers {
	n := d.count()
	if n < 0 {
		return nil
	}
	h := make(trace.Headers, n)
	for i := range h {
		h[i] = trace.Header{Name: d.str(), Value: d.str()}
	}
	return h
}

func (d *dec) cookies() []trace.Cookie {
	n := d.count()
	if n < 0 {
		return nil
	}
	cs := make([]trace.Cookie, n)
	for i := range cs {
		c := &cs[i]
		c.Name, c.Value, c.Path, c.Domain, c.Expires = d.str(), d.str(), d.str(), d.str(), d.str()
		c.HTTPOnly, c.Secure = d.optBool(), d.optBool()
		c.SameSite, c.Comment = d.str(), d.str()
		c.Extra = d.ext()
	}
	return cs
}

// readFlow decodes what appendFlow wrote.
func readFlow(b []byte) (*trace.Flow, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, fmt.Errorf("stored flow: unknown encoding")
	}
	d := &dec{b: b[1:]}
	f := &trace.Flow{}
	f.ID, f.Session = int(d.int()), int(d.int())
	f.PageRef = d.str()
	f.Started = d.time()
	f.Time = d.float()
	if d.bool() {
		q := &trace.Request{}
		q.Method, q.URL, q.Proto = d.str(), d.str(), d.str()
		q.Headers, q.Cookies = d.headers(), d.cookies()
		q.Body = d.bytes()
		q.MimeType = d.str()
		q.HasBody = d.bool()
		if n := d.count(); n >= 0 {
			q.Params = make([]trace.Param, n)
			for i := range q.Params {
				q.Params[i] = trace.Param{Name: d.str(), Value: d.str(), FileName: d.str(), ContentType: d.str(), Comment: d.str()}
			}
		}
		q.HeadersSize, q.BodySize = d.int(), d.int()
		q.Comment = d.str()
		q.Extra, q.PostDataExtra = d.ext(), d.ext()
		f.Request = q
	}
	if d.bool() {
		s := &trace.Response{}
		s.Status = int(d.int())
		s.Reason, s.Proto = d.str(), d.str()
		s.Headers, s.Cookies = d.headers(), d.cookies()
		s.Body = d.bytes()
		s.Encoding = d.str()
		s.Wire = d.bytes()
		s.MimeType = d.str()
		s.BodyOmitted = d.bool()
		s.Size, s.Compression = d.int(), d.int()
		s.RedirectURL = d.str()
		s.HeadersSize, s.BodySize = d.int(), d.int()
		s.Comment = d.str()
		s.Extra, s.ContentExtra = d.ext(), d.ext()
		f.Response = s
	}
	f.Error = d.str()
	t := &f.Timings
	for _, p := range []*float64{&t.Blocked, &t.DNS, &t.Connect, &t.SSL, &t.Send, &t.Wait, &t.Receive} {
		*p = d.float()
	}
	t.Comment = d.str()
	t.Extra = d.ext()
	f.ServerAddr, f.ClientAddr, f.Connection, f.Process, f.Comment = d.str(), d.str(), d.str(), d.str(), d.str()
	if n := d.count(); n >= 0 {
		f.WebSocket = make([]trace.WSMessage, n)
		for i := range f.WebSocket {
			m := &f.WebSocket[i]
			m.Type, m.Time, m.Opcode, m.Data = d.str(), d.float(), int(d.int()), d.str()
			m.Extra = d.ext()
		}
	}
	if n := d.count(); n >= 0 {
		f.Flags = make([]trace.Flag, n)
		for i := range f.Flags {
			f.Flags[i] = trace.Flag{Name: d.str(), Value: d.str()}
		}
	}
	f.Cache = d.bytes()
	f.Extra = d.ext()
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("stored flow: %d bytes left over", len(d.b))
	}
	return f, nil
}
