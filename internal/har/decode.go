package har

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/limitio"
	"github.com/idtrace/idtrace/internal/trace"
)

// Limits bounds what a Reader or Count accepts from untrusted input. A zero
// field means the default. Callers may change a Reader's Limits before its
// first Meta or Flows call.
type Limits struct {
	// MaxValueBytes caps the bytes of one entry (and of any other member of
	// the log object, such as pages). Default 512 MiB.
	MaxValueBytes int64
	// MaxHeaderBytes caps one header name or value. Default 1 MiB.
	MaxHeaderBytes int
	// MaxDepth caps JSON nesting, counted from the top of the file
	// (the log object is depth 2, an entry 4). Default 64.
	MaxDepth int
}

// DefaultLimits are the limits used when a Limits field is zero. Only
// program start-up code (the CLI) may change it; a Reader reads it when it
// starts.
var DefaultLimits = Limits{MaxValueBytes: 512 << 20, MaxHeaderBytes: 1 << 20, MaxDepth: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultLimits.MaxValueBytes
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	return l
}

// ErrTooLarge is wrapped by the InputError for a value over a size limit.
var ErrTooLarge = errors.New("value exceeds the size limit")

// ErrTooDeep is wrapped by the InputError for JSON nested deeper than the limit.
var ErrTooDeep = errors.New("JSON nested too deeply")

// ErrNotHAR is wrapped by the InputError for JSON that is not a HAR document.
var ErrNotHAR = errors.New("not a HAR file")

// parser wraps a jsontext.Decoder with lenient typed reads and errors that
// say where they happened.
type parser struct {
	d      *jsontext.Decoder
	cr     *limitio.Reader // stops the decoder buffering past one capped value
	name   string
	bom    int64
	lim    Limits
	entry  int // current entry index, -1 outside entries
	prefix string
	// base is added to the decoder's offsets while d reads a value that
	// was read whole first (see within); 0 otherwise.
	base int64
	// paths caches the field paths of list elements ("request.headers[3].name"),
	// which every header and cookie read would otherwise build anew.
	paths map[pathKey]string
	elems map[string][]elemPath
}

type pathKey struct {
	base string
	i    int
	sub  string
}

// path returns base[i] or, with sub, base[i].sub: the field path of a
// list element, as errors name it.
func (p *parser) path(base string, i int, sub string) string {
	k := pathKey{base, i, sub}
	if s, ok := p.paths[k]; ok {
		return s
	}
	s := base + "[" + strconv.Itoa(i) + "]"
	if sub != "" {
		s += "." + sub
	}
	if i < 64 && len(sub) <= 32 {
		if p.paths == nil || len(p.paths) > 4096 {
			p.paths = make(map[pathKey]string, 256)
		}
		p.paths[k] = s
	}
	return s
}

// elemPath holds the field paths of one list element and of its name and
// value members.
type elemPath struct{ self, name, value string }

// elem returns the paths of element i of list base ("request.headers[3]",
// "request.headers[3].name", ...), cached per list.
func (p *parser) elem(base string, i int) *elemPath {
	l := p.elems[base]
	if i < len(l) {
		return &l[i]
	}
	e := elemPath{self: base + "[" + strconv.Itoa(i) + "]"}
	e.name, e.value = e.self+".name", e.self+".value"
	if i != len(l) || i >= 256 {
		return &e
	}
	if p.elems == nil {
		p.elems = map[string][]elemPath{}
	}
	p.elems[base] = append(l, e)
	return &p.elems[base][i]
}

// memberNames holds the member names of HAR 1.2 and of common vendor
// fields, so that reading one does not allocate a string.
var memberNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`log version creator browser pages entries comment name id title
		startedDateTime pageTimings onContentLoad onLoad pageref time request response cache timings
		serverIPAddress connection method url httpVersion headers cookies queryString postData
		headersSize bodySize value path domain expires httpOnly secure sameSite mimeType params text
		fileName contentType status statusText content redirectURL size compression encoding
		beforeRequest afterRequest lastAccess eTag hitCount blocked dns connect ssl send wait receive
		_initiator _priority _resourceType _transferSize _webSocketMessages _fromCache _error
		_connectionId _securityDetails _serverPort _workerStart _workerReady _workerFetchStart
		_workerRespondWithSettled _blocked_queueing _blocked_proxy _fetchedViaServiceWorker
		_initialPriority _requestId _timestamp _headersSize _bodySize`) {
		m[n] = n
	}
	return m
}()

// memberName reads an object's member name: a known name without
// allocating, any other as Token.String would give it.
func (p *parser) memberName() (string, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return "", err
	}
	in := v[1 : len(v)-1]
	if s, ok := memberNames[string(in)]; ok {
		return s, nil
	}
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), nil
	}
	b, _ := jsontext.AppendUnquote(nil, v) // invalid UTF-8 becomes U+FFFD, as in Token.String
	return string(b), nil
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newParser(r io.Reader, name string, lim Limits) *parser {
	lim = lim.withDefaults()
	br := bufio.NewReaderSize(r, 64<<10)
	p := &parser{name: name, lim: lim, entry: -1}
	if b, err := br.Peek(3); err == nil && string(b) == string(bom) {
		_, _ = br.Discard(3)
		p.bom = 3
	}
	p.cr = &limitio.Reader{R: br, Limit: lim.MaxValueBytes, Err: ErrTooLarge}
	p.d = jsontext.NewDecoder(p.cr, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	return p
}

// budget allows the next value lim.MaxValueBytes from the current position.
func (p *parser) budget() {
	p.cr.Limit = p.d.InputOffset() + p.lim.MaxValueBytes
	if p.cr.Limit < p.cr.N {
		p.cr.Limit = p.cr.N
	}
}

func (p *parser) offset() int64 { return p.base + p.d.InputOffset() + p.bom }

// within runs fn with the decoder reading v, a value already read whole
// from the stream at offset start, so fn can decode it with the usual
// lenient reads; errors keep offsets in the file.
func (p *parser) within(v []byte, start int64, fn func() error) error {
	d, base := p.d, p.base
	p.d = jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	p.base = base + start
	defer func() { p.d, p.base = d, base }()
	return fn()
}

// readWhole reads the next value (an object or array) whole, with its
// start offset, checking its depth against the limit.
func (p *parser) readWhole(field string) ([]byte, int64, error) {
	start := p.valueStart() - p.base
	if start < 0 {
		start = p.d.InputOffset()
	}
	v, err := p.d.ReadValue()
	if err != nil {
		return nil, 0, p.fail(field, err)
	}
	if p.d.StackDepth()+depthOf(v) > p.lim.MaxDepth {
		return nil, 0, p.fail(field, fmt.Errorf("%w (limit %d)", ErrTooDeep, p.lim.MaxDepth))
	}
	return append([]byte(nil), v...), start, nil
}

// fail builds the InputError for err at field.
func (p *parser) fail(field string, err error) error {
	var ie *trace.InputError
	if errors.As(err, &ie) {
		return err
	}
	off := p.offset()
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		off = p.base + se.ByteOffset + p.bom
		if se.Err != nil && errors.Is(err, se.Err) && err == error(se) {
			err = se.Err // drop jsontext's own prefix; the location is ours
		}
	}
	if errors.Is(err, ErrTooLarge) {
		err = fmt.Errorf("%w (%d bytes)", ErrTooLarge, p.lim.MaxValueBytes)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of file (truncated?)")
	}
	if p.prefix != "" {
		if field == "" {
			field = p.prefix
		} else {
			field = p.prefix + "." + field
		}
	}
	return &trace.InputError{File: p.name, Entry: p.entry, Offset: off, Field: field, Err: err}
}

// failAt is fail with the byte offset (in the decoder's stream) given.
func (p *parser) failAt(field string, off int64, err error) error {
	e := p.fail(field, err)
	if ie, ok := e.(*trace.InputError); ok && off >= 0 {
		ie.Offset = off + p.bom
	}
	return e
}

// valueStart returns the stream offset of the next value (after the
// separator and white space that follow the last token), or -1.
func (p *parser) valueStart() int64 {
	b := p.d.UnreadBuffer()
	for i, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', ':', ',':
			continue
		}
		return p.base + p.d.InputOffset() + int64(i)
	}
	return -1
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "nothing"
}

func (p *parser) checkDepth(field string) error {
	if p.d.StackDepth() > p.lim.MaxDepth {
		return p.fail(field, fmt.Errorf("%w (limit %d)", ErrTooDeep, p.lim.MaxDepth))
	}
	return nil
}

// object reads an object, calling fn for each member name; fn must consume
// the value. A null reads as an empty object.
func (p *parser) object(field string, fn func(name string) error) error {
	k := p.d.PeekKind()
	if k == 'n' {
		_, err := p.d.ReadToken()
		return p.wrap(field, err)
	}
	if k != '{' {
		return p.wrongKind(field, "an object", k)
	}
	if _, err := p.d.ReadToken(); err != nil {
		return p.fail(field, err)
	}
	if err := p.checkDepth(field); err != nil {
		return err
	}
	for {
		if p.d.PeekKind() == '}' {
			_, err := p.d.ReadToken()
			return p.wrap(field, err)
		}
		name, err := p.memberName()
		if err != nil {
			return p.fail(field, err)
		}
		if err := fn(name); err != nil {
			return err
		}
	}
}

// array reads an array, calling fn for each element; fn must consume it.
// A null reads as an empty array. An object where the array belongs is
// read as that array's one element, and an empty object as an empty array:
// Internet Explorer 11 and legacy Edge export a list of one cookie, header
// or parameter that way.
func (p *parser) array(field string, fn func(i int) error) error {
	k := p.d.PeekKind()
	if k == 'n' {
		_, err := p.d.ReadToken()
		return p.wrap(field, err)
	}
	if k == '{' {
		v, start, err := p.readWhole(field)
		if err != nil || emptyObject(v) {
			return err
		}
		return p.within(v, start, func() error { return fn(0) })
	}
	if k != '[' {
		return p.wrongKind(field, "an array", k)
	}
	if _, err := p.d.ReadToken(); err != nil {
		return p.fail(field, err)
	}
	if err := p.checkDepth(field); err != nil {
		return err
	}
	for i := 0; ; i++ {
		if p.d.PeekKind() == ']' {
			_, err := p.d.ReadToken()
			return p.wrap(field, err)
		}
		if err := fn(i); err != nil {
			return err
		}
	}
}

func (p *parser) wrap(field string, err error) error {
	if err != nil {
		return p.fail(field, err)
	}
	return nil
}

// wrongKind reports a value of the wrong JSON kind, or the syntax error
// that made PeekKind report nothing.
func (p *parser) wrongKind(field, want string, k jsontext.Kind) error {
	if k == 0 {
		_, err := p.d.ReadToken()
		if err == nil {
			err = errors.New("unexpected end of value")
		}
		return p.fail(field, err)
	}
	return p.failAt(field, p.valueStart(), fmt.Errorf("want %s, found %s", want, kindName(k)))
}

// str reads a string leniently: numbers and booleans give their JSON text,
// null gives "".
func (p *parser) str(field string) (string, error) {
	k := p.d.PeekKind()
	switch k {
	case '"', '0', 't', 'f', 'n':
	default:
		return "", p.wrongKind(field, "a string", k)
	}
	t, err := p.d.ReadToken()
	if err != nil {
		return "", p.fail(field, err)
	}
	if k == 'n' {
		return "", nil
	}
	return t.String(), nil
}

// bytes is str for a large string (a body's text): a JSON string is
// unescaped straight into a new slice, without a string in between.
func (p *parser) bytes(field string) ([]byte, error) {
	if p.d.PeekKind() != '"' {
		s, err := p.str(field)
		return []byte(s), err
	}
	v, err := p.d.ReadValue()
	if err != nil {
		return nil, p.fail(field, err)
	}
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return bytes.Clone(in), nil // verbatim: the common case, one copy
	}
	if b, ok := unquote(make([]byte, 0, len(v)), v); ok {
		return b, nil
	}
	// The decoder has checked the string; the only error left is invalid
	// UTF-8, which is replaced by U+FFFD as str does.
	b, _ := jsontext.AppendUnquote(make([]byte, 0, len(v)), v) // it grows to len(v) first
	return b, nil
}

// unquote appends the value of v, a JSON string the decoder has already
// checked, to dst, copying the runs between escapes whole. It gives up
// (false) on invalid UTF-8 and on escaped UTF-16 surrogates, which
// jsontext.AppendUnquote handles; otherwise its result is the same.
func unquote(dst, v []byte) ([]byte, bool) {
	in := v[1 : len(v)-1]
	if !utf8.Valid(in) {
		return dst, false
	}
	for {
		i := bytes.IndexByte(in, '\\')
		if i < 0 {
			return append(dst, in...), true
		}
		dst = append(dst, in[:i]...)
		if i+1 >= len(in) {
			return dst, false
		}
		c := in[i+1]
		in = in[i+2:]
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if len(in) < 4 {
				return dst, false
			}
			r := rune(0)
			for _, h := range in[:4] {
				switch {
				case '0' <= h && h <= '9':
					h -= '0'
				case 'a' <= h && h <= 'f':
					h -= 'a' - 10
				case 'A' <= h && h <= 'F':
					h -= 'A' - 10
				default:
					return dst, false
				}
				r = r<<4 | rune(h)
			}
			if utf16.IsSurrogate(r) {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			in = in[4:]
		default:
			return dst, false
		}
	}
}

// num reads a number leniently: a numeric string is accepted, null and ""
// give def.
func (p *parser) num(field string, def float64) (float64, error) {
	k := p.d.PeekKind()
	switch k {
	case '"', '0', 'n':
	default:
		return 0, p.wrongKind(field, "a number", k)
	}
	start := p.valueStart()
	t, err := p.d.ReadToken()
	if err != nil {
		return 0, p.fail(field, err)
	}
	switch k {
	case 'n':
		return def, nil
	case '0':
		v, err := t.Float()
		if err != nil {
			return 0, p.fail(field, err)
		}
		return v, nil
	}
	s := strings.TrimSpace(t.String())
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, p.failAt(field, start, fmt.Errorf("want a number, found %q", clip(s)))
	}
	return v, nil
}

// int reads an integer leniently (see num); fractions are truncated.
func (p *parser) int(field string, def int64) (int64, error) {
	v, err := p.num(field, float64(def))
	if err != nil {
		return 0, err
	}
	if v > 1<<62 || v < -(1<<62) {
		return 0, p.fail(field, fmt.Errorf("number %g out of range", v))
	}
	return int64(v), nil
}

// boolp reads a boolean (or "true"/"false"); null gives nil.
func (p *parser) boolp(field string) (*bool, error) {
	k := p.d.PeekKind()
	switch k {
	case 't', 'f', 'n', '"':
	default:
		return nil, p.wrongKind(field, "a boolean", k)
	}
	start := p.valueStart()
	t, err := p.d.ReadToken()
	if err != nil {
		return nil, p.fail(field, err)
	}
	var b bool
	switch k {
	case 'n':
		return nil, nil
	case 't', 'f':
		b = t.Bool()
	default:
		s := t.String()
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			b = true
		case "false":
			b = false
		case "":
			return nil, nil
		default:
			return nil, p.failAt(field, start, fmt.Errorf("want a boolean, found %q", clip(s)))
		}
	}
	return &b, nil
}

// raw reads any value as raw JSON (copied), checking its nesting depth.
func (p *parser) raw(field string) ([]byte, error) {
	v, err := p.d.ReadValue()
	if err != nil {
		return nil, p.fail(field, err)
	}
	if p.d.StackDepth()+depthOf(v) > p.lim.MaxDepth {
		return nil, p.fail(field, fmt.Errorf("%w (limit %d)", ErrTooDeep, p.lim.MaxDepth))
	}
	return v.Clone(), nil
}

// skip skips a value, enforcing the depth limit.
func (p *parser) skip(field string) error {
	k := p.d.PeekKind()
	if k != '{' && k != '[' {
		_, err := p.d.ReadValue()
		return p.wrap(field, err)
	}
	depth := p.d.StackDepth()
	for {
		t, err := p.d.ReadToken()
		if err != nil {
			return p.fail(field, err)
		}
		switch t.Kind() {
		case '{', '[':
			if p.d.StackDepth() > p.lim.MaxDepth {
				return p.fail(field, fmt.Errorf("%w (limit %d)", ErrTooDeep, p.lim.MaxDepth))
			}
		case '}', ']':
			if p.d.StackDepth() <= depth {
				return nil
			}
		}
	}
}

// emptyObject reports whether v is "{}" (white space allowed).
func emptyObject(v []byte) bool {
	return string(bytes.Join(bytes.Fields(v), nil)) == "{}"
}

// depthOf returns the nesting depth of a valid JSON value (0 for scalars).
func depthOf(v []byte) int {
	depth, max := 0, 0
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if in {
			switch c {
			case '\\':
				i++
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case '{', '[':
			depth++
			if depth > max {
				max = depth
			}
		case '}', ']':
			depth--
		}
	}
	return max
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
