package har

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/trace"
)

// DefaultCreator is written as log.creator when the metadata names none.
// The CLI may set it (for example to its own version) before writing.
var DefaultCreator = trace.Software{Name: "idtrace", Version: "dev"}

// TimeLayout is how dates are usually written: RFC 3339 with milliseconds and the
// flow's own zone offset.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Writer streams flows out as a HAR 1.2 document. It implements trace.Sink.
// Entries are written as they come; pages, the comment and the log's vendor
// fields are written by Close (after "entries": key order is free in JSON),
// so metadata that grows while reading is still right. A Writer is not safe
// for concurrent use.
type Writer struct {
	out       io.Writer
	buf       []byte // output not yet written to out
	depth     int    // open objects and arrays
	empty     bool   // the innermost open object or array has no member yet
	named     bool   // a member name was written; its value comes next
	scratch   []byte // for reformatting raw vendor values
	meta      *trace.Meta
	err       error
	opened    bool // entries array open
	wroteSoft bool // creator and browser written
	closed    bool
	started   bool
}

var _ trace.Sink = (*Writer)(nil)

// NewWriter returns a Writer to w. meta may be nil; when it names a creator,
// the creator and browser are written before the entries, otherwise at Close.
func NewWriter(w io.Writer, meta *trace.Meta) *Writer {
	return &Writer{
		out:  w,
		meta: meta,
	}
}

// The document is written as jsontext.Encoder writes it with
// WithIndent("  "), AllowDuplicateNames and AllowInvalidUTF8, byte for
// byte: two spaces per level, `"name": value`, empty objects and arrays as
// {} and [], a newline after the top-level value, invalid UTF-8 as U+FFFD.
// The writer appends to buf itself (it always knows where it is in the
// document), which costs a fraction of a general encoder's token checks.

// flushAt is how much output buf gathers before it is written out.
const flushAt = 256 << 10

// next starts a value: after a member name nothing, otherwise the comma
// and the new line that separate it from the previous member.
func (w *Writer) next() {
	if w.named {
		w.named = false
		return
	}
	if w.depth == 0 {
		return
	}
	if !w.empty {
		w.buf = append(w.buf, ',')
	}
	w.empty = false
	w.newline(w.depth)
}

func (w *Writer) newline(depth int) {
	if n := 1 + 2*depth; n <= len(newlineIndent) {
		w.buf = append(w.buf, newlineIndent[:n]...)
		return
	}
	w.buf = append(w.buf, '\n')
	for range depth {
		w.buf = append(w.buf, ' ', ' ')
	}
}

// newlineIndent is a new line and the indentation of up to 15 levels.
const newlineIndent = "\n                              "

func (w *Writer) open(c byte) {
	if w.err != nil {
		return
	}
	w.next()
	w.buf = append(w.buf, c)
	w.depth++
	w.empty = true
}

func (w *Writer) close(c byte) {
	if w.err != nil {
		return
	}
	w.depth--
	if !w.empty {
		w.newline(w.depth)
	}
	w.buf = append(w.buf, c)
	w.empty = false
	if w.depth == 0 {
		w.buf = append(w.buf, '\n')
		w.flush()
	}
}

// flush writes out what buf holds.
func (w *Writer) flush() {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.out.Write(w.buf)
	}
	w.buf = w.buf[:0]
}

func (w *Writer) string(v string) {
	if w.err != nil {
		return
	}
	w.next()
	w.buf = appendQuoted(w.buf, v)
}

func (w *Writer) literal(v string) {
	if w.err != nil {
		return
	}
	w.next()
	w.buf = append(w.buf, v...)
}

func (w *Writer) boolean(v bool) {
	if v {
		w.literal("true")
	} else {
		w.literal("false")
	}
}

func (w *Writer) integer(v int64) {
	if w.err != nil {
		return
	}
	w.next()
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

// float writes v as JavaScript would (jsontext's form): integers without a
// fraction, exponents only below 1e-6 and from 1e21 on.
func (w *Writer) float(v float64) {
	if w.err != nil {
		return
	}
	w.next()
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && (v != 0 || !math.Signbit(v)) {
		w.buf = strconv.AppendInt(w.buf, int64(v), 10)
		return
	}
	w.buf = append(w.buf, jsontext.Float(v).String()...)
}

// raw writes a JSON value read from a trace, indented to where it goes.
func (w *Writer) raw(v []byte) error {
	if w.err != nil {
		return nil
	}
	w.scratch = append(w.scratch[:0], v...)
	val := jsontext.Value(w.scratch)
	prefix := strings.Repeat("  ", w.depth)
	if err := val.Indent(jsontext.PreserveRawStrings(false), jsontext.WithIndentPrefix(prefix), jsontext.WithIndent("  ")); err != nil {
		return err
	}
	w.next()
	w.buf = append(w.buf, val...)
	w.scratch = val[:0]
	return nil
}

func (w *Writer) key(k string) {
	if w.err != nil {
		return
	}
	w.next()
	w.buf = appendQuoted(w.buf, k)
	w.buf = append(w.buf, ':', ' ')
	w.named = true
}

// appendQuoted appends s as a JSON string: '"', '\\' and control
// characters escaped (\b \f \n \r \t or \u00xx), invalid UTF-8 as
// U+FFFD, everything else as it is. Eight bytes at a time while none of
// them needs a look.
func appendQuoted(dst []byte, s string) []byte {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	dst = slices.Grow(dst, len(s)+2)
	dst = append(dst, '"')
	run := 0 // start of the bytes not yet appended
	i := 0
	for i < len(s) {
		if i+8 <= len(s) {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			q := x ^ (ones * '"')
			b := x ^ (ones * '\\')
			// A byte below 0x20, a zero byte in q or b, or a high bit. The
			// lowest bit set marks the first byte that needs a look (borrows
			// only run upwards), so the plain bytes before it are skipped.
			m := ((x-ones*0x20)&^x | (q-ones)&^q | (b-ones)&^b | x) & highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, s[run:i]...)
				dst = append(dst, "\ufffd"...)
				run = i + 1
			}
			i += n
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[run:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		run = i
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

func (w *Writer) str(k, v string) {
	w.key(k)
	w.string(v)
}

func (w *Writer) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *Writer) num(k string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = trace.NA
	}
	w.key(k)
	w.float(v)
}

func (w *Writer) int(k string, v int64) {
	w.key(k)
	w.integer(v)
}

func (w *Writer) begin(k string, c byte) {
	if k != "" {
		w.key(k)
	}
	w.open(c)
}

// extras writes vendor fields, skipping names the writer has written itself.
func (w *Writer) extras(x trace.Extensions, skip ...string) {
next:
	for _, e := range x {
		for _, s := range skip {
			if e.Name == s {
				continue next
			}
		}
		if w.err != nil {
			return
		}
		w.key(e.Name)
		if w.err == nil {
			if err := w.raw(e.JSON); err != nil {
				w.err = fmt.Errorf("har: vendor field %q: %w", e.Name, err)
			}
		}
	}
}

func (w *Writer) start() {
	if w.started {
		return
	}
	w.started = true
	w.open('{')
	w.begin("log", '{')
	w.str("version", "1.2")
	if w.meta != nil && w.meta.Creator.Name != "" {
		w.software(w.meta)
	}
}

func (w *Writer) software(m *trace.Meta) {
	w.wroteSoft = true
	c := trace.Software{}
	if m != nil {
		c = m.Creator
	}
	if c.Name == "" {
		c = DefaultCreator
	}
	w.soft("creator", c)
	if m != nil && m.Browser != nil {
		w.soft("browser", *m.Browser)
	}
}

func (w *Writer) soft(k string, s trace.Software) {
	w.begin(k, '{')
	w.str("name", s.Name)
	w.str("version", s.Version)
	w.optStr("comment", s.Comment)
	w.extras(s.Extra, "name", "version", "comment")
	w.close('}')
}

// WriteFlow writes f as the next entry.
func (w *Writer) WriteFlow(f *trace.Flow) error {
	if w.closed {
		return errors.New("har: WriteFlow after Close")
	}
	w.start()
	if !w.opened {
		w.opened = true
		w.begin("entries", '[')
	}
	if w.err != nil {
		return w.err
	}
	w.entry(f)
	if len(w.buf) >= flushAt {
		w.flush()
	}
	if w.err != nil {
		return fmt.Errorf("har: flow %d: %w", f.ID, w.err)
	}
	return nil
}

// Close ends the entries and writes the rest of the log from meta (nil
// means the meta given to NewWriter). It does not close the io.Writer.
func (w *Writer) Close(meta *trace.Meta) error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if meta == nil {
		meta = w.meta
	}
	if meta != nil && w.meta == nil {
		w.meta = meta
	}
	w.start()
	if !w.opened {
		w.opened = true
		w.begin("entries", '[')
	}
	w.close(']')
	if !w.wroteSoft {
		w.software(meta)
	}
	if meta != nil {
		w.begin("pages", '[')
		for _, pg := range meta.Pages {
			w.page(pg)
		}
		w.close(']')
		w.optStr("comment", meta.Comment)
		w.extras(meta.Extra, "version", "creator", "browser", "pages", "entries", "comment")
	}
	w.close('}')
	w.close('}')
	return w.err
}

// date writes t with milliseconds (TimeLayout), or with as many
// fractional digits as it has beyond them (Fiddler writes seven), so a
// date read from a file is written back to the same instant.
func (w *Writer) date(k string, t time.Time) {
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		w.str(k, t.Format(fineTimeLayout))
		return
	}
	w.str(k, t.Format(TimeLayout))
}

const fineTimeLayout = "2006-01-02T15:04:05.999999999Z07:00"

func (w *Writer) page(pg trace.Page) {
	w.open('{')
	w.date("startedDateTime", pg.Started)
	w.str("id", pg.ID)
	w.str("title", pg.Title)
	w.begin("pageTimings", '{')
	w.num("onContentLoad", pg.OnContentLoad)
	w.num("onLoad", pg.OnLoad)
	w.close('}')
	w.optStr("comment", pg.Comment)
	w.extras(pg.Extra, "startedDateTime", "id", "title", "pageTimings", "comment")
	w.close('}')
}

// entryKeys are the entry fields the writer always writes.
var entryKeys = []string{"pageref", "startedDateTime", "time", "request", "response", "cache", "timings",
	"serverIPAddress", "connection", "comment"}

func (w *Writer) entry(f *trace.Flow) {
	own := ownFields{}
	w.open('{')
	w.optStr("pageref", f.PageRef)
	w.date("startedDateTime", f.Started)
	w.num("time", f.Time)
	w.request(f.Request, &own)
	w.response(f, &own)
	w.key("cache")
	if len(f.Cache) > 0 && cacheValid(f.Cache) {
		if err := w.raw(f.Cache); err != nil && w.err == nil {
			w.err = fmt.Errorf("cache: %w", err)
		}
	} else {
		// An invalid cache object goes to _idtrace.cache so that the output
		// stays valid HAR and the reader still gets it back.
		own.cache = f.Cache
		w.open('{')
		w.close('}')
	}
	w.timings(f.Timings)
	if f.ServerAddr != "" {
		if ip, ok := plainIP(f.ServerAddr); ok {
			w.str("serverIPAddress", ip)
			if ip != f.ServerAddr {
				own.serverAddr = f.ServerAddr
			}
		} else {
			own.serverAddr = f.ServerAddr
		}
	}
	w.optStr("connection", f.Connection)
	w.optStr("comment", f.Comment)
	if f.WebSocket != nil {
		w.begin("_webSocketMessages", '[')
		for _, m := range f.WebSocket {
			w.open('{')
			w.str("type", m.Type)
			w.num("time", m.Time)
			w.int("opcode", int64(m.Opcode))
			w.str("data", m.Data)
			w.extras(m.Extra, "type", "time", "opcode", "data")
			w.close('}')
		}
		w.close(']')
	}
	own.session, own.process, own.clientAddr, own.flags = f.Session, f.Process, f.ClientAddr, f.Flags
	if q := f.Request; q != nil {
		own.reqBytes = bytesOf([]string{q.Method, q.URL, q.Proto}, q.Headers)
	}
	if r := f.Response; r != nil {
		own.respBytes = bytesOf([]string{r.Reason, r.Proto}, r.Headers)
	}
	skip := entryKeys
	if f.WebSocket != nil {
		skip = append(skip[:len(skip):len(skip)], "_webSocketMessages")
	}
	if w.own(own) {
		skip = append(skip[:len(skip):len(skip)], ownKey)
	}
	w.extras(f.Extra, skip...)
	w.close('}')
}

// ownFields are the Flow fields HAR has no place for (see ownKey).
type ownFields struct {
	session                              int
	process, clientAddr, serverAddr, url string
	errText                              string
	noResponse, hasURL                   bool
	flags                                []trace.Flag
	cache                                []byte
	// reqBytes and respBytes keep a message's strings byte for byte when
	// one is not UTF-8 (see bytesOf).
	reqBytes, respBytes *msgBytes
}

// msgBytes are the strings of a message's start line and its headers.
type msgBytes struct {
	start   []string
	headers trace.Headers
}

// bytesOf returns the strings of a message when one of them is not valid
// UTF-8, and nil otherwise. HAR strings are UTF-8, so the visible fields
// then carry U+FFFD where the bytes were; _idtrace keeps them in base64
// (an old server's Latin-1 header in a SAZ, say).
func bytesOf(start []string, hs trace.Headers) *msgBytes {
	ok := true
	for _, s := range start {
		ok = ok && utf8.ValidString(s)
	}
	for _, h := range hs {
		ok = ok && utf8.ValidString(h.Name) && utf8.ValidString(h.Value)
	}
	if ok {
		return nil
	}
	return &msgBytes{start: start, headers: hs}
}

// own writes the _idtrace object when there is anything to put in it, and
// reports whether it did.
func (w *Writer) own(o ownFields) bool {
	if o.session == 0 && o.process == "" && o.clientAddr == "" && o.serverAddr == "" && !o.hasURL &&
		o.errText == "" && !o.noResponse && len(o.flags) == 0 && o.cache == nil && o.reqBytes == nil && o.respBytes == nil {
		return false
	}
	w.begin(ownKey, '{')
	if o.session != 0 {
		w.int("session", int64(o.session))
	}
	w.optStr("process", o.process)
	w.optStr("clientAddr", o.clientAddr)
	w.optStr("serverAddr", o.serverAddr)
	if o.hasURL {
		// The request URL as recorded, when "url" had to be made valid.
		w.str("url", o.url)
	}
	if o.noResponse {
		w.key("noResponse")
		w.literal("true")
	}
	w.optStr("error", o.errText)
	if o.cache != nil {
		w.key("cache")
		if err := w.raw(o.cache); err != nil && w.err == nil {
			w.err = fmt.Errorf("cache: %w", err)
		}
	}
	w.msgBytes("requestBytes", o.reqBytes)
	w.msgBytes("responseBytes", o.respBytes)
	if len(o.flags) > 0 {
		w.begin("flags", '[')
		for _, fl := range o.flags {
			w.open('{')
			w.str("name", fl.Name)
			w.str("value", fl.Value)
			w.close('}')
		}
		w.close(']')
	}
	w.close('}')
	return true
}

// plainIP returns addr as a bare IP address (brackets and a port removed)
// and whether it is one.
func plainIP(addr string) (string, bool) {
	s := addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		s = ap.Addr().String()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return "", false
	}
	if s == ip.String() {
		return s, true
	}
	return ip.String(), true
}

func (w *Writer) headers(k string, hs trace.Headers) {
	w.begin(k, '[')
	for _, h := range hs {
		w.open('{')
		w.str("name", h.Name)
		w.str("value", h.Value)
		w.close('}')
	}
	w.close(']')
}

func (w *Writer) cookies(k string, cs []trace.Cookie) {
	w.begin(k, '[')
	for _, c := range cs {
		w.open('{')
		w.str("name", c.Name)
		w.str("value", c.Value)
		w.optStr("path", c.Path)
		w.optStr("domain", c.Domain)
		if c.Expires != "" && !ajvDateTime.MatchString(c.Expires) {
			// har-validator wants a date-time; keep other forms aside.
			w.str(expiresKey, c.Expires)
		} else {
			w.optStr("expires", c.Expires)
		}
		if c.HTTPOnly != nil {
			w.key("httpOnly")
			w.boolean(*c.HTTPOnly)
		}
		if c.Secure != nil {
			w.key("secure")
			w.boolean(*c.Secure)
		}
		w.optStr("sameSite", c.SameSite)
		w.optStr("comment", c.Comment)
		w.extras(c.Extra, "name", "value", "path", "domain", "expires", "httpOnly", "secure", "sameSite", "comment", expiresKey)
		w.close('}')
	}
	w.close(']')
}

// expiresKey holds a cookie's expires value that is not an RFC 3339 date
// (such as "Thu, 01 Jan 2030 00:00:00 GMT"); the reader maps it back.
const expiresKey = "_idtraceExpires"

// ajvDateTime is the "date-time" format check of har-validator (ajv's fast mode).
var ajvDateTime = regexp.MustCompile(`(?i)^\d\d\d\d-[0-1]\d-[0-3]\d[t\s](?:[0-2]\d:[0-5]\d:[0-5]\d|23:59:60)(?:\.\d+)?(?:z|[+-]\d\d(?::?\d\d)?)?$`)

// isText reports whether a body can be written as HAR text as it is.
func isText(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// body writes text (and encoding when base64 is needed); it reports whether
// it wrote an encoding.
func (w *Writer) body(b []byte) bool {
	if isText(b) {
		// The encoder copies the string into its buffer and keeps no
		// reference, so the body is not copied into a string first.
		w.str("text", unsafe.String(unsafe.SliceData(b), len(b)))
		return false
	}
	w.key("text")
	if w.err == nil {
		// Base64 needs no escaping: encoded straight into the output.
		w.next()
		w.buf = append(w.buf, '"')
		w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
		w.buf = append(w.buf, '"')
	}
	w.str("encoding", "base64")
	return true
}

// validURL reports whether u passes the "uri" format of har-validator
// (a scheme, then no white space).
func validURL(u string) bool {
	i := strings.IndexByte(u, ':')
	if i < 1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := u[j]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	for _, r := range u[i+1:] {
		if r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == 0x1680 || r >= 0x2000 && r <= 0x200a ||
			r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000 || r == 0xfeff {
			return false
		}
	}
	return true
}

// fixURL makes u a valid URI for "url": white space is percent-encoded and a
// URL without a scheme gets "about:" (an empty one is "about:blank").
func fixURL(u string) string {
	var b strings.Builder
	for _, r := range u {
		if r <= ' ' || r == 0x7f || r >= 0x80 && !validURL("a:"+string(r)) {
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	if !validURL(s) {
		if s == "" {
			return "about:blank"
		}
		s = "about:" + s
	}
	return s
}

func (w *Writer) request(q *trace.Request, own *ownFields) {
	if q == nil {
		q = &trace.Request{HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	}
	w.begin("request", '{')
	w.str("method", q.Method)
	u := q.URL
	if !validURL(u) {
		own.url, own.hasURL = u, true
		u = fixURL(u)
	}
	w.str("url", u)
	w.str("httpVersion", q.Proto)
	w.cookies("cookies", q.Cookies)
	w.headers("headers", q.Headers)
	w.begin("queryString", '[')
	for _, kv := range queryPairs(q.URL) {
		w.open('{')
		w.str("name", kv[0])
		w.str("value", kv[1])
		w.close('}')
	}
	w.close(']')
	if q.HasBody || len(q.Body) > 0 || len(q.Params) > 0 {
		w.begin("postData", '{')
		w.str("mimeType", q.MimeType)
		wroteEnc := false
		if len(q.Body) > 0 || len(q.Params) == 0 {
			wroteEnc = w.body(q.Body)
		}
		if q.Params != nil {
			w.begin("params", '[')
			for _, pa := range q.Params {
				w.open('{')
				w.str("name", pa.Name)
				w.str("value", pa.Value)
				w.optStr("fileName", pa.FileName)
				w.optStr("contentType", pa.ContentType)
				w.optStr("comment", pa.Comment)
				w.close('}')
			}
			w.close(']')
		}
		skip := []string{"mimeType", "text", "params"}
		if wroteEnc {
			skip = append(skip, "encoding")
		}
		w.extras(q.PostDataExtra, skip...)
		w.close('}')
	}
	w.int("headersSize", q.HeadersSize)
	w.int("bodySize", q.BodySize)
	w.optStr("comment", q.Comment)
	w.extras(q.Extra, "method", "url", "httpVersion", "cookies", "headers", "queryString", "postData",
		"headersSize", "bodySize", "comment")
	w.close('}')
}

// queryPairs splits the query of u into name/value pairs, in order, kept
// percent-encoded as Chrome and Edge write them.
func queryPairs(u string) [][2]string {
	i := strings.IndexByte(u, '?')
	if i < 0 {
		return nil
	}
	q := u[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	if q == "" {
		return nil
	}
	var out [][2]string
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// msgBytes writes m as {"start": [b64...], "headers": [[b64, b64]...]}.
func (w *Writer) msgBytes(k string, m *msgBytes) {
	if m == nil {
		return
	}
	b64 := base64.StdEncoding.EncodeToString
	w.begin(k, '{')
	w.begin("start", '[')
	for _, s := range m.start {
		w.string(b64([]byte(s)))
	}
	w.close(']')
	w.begin("headers", '[')
	for _, h := range m.headers {
		w.open('[')
		w.string(b64([]byte(h.Name)))
		w.string(b64([]byte(h.Value)))
		w.close(']')
	}
	w.close(']')
	w.close('}')
}

func (w *Writer) response(f *trace.Flow, own *ownFields) {
	s := f.Response
	if s == nil {
		own.noResponse = true
		own.errText = f.Error
		s = &trace.Response{HeadersSize: trace.Unknown, BodySize: trace.Unknown, BodyOmitted: true}
	}
	w.begin("response", '{')
	w.int("status", int64(s.Status))
	w.str("statusText", s.Reason)
	w.str("httpVersion", s.Proto)
	w.cookies("cookies", s.Cookies)
	w.headers("headers", s.Headers)
	w.begin("content", '{')
	size := s.Size
	if size == trace.Unknown && !s.BodyOmitted {
		size = int64(len(s.Body))
	}
	w.int("size", size)
	if s.Compression != 0 {
		w.int("compression", s.Compression)
	}
	w.str("mimeType", s.MimeType)
	wroteEnc := false
	if !s.BodyOmitted || len(s.Body) > 0 {
		wroteEnc = w.body(s.Body)
	}
	skip := []string{"size", "compression", "mimeType", "text"}
	if wroteEnc {
		skip = append(skip, "encoding")
	}
	w.extras(s.ContentExtra, skip...)
	w.close('}')
	w.str("redirectURL", s.RedirectURL)
	w.int("headersSize", s.HeadersSize)
	w.int("bodySize", s.BodySize)
	w.optStr("comment", s.Comment)
	if f.Response != nil && f.Error != "" && s.Extra.Get("_error") == nil {
		w.str("_error", f.Error)
	}
	w.extras(s.Extra, "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL",
		"headersSize", "bodySize", "comment")
	w.close('}')
}

func (w *Writer) timings(t trace.Timings) {
	w.begin("timings", '{')
	w.num("blocked", t.Blocked)
	w.num("dns", t.DNS)
	w.num("connect", t.Connect)
	w.num("send", t.Send)
	w.num("wait", t.Wait)
	w.num("receive", t.Receive)
	w.num("ssl", t.SSL)
	w.optStr("comment", t.Comment)
	w.extras(t.Extra, "blocked", "dns", "connect", "send", "wait", "receive", "ssl", "comment")
	w.close('}')
}
