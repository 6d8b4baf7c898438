package har

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/trace"
)

// Reader streams the flows of a HAR file, decoding one entry at a time. It
// implements trace.Source. A Reader is single-use and not safe for
// concurrent use; its flows belong to the caller.
type Reader struct {
	// Limits bounds sizes and nesting; set it before the first Meta or
	// Flows call. Zero fields mean DefaultLimits.
	Limits Limits

	r     io.Reader
	name  string
	p     *parser
	meta  trace.Meta
	st    state
	err   error
	next  int // index of the next entry
	count bool

	sawLog, sawEntries bool
}

var _ trace.Source = (*Reader)(nil)

type state int

const (
	stStart   state = iota
	stTop           // reading the top-level object's members
	stLog           // reading the log object's members
	stEntries       // inside log.entries
	stDone
)

// NewReader returns a Reader of the HAR document r; name labels errors
// (usually the file name).
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{r: r, name: name, meta: trace.Meta{Format: "har"}}
}

// Meta returns the trace metadata. Called before Flows, it reads the file
// up to the first entry, so everything stored before the entries (usually
// version, creator, browser, pages) is filled in; the rest is complete once
// Flows has been consumed. A read error is kept and reported by Flows.
func (r *Reader) Meta() *trace.Meta {
	if r.st == stStart || (r.st != stEntries && r.st != stDone && r.err == nil) {
		_, _ = r.step(true)
	}
	return &r.meta
}

// Flows yields each entry as a flow, in file order, IDs from 1. After an
// error (always a *trace.InputError for bad input) it stops.
func (r *Reader) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		for {
			f, err := r.step(false)
			if err != nil {
				yield(nil, err)
				return
			}
			if f == nil {
				return
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// Count returns the number of entries in the HAR document r without decoding
// them. It checks the JSON syntax of the whole file, the HAR structure down
// to each entry being an object, and the size and depth limits, returning a
// *trace.InputError like the Reader's; it does not check the entries' fields.
// Memory stays bounded by the largest single JSON token.
func Count(r io.Reader, name string) (int, error) {
	rd := NewReader(r, name)
	rd.count = true
	for {
		_, err := rd.step(false)
		if err != nil {
			return 0, err
		}
		if rd.st == stDone {
			return rd.next, nil
		}
	}
}

// step advances the state machine. It returns the next flow, or nil at the
// end. With prime it stops on reaching the entries (or the end) instead.
// In count mode each entry is skipped and step returns after each one.
func (r *Reader) step(prime bool) (*trace.Flow, error) {
	if r.err != nil {
		return nil, r.err
	}
	f, err := r.advance(prime)
	if err != nil {
		r.err = err
		r.st = stDone
	}
	return f, err
}

func (r *Reader) advance(prime bool) (*trace.Flow, error) {
	for {
		switch r.st {
		case stStart:
			r.p = newParser(r.r, r.name, r.Limits)
			r.Limits = r.p.lim
			k := r.p.d.PeekKind()
			if k != '{' {
				if k == 0 {
					_, err := r.p.d.ReadToken()
					if err == io.EOF {
						return nil, r.p.fail("", fmt.Errorf("%w: empty input", ErrNotHAR))
					}
					return nil, r.p.fail("", err)
				}
				return nil, r.p.fail("", fmt.Errorf("%w: the top-level value is %s, not an object", ErrNotHAR, kindName(k)))
			}
			if _, err := r.p.d.ReadToken(); err != nil {
				return nil, r.p.fail("", err)
			}
			r.st = stTop
		case stTop:
			if r.p.d.PeekKind() == '}' {
				if _, err := r.p.d.ReadToken(); err != nil {
					return nil, r.p.fail("", err)
				}
				if !r.sawLog {
					return nil, r.p.fail("log", fmt.Errorf("%w: no \"log\" object", ErrNotHAR))
				}
				// Only whitespace may follow.
				if _, err := r.p.d.ReadToken(); err != io.EOF {
					if err == nil {
						return nil, r.p.fail("", errors.New("data after the end of the HAR document"))
					}
					ie := r.p.fail("", err).(*trace.InputError)
					ie.Err = fmt.Errorf("data after the end of the HAR document: %w", ie.Err)
					return nil, ie
				}
				r.st = stDone
				return nil, nil
			}
			t, err := r.p.d.ReadToken()
			if err != nil {
				return nil, r.p.fail("", err)
			}
			r.p.budget()
			if name := t.String(); name != "log" {
				if err := r.p.skip(name); err != nil {
					return nil, err
				}
				continue
			}
			if r.sawLog {
				return nil, r.p.fail("log", errors.New("duplicate \"log\" member"))
			}
			r.sawLog = true
			if k := r.p.d.PeekKind(); k != '{' {
				return nil, r.p.wrongKind("log", "an object", k)
			}
			if _, err := r.p.d.ReadToken(); err != nil {
				return nil, r.p.fail("log", err)
			}
			r.st = stLog
		case stLog:
			if r.p.d.PeekKind() == '}' {
				if _, err := r.p.d.ReadToken(); err != nil {
					return nil, r.p.fail("log", err)
				}
				r.st = stTop
				continue
			}
			t, err := r.p.d.ReadToken()
			if err != nil {
				return nil, r.p.fail("log", err)
			}
			r.p.budget()
			name := t.String()
			if name == "entries" {
				if r.sawEntries {
					return nil, r.p.fail("log.entries", errors.New("duplicate \"entries\" member"))
				}
				r.sawEntries = true
				if k := r.p.d.PeekKind(); k != '[' {
					return nil, r.p.wrongKind("log.entries", "an array", k)
				}
				if _, err := r.p.d.ReadToken(); err != nil {
					return nil, r.p.fail("log.entries", err)
				}
				r.st = stEntries
				if prime {
					return nil, nil
				}
				continue
			}
			if r.count {
				if err := r.p.skip("log." + name); err != nil {
					return nil, err
				}
				continue
			}
			if err := r.logMember(name); err != nil {
				return nil, err
			}
		case stEntries:
			if prime {
				return nil, nil
			}
			if r.p.d.PeekKind() == ']' {
				if _, err := r.p.d.ReadToken(); err != nil {
					return nil, r.p.fail("log.entries", err)
				}
				r.st = stLog
				continue
			}
			r.p.budget()
			r.p.entry = r.next
			k := r.p.d.PeekKind()
			if k != '{' {
				return nil, r.p.wrongKind("", "an object", k)
			}
			if r.count {
				if err := r.p.skip(""); err != nil {
					return nil, err
				}
				r.next++
				r.p.entry = -1
				return nil, nil
			}
			f, err := r.entry()
			if err != nil {
				return nil, err
			}
			r.next++
			r.p.entry = -1
			return f, nil
		case stDone:
			return nil, nil
		}
	}
}

// logMember decodes one member of the log object other than entries.
func (r *Reader) logMember(name string) error {
	p, m := r.p, &r.meta
	var err error
	switch name {
	case "version":
		m.Version, err = p.str("log.version")
	case "creator":
		m.Creator, err = r.software("log.creator")
	case "browser":
		if p.d.PeekKind() == 'n' {
			return p.skip("log.browser")
		}
		var b trace.Software
		b, err = r.software("log.browser")
		m.Browser = &b
	case "pages":
		err = p.array("log.pages", func(i int) error {
			pg, err := r.page(fmt.Sprintf("log.pages[%d]", i))
			if err == nil {
				m.Pages = append(m.Pages, pg)
			}
			return err
		})
	case "comment":
		m.Comment, err = p.str("log.comment")
	default:
		var v []byte
		v, err = p.raw("log." + name)
		m.Extra = append(m.Extra, trace.Extension{Name: name, JSON: v})
	}
	return err
}

func (r *Reader) software(field string) (trace.Software, error) {
	var s trace.Software
	p := r.p
	err := p.object(field, func(k string) error {
		var err error
		switch k {
		case "name":
			s.Name, err = p.str(field + ".name")
		case "version":
			s.Version, err = p.str(field + ".version")
		case "comment":
			s.Comment, err = p.str(field + ".comment")
		default:
			s.Extra, err = r.ext(s.Extra, field, k)
		}
		return err
	})
	return s, err
}

func (r *Reader) ext(x trace.Extensions, field, name string) (trace.Extensions, error) {
	path := name
	if field != "" {
		path = field + "." + name
	}
	v, err := r.p.raw(path)
	if err != nil {
		return x, err
	}
	return append(x, trace.Extension{Name: name, JSON: v}), nil
}

func (r *Reader) page(field string) (trace.Page, error) {
	pg := trace.Page{OnContentLoad: trace.NA, OnLoad: trace.NA}
	p := r.p
	err := p.object(field, func(k string) error {
		var err error
		switch k {
		case "id":
			pg.ID, err = p.str(field + ".id")
		case "title":
			pg.Title, err = p.str(field + ".title")
		case "startedDateTime":
			var s string
			s, err = p.str(field + ".startedDateTime")
			var ok bool
			pg.Started, ok = parseTime(s)
			if !ok && err == nil {
				pg.Extra = append(pg.Extra, trace.Extension{Name: rawDateKey, JSON: quote(s)})
			}
		case "pageTimings":
			err = p.object(field+".pageTimings", func(k string) error {
				var err error
				switch k {
				case "onContentLoad":
					pg.OnContentLoad, err = p.num(field+".pageTimings.onContentLoad", trace.NA)
				case "onLoad":
					pg.OnLoad, err = p.num(field+".pageTimings.onLoad", trace.NA)
				default:
					err = p.skip(field + ".pageTimings." + k)
				}
				return err
			})
		case "comment":
			pg.Comment, err = p.str(field + ".comment")
		default:
			pg.Extra, err = r.ext(pg.Extra, field, k)
		}
		return err
	})
	return pg, err
}

// timeLayouts are the startedDateTime forms seen in the wild, tried in order.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	time.RFC1123Z,
	time.RFC1123,
}

// rawDateKey keeps a startedDateTime that parseTime cannot read, as a
// vendor field of the entry or page (Started is then zero).
const rawDateKey = "_idtraceStartedDateTime"

// parseTime parses a HAR date leniently, keeping its zone offset; an
// unparsable date gives the zero time.
// ok is false only for a non-empty date it cannot read.
func parseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// entry decodes one entry object; the decoder is at its '{'.
func (r *Reader) entry() (*trace.Flow, error) {
	p := r.p
	f := &trace.Flow{ID: r.next + 1, Time: trace.NA, Timings: trace.NoTimings()}
	var ws []byte
	var own []byte
	err := p.object("", func(k string) error {
		var err error
		switch k {
		case "pageref":
			f.PageRef, err = p.str(k)
		case "startedDateTime":
			var s string
			s, err = p.str(k)
			var ok bool
			f.Started, ok = parseTime(s)
			if !ok && err == nil {
				f.Extra = append(f.Extra, trace.Extension{Name: rawDateKey, JSON: quote(s)})
			}
		case "time":
			f.Time, err = p.num(k, trace.NA)
		case "request":
			f.Request, err = r.request()
		case "response":
			f.Response, err = r.response()
		case "cache":
			if p.d.PeekKind() == 'n' {
				err = p.skip(k)
			} else {
				f.Cache, err = p.raw(k)
			}
		case "timings":
			err = r.timings(&f.Timings)
		case "serverIPAddress":
			f.ServerAddr, err = p.str(k)
		case "connection":
			f.Connection, err = p.str(k)
		case "comment":
			f.Comment, err = p.str(k)
		case "_webSocketMessages":
			ws, err = p.raw(k)
			f.Extra = append(f.Extra, trace.Extension{Name: k, JSON: ws})
		case ownKey:
			own, err = p.raw(k)
			f.Extra = append(f.Extra, trace.Extension{Name: k, JSON: own})
		default:
			f.Extra, err = r.ext(f.Extra, "", k)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if ws != nil {
		if msgs, ok := decodeWS(ws); ok {
			f.WebSocket = msgs
			f.Extra = dropExt(f.Extra, "_webSocketMessages")
		}
	}
	if f.Request == nil {
		f.Request = &trace.Request{HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	}
	if f.Response != nil {
		if e := f.Response.Extra.Get("_error"); e != nil {
			f.Error = jsonString(e)
		}
	}
	if own != nil {
		if decodeOwn(own, f) {
			f.Extra = dropExt(f.Extra, ownKey)
		}
	}
	return f, nil
}

func dropExt(x trace.Extensions, name string) trace.Extensions {
	out := x[:0]
	for _, e := range x {
		if e.Name != name {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// jsonString returns the value of a raw JSON string, or "" if it is not one.
func jsonString(v []byte) string {
	d := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowInvalidUTF8(true))
	t, err := d.ReadToken()
	if err != nil || t.Kind() != '"' {
		return ""
	}
	return t.String()
}

func (r *Reader) headers(field string, max int) (trace.Headers, error) {
	p := r.p
	var hs trace.Headers
	check := func(h trace.Header) error {
		if len(h.Name) > max || len(h.Value) > max {
			return p.fail(field, fmt.Errorf("%w: header %q is over %d bytes", ErrTooLarge, clip(h.Name), max))
		}
		return nil
	}
	if p.d.PeekKind() == '{' {
		v, start, err := p.readWhole(field)
		if err != nil {
			return nil, err
		}
		if !loneHeader(v) {
			// A map of name to value, as a few tools write.
			err := p.within(v, start, func() error {
				return p.object(field, func(k string) error {
					v, err := p.str(field + "." + k)
					if err != nil {
						return err
					}
					h := trace.Header{Name: k, Value: v}
					hs = append(hs, h)
					return check(h)
				})
			})
			return hs, err
		}
		// One {name, value} object alone: parser.array reads it as a list of one.
		err = p.within(v, start, func() error { return r.headerList(field, &hs, check) })
		return hs, err
	}
	err := r.headerList(field, &hs, check)
	return hs, err
}

// headerList reads an array of {name, value} objects or [name, value]
// pairs into hs.
func (r *Reader) headerList(field string, hs *trace.Headers, check func(trace.Header) error) error {
	p := r.p
	return p.array(field, func(i int) error {
		ep := p.elem(field, i)
		f := ep.self
		var h trace.Header
		switch p.d.PeekKind() {
		case '[':
			// [name, value] pairs.
			err := p.array(f, func(j int) error {
				s, err := p.str(f)
				switch j {
				case 0:
					h.Name = s
				case 1:
					h.Value = s
				default:
					return p.fail(f, errors.New("a header pair has more than two elements"))
				}
				return err
			})
			if err != nil {
				return err
			}
		default:
			err := p.object(f, func(k string) error {
				var err error
				switch k {
				case "name":
					h.Name, err = p.str(ep.name)
				case "value":
					h.Value, err = p.str(ep.value)
				default:
					err = p.skip(p.path(field, i, k))
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		*hs = append(*hs, h)
		return check(h)
	})
}

// loneHeader reports whether v, an object, is one header ({"name": ...,
// "value": ...}, as legacy exports write a list of one) rather than a map
// of header names to values.
func loneHeader(v []byte) bool {
	d := jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := d.ReadToken(); err != nil {
		return false
	}
	name := false
	for d.PeekKind() != '}' {
		t, err := d.ReadToken()
		if err != nil {
			return false
		}
		switch k := t.String(); {
		case k == "name":
			name = true
		case k == "value" || k == "comment" || strings.HasPrefix(k, "_"):
		default:
			return false
		}
		if err := d.SkipValue(); err != nil {
			return false
		}
	}
	return name
}

func (r *Reader) cookies(field string) ([]trace.Cookie, error) {
	p := r.p
	var cs []trace.Cookie
	err := p.array(field, func(i int) error {
		ep := p.elem(field, i)
		f := ep.self
		var c trace.Cookie
		err := p.object(f, func(k string) error {
			var err error
			switch k {
			case "name":
				c.Name, err = p.str(ep.name)
			case "value":
				c.Value, err = p.str(ep.value)
			case "path":
				c.Path, err = p.str(p.path(field, i, "path"))
			case "domain":
				c.Domain, err = p.str(p.path(field, i, "domain"))
			case "expires", expiresKey:
				c.Expires, err = p.str(p.path(field, i, k))
			case "httpOnly":
				c.HTTPOnly, err = p.boolp(p.path(field, i, "httpOnly"))
			case "secure":
				c.Secure, err = p.boolp(p.path(field, i, "secure"))
			case "sameSite":
				c.SameSite, err = p.str(p.path(field, i, "sameSite"))
			case "comment":
				c.Comment, err = p.str(p.path(field, i, "comment"))
			default:
				c.Extra, err = r.ext(c.Extra, f, k)
			}
			return err
		})
		cs = append(cs, c)
		return err
	})
	return cs, err
}

func (r *Reader) request() (*trace.Request, error) {
	p := r.p
	q := &trace.Request{HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	err := p.object("request", func(k string) error {
		var err error
		switch k {
		case "method":
			q.Method, err = p.str("request.method")
		case "url":
			q.URL, err = p.str("request.url")
		case "httpVersion":
			q.Proto, err = p.str("request.httpVersion")
		case "headers":
			q.Headers, err = r.headers("request.headers", p.lim.MaxHeaderBytes)
		case "cookies":
			q.Cookies, err = r.cookies("request.cookies")
		case "queryString":
			// Derived from the URL; the writer regenerates it.
			err = p.skip("request.queryString")
		case "postData":
			err = r.postData(q)
		case "headersSize":
			q.HeadersSize, err = p.int("request.headersSize", trace.Unknown)
		case "bodySize":
			q.BodySize, err = p.int("request.bodySize", trace.Unknown)
		case "comment":
			q.Comment, err = p.str("request.comment")
		default:
			q.Extra, err = r.ext(q.Extra, "request", k)
		}
		return err
	})
	return q, err
}

func (r *Reader) postData(q *trace.Request) error {
	p := r.p
	const f = "request.postData"
	if p.d.PeekKind() == 'n' {
		return p.skip(f)
	}
	q.HasBody = true
	var tb textBody
	err := r.textObject(f, &tb, func(k string) error {
		if k != "params" {
			var err error
			q.PostDataExtra, err = r.ext(q.PostDataExtra, f, k)
			return err
		}
		if p.d.PeekKind() == '[' {
			q.Params = []trace.Param{} // an empty list stays a list
		}
		return p.array(f+".params", func(i int) error {
			var pa trace.Param
			g := p.path(f+".params", i, "")
			err := p.object(g, func(k string) error {
				if dst := paramField(&pa, k); dst != nil {
					var err error
					*dst, err = p.str(p.path(f+".params", i, k))
					return err
				}
				return p.skip(p.path(f+".params", i, k))
			})
			q.Params = append(q.Params, pa)
			return err
		})
	})
	if err != nil {
		return err
	}
	q.MimeType = tb.mime
	body, err := tb.decode(p, f, &q.PostDataExtra)
	if err != nil {
		return err
	}
	if tb.hasText {
		q.Body = body
	}
	return nil
}

// paramField is where member k of a postData parameter goes, or nil.
func paramField(pa *trace.Param, k string) *string {
	switch k {
	case "name":
		return &pa.Name
	case "value":
		return &pa.Value
	case "fileName":
		return &pa.FileName
	case "contentType":
		return &pa.ContentType
	case "comment":
		return &pa.Comment
	}
	return nil
}

// textBody is what postData and content share: a MIME type and a text in
// an encoding.
type textBody struct {
	mime, enc string
	text      []byte
	// hasText is false when text is absent or null (the body was not kept).
	hasText bool
}

// textObject reads postData or content (field f): mimeType, text and
// encoding into tb, any other member through other.
func (r *Reader) textObject(f string, tb *textBody, other func(k string) error) error {
	p := r.p
	return p.object(f, func(k string) error {
		var err error
		switch k {
		case "mimeType":
			tb.mime, err = p.str(f + ".mimeType")
		case "text":
			if p.d.PeekKind() == 'n' {
				return p.skip(f + ".text")
			}
			tb.text, err = p.bytes(f + ".text")
			tb.hasText = true
		case "encoding":
			tb.enc, err = p.str(f + ".encoding")
		default:
			err = other(k)
		}
		return err
	})
}

// decode returns the body; an encoding the reader does not know leaves the
// text as it is and is kept in extra as a vendor field.
func (tb *textBody) decode(p *parser, f string, extra *trace.Extensions) ([]byte, error) {
	body, keep, err := decodeText(tb.text, tb.enc)
	if err != nil {
		return nil, p.fail(f+".text", err)
	}
	if keep {
		*extra = append(*extra, trace.Extension{Name: "encoding", JSON: quote(tb.enc)})
	}
	return body, nil
}

// decodeText decodes a HAR text field by its encoding. keep reports an
// encoding the reader does not know, which the caller keeps as a vendor field.
// The body is text itself unless it is base64.
func decodeText(text []byte, enc string) (body []byte, keep bool, err error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "":
		return text, false, nil
	case "base64":
		b, err := decodeBase64(text)
		return b, false, err
	default:
		return text, true, nil
	}
}

func decodeBase64(text []byte) ([]byte, error) {
	b := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	if n, err := base64.StdEncoding.Decode(b, text); err == nil {
		return b[:n], nil
	}
	s := string(text)
	// Lenient: line breaks, missing padding, URL alphabet.
	t := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	t = strings.TrimRight(t, "=")
	if b, err := base64.RawStdEncoding.DecodeString(t); err == nil {
		return b, nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(t); err == nil {
		return b, nil
	}
	_, err := base64.StdEncoding.DecodeString(s)
	return nil, fmt.Errorf("invalid base64 body: %w", err)
}

func quote(s string) []byte {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}

func (r *Reader) response() (*trace.Response, error) {
	p := r.p
	if p.d.PeekKind() == 'n' {
		return nil, p.skip("response")
	}
	s := &trace.Response{HeadersSize: trace.Unknown, BodySize: trace.Unknown, Size: trace.Unknown, BodyOmitted: true}
	err := p.object("response", func(k string) error {
		var err error
		switch k {
		case "status":
			var n int64
			n, err = p.int("response.status", 0)
			s.Status = int(n)
		case "statusText":
			s.Reason, err = p.str("response.statusText")
		case "httpVersion":
			s.Proto, err = p.str("response.httpVersion")
		case "headers":
			s.Headers, err = r.headers("response.headers", p.lim.MaxHeaderBytes)
		case "cookies":
			s.Cookies, err = r.cookies("response.cookies")
		case "content":
			err = r.content(s)
		case "redirectURL":
			s.RedirectURL, err = p.str("response.redirectURL")
		case "headersSize":
			s.HeadersSize, err = p.int("response.headersSize", trace.Unknown)
		case "bodySize":
			s.BodySize, err = p.int("response.bodySize", trace.Unknown)
		case "comment":
			s.Comment, err = p.str("response.comment")
		default:
			s.Extra, err = r.ext(s.Extra, "response", k)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Encoding = contentCoding(s.Headers.Get("Content-Encoding"))
	return s, nil
}

// contentCoding names the last content coding of a Content-Encoding value
// when it is one the model knows.
func contentCoding(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = strings.TrimSpace(v[i+1:])
	}
	switch v {
	case "gzip", "x-gzip":
		return "gzip"
	case "br", "deflate", "zstd":
		return v
	}
	return ""
}

func (r *Reader) content(s *trace.Response) error {
	p := r.p
	const f = "response.content"
	var tb textBody
	err := r.textObject(f, &tb, func(k string) error {
		var err error
		switch k {
		case "size":
			s.Size, err = p.int(f+".size", trace.Unknown)
		case "compression":
			s.Compression, err = p.int(f+".compression", 0)
		default:
			s.ContentExtra, err = r.ext(s.ContentExtra, f, k)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.MimeType = tb.mime
	body, err := tb.decode(p, f, &s.ContentExtra)
	if err != nil {
		return err
	}
	if tb.hasText {
		s.Body = body
		s.BodyOmitted = false
	}
	return nil
}

// timingPaths are the field paths of the timings, built once.
var timingPaths = map[string]string{
	"blocked": "timings.blocked", "dns": "timings.dns", "connect": "timings.connect", "ssl": "timings.ssl",
	"send": "timings.send", "wait": "timings.wait", "receive": "timings.receive",
}

func (r *Reader) timings(t *trace.Timings) error {
	p := r.p
	const f = "timings"
	return p.object(f, func(k string) error {
		var err error
		var v *float64
		switch k {
		case "blocked":
			v = &t.Blocked
		case "dns":
			v = &t.DNS
		case "connect":
			v = &t.Connect
		case "ssl":
			v = &t.SSL
		case "send":
			v = &t.Send
		case "wait":
			v = &t.Wait
		case "receive":
			v = &t.Receive
		case "comment":
			t.Comment, err = p.str(f + ".comment")
			return err
		default:
			t.Extra, err = r.ext(t.Extra, f, k)
			return err
		}
		*v, err = p.num(timingPaths[k], trace.NA)
		return err
	})
}
