// Package redact makes a copy of a trace that can be shared: cookies,
// credentials, authorization codes, tokens, passwords and SAML/WS-Fed
// signatures are replaced by stable pseudonyms, while everything an
// analysis needs (URLs, grants, client IDs, errors, correlation IDs and,
// by default, the claims of tokens) stays.
//
// It works over the trace model with one rule table (rules.go), not with
// regular expressions over serialized text: each header, cookie, query and
// form field, JSON member, HTML form input and SAML element is judged by
// its name, and every value is then searched for JWTs and, where
// credentials travel, for high-entropy strings that no name covers.
//
// A pseudonym reads REDACTED:<rule>:<name>:<tag>, where tag is a keyed
// HMAC-SHA256 of the original value under a key drawn at random for each
// run (Options.Key), so the same secret gets the same pseudonym everywhere
// in one output and cannot be guessed back from a low-entropy value.
// A JWT whose claims are kept ends in the fixed signature segment
// SignaturePlaceholder, which the JWT decoder reports as "removed by
// sanitize".
//
// A Redactor may be used from several goroutines (a live capture's
// flows); its calls are serialized, and OnRemove is called under its lock.
package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/trace"
)

// Prefix starts every pseudonym.
const Prefix = "REDACTED:"

// SignaturePlaceholder replaces the signature of a JWT (and the
// SignatureValue, DigestValue and CipherValue of SAML and WS-Fed XML)
// whose readable parts are kept. It is valid base64url, so the token still
// parses; it is the same as jwt.SanitizedSignature.
const SignaturePlaceholder = jwt.SanitizedSignature

// TokenPolicy says what happens to JWTs.
type TokenPolicy int

const (
	// KeepClaims keeps a JWT's header and claims and drops its signature
	// (secret claims such as a refresh_token inside the token still go).
	KeepClaims TokenPolicy = iota
	// DropTokens replaces every JWT whole by a pseudonym.
	DropTokens
)

// Options configure a Redactor.
type Options struct {
	// Key is the HMAC key of the pseudonyms. Nil draws 32 random bytes, so
	// two runs give different pseudonyms; give a key only to correlate two
	// outputs (tests do, to compare).
	Key []byte
	// Tokens is the JWT policy.
	Tokens TokenPolicy
	// PII also replaces user names, e-mail addresses, names, object IDs and
	// client IP addresses by pseudonyms, in fields, claims and SAML attributes.
	PII bool
	// OnRemove, when set, is called for each value removed, in order. It
	// receives where and why, never the value.
	OnRemove func(Removal)
}

// Removal is one value removed: the rule that matched and where it was.
type Removal struct {
	// FlowID is the flow's ID (0 for the trace's metadata).
	FlowID int
	// Rule is the rule's ID: "cookie", "header", "auth", "param", "jwt",
	// "saml", "url-userinfo", "entropy", "pii".
	Rule string
	// Where names the place: "request.header Cookie: ESTSAUTH",
	// "response.body json refresh_token", ...
	Where string
}

// Redactor applies the rules. Create one with New for each output.
type Redactor struct {
	mu     sync.Mutex
	opts   Options
	key    []byte
	counts map[string]int
	total  int
	flowID int
	echoes echoIndex
	mac    hash.Hash
	// scratch builds pseudonyms; lowers caches lower-case names (lower),
	// names the answers of interestingName.
	scratch []byte
	lowers  map[string]string
	names   map[string]bool
	// metaSeen is set once Meta has reported its removals.
	metaSeen bool
}

// New returns a Redactor. It panics only if the system has no randomness
// for the key.
func New(o Options) *Redactor {
	key := o.Key
	if key == nil {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("redact: no randomness for the pseudonym key: " + err.Error())
		}
	}
	return &Redactor{opts: o, key: key, counts: map[string]int{}}
}

// Counts returns how many values each rule removed so far.
func (r *Redactor) Counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.counts)
}

// Total is the number of values removed so far.
func (r *Redactor) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

func (r *Redactor) hit(rule, where string) {
	r.counts[rule]++
	r.total++
	if r.opts.OnRemove != nil {
		r.opts.OnRemove(Removal{FlowID: r.flowID, Rule: rule, Where: where})
	}
}

// pseudo returns the pseudonym of value and records the removal.
func (r *Redactor) pseudo(rule, name, value, where string) string {
	r.hit(rule, where)
	p := r.tag(rule, name, value)
	r.echoes.add(value, p)
	return p
}

func (r *Redactor) tag(rule, name, value string) string {
	if r.mac == nil {
		r.mac = hmac.New(sha256.New, r.key)
	}
	r.mac.Reset()
	r.mac.Write(unsafe.Slice(unsafe.StringData(value), len(value))) // hash.Hash does not keep or modify p
	var sumBuf [sha256.Size]byte
	sum := r.mac.Sum(sumBuf[:0])
	b := append(r.scratch[:0], Prefix...)
	b = append(b, rule...)
	b = append(b, ':')
	if name != "" {
		b = appendCleanName(b, name)
		b = append(b, ':')
	}
	b = hex.AppendEncode(b, sum[:5])
	r.scratch = b
	return string(b)
}

// lower returns s in lower case. Names (of headers, cookies, fields)
// repeat across a trace, so their lower-case forms are kept, up to a
// bound, instead of being made anew for each.
func (r *Redactor) lower(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			upper = true
			break
		}
	}
	if !upper {
		return s
	}
	if l, ok := r.lowers[s]; ok {
		return l
	}
	l := strings.ToLower(s)
	if len(s) <= 64 && len(r.lowers) < 4096 {
		if r.lowers == nil {
			r.lowers = map[string]string{}
		}
		r.lowers[strings.Clone(s)] = l
	}
	return l
}

// appendCleanName appends a name kept readable and safe in URLs, cookies,
// headers, JSON and HTML: anything outside [A-Za-z0-9._@/-] becomes '_'.
func appendCleanName(b []byte, s string) []byte {
	if len(s) > 64 {
		s = s[:64]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '@' || c == '/' || c == '-') {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// isPlaceholder reports whether v is already the output of a redaction.
func isPlaceholder(v string) bool {
	return strings.HasPrefix(v, Prefix) || strings.HasSuffix(v, SignaturePlaceholder)
}

// Meta returns a copy of m with the page titles (often URLs) and comments redacted.
func (r *Redactor) Meta(m *trace.Meta) *trace.Meta {
	if m == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *m
	r.flowID = 0
	// Meta is redacted when an output starts and again when it closes:
	// report its removals once.
	counts, total, on := maps.Clone(r.counts), r.total, r.opts.OnRemove
	if r.metaSeen {
		r.opts.OnRemove = nil
	}
	c.Pages = append([]trace.Page(nil), m.Pages...)
	for i := range c.Pages {
		c.Pages[i].Title = r.textValue(c.Pages[i].Title, "page "+c.Pages[i].ID+" title")
		c.Pages[i].Comment = r.textValue(c.Pages[i].Comment, "page "+c.Pages[i].ID+" comment")
	}
	c.Comment = r.textValue(c.Comment, "log.comment")
	c.Extra = slices.Clone(m.Extra)
	for i := range c.Extra {
		c.Extra[i].JSON = r.jsonText(c.Extra[i].JSON, "log."+c.Extra[i].Name, false)
	}
	if r.metaSeen {
		r.counts, r.total = counts, total
	}
	r.opts.OnRemove = on
	r.metaSeen = true
	return &c
}

// Flow returns a redacted copy of f; f is not modified.
func (r *Redactor) Flow(f *trace.Flow) *trace.Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := shallowCopy(f)
	r.flowID = f.ID
	if q := c.Request; q != nil {
		r.request(q)
	}
	if s := c.Response; s != nil {
		r.response(s)
	}
	for i := range c.WebSocket {
		m := &c.WebSocket[i]
		where := "websocket[" + strconv.Itoa(i) + "]"
		switch m.Opcode {
		case 1:
			m.Data = string(r.body([]byte(m.Data), "", where))
		case 2:
			// Binary frames are kept base64-encoded; text inside them is judged.
			if raw, err := base64.StdEncoding.DecodeString(m.Data); err == nil && utf8.Valid(raw) {
				if nb := r.body(raw, "", where+" binary"); !sameBytes(nb, raw) {
					m.Data = base64.StdEncoding.EncodeToString(nb)
				}
			}
		}
	}
	c.Comment = r.textValue(c.Comment, "comment")
	c.Error = r.textValue(c.Error, "error")
	for i := range c.Flags {
		fl := &c.Flags[i]
		if r.opts.PII && strings.EqualFold(fl.Name, "x-clientip") {
			fl.Value = r.pseudoIP(fl.Value, "flag "+fl.Name)
			continue
		}
		fl.Value = r.textValue(fl.Value, "flag "+fl.Name)
	}
	if r.opts.PII && c.ClientAddr != "" {
		c.ClientAddr = r.pseudoIP(c.ClientAddr, "clientAddress")
	}
	r.extensions(c.Extra, "entry.")
	if c.Request != nil {
		r.extensions(c.Request.Extra, "request.")
		r.extensions(c.Request.PostDataExtra, "request.postData.")
	}
	if c.Response != nil {
		r.extensions(c.Response.Extra, "response.")
		r.extensions(c.Response.ContentExtra, "response.content.")
	}
	return c
}

// extensions judges vendor fields (raw JSON) in place; x is the flow's own copy.
func (r *Redactor) extensions(x trace.Extensions, where string) {
	for i := range x {
		x[i].JSON = r.jsonText(x[i].JSON, where+x[i].Name, false)
	}
}

// shallowCopy copies f and every list the Redactor modifies in place;
// bodies are shared, since the Redactor only ever replaces them (this
// saves copying every body of a large trace).
func shallowCopy(f *trace.Flow) *trace.Flow {
	c := *f
	if f.Request != nil {
		q := *f.Request
		q.Headers = slices.Clone(q.Headers)
		q.Cookies = slices.Clone(q.Cookies)
		q.Params = slices.Clone(q.Params)
		q.Extra = slices.Clone(q.Extra)
		q.PostDataExtra = slices.Clone(q.PostDataExtra)
		c.Request = &q
	}
	if f.Response != nil {
		s := *f.Response
		s.Headers = slices.Clone(s.Headers)
		s.Cookies = slices.Clone(s.Cookies)
		s.Extra = slices.Clone(s.Extra)
		s.ContentExtra = slices.Clone(s.ContentExtra)
		c.Response = &s
	}
	c.WebSocket = slices.Clone(f.WebSocket)
	c.Flags = slices.Clone(f.Flags)
	c.Extra = slices.Clone(f.Extra)
	return &c
}

// pseudoIP maps an address to one in 198.18.0.0/15 (the benchmarking
// range, never a real host), keeping any port.
func (r *Redactor) pseudoIP(addr, where string) string {
	host, port := addr, ""
	if i := strings.LastIndexByte(addr, ':'); i > 0 && strings.Count(addr, ":") == 1 {
		host, port = addr[:i], addr[i:]
	}
	if host == "" {
		return addr
	}
	r.hit("pii", where)
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(host))
	s := m.Sum(nil)
	return "198." + strconv.Itoa(18+int(s[0]&1)) + "." + strconv.Itoa(int(s[1])) + "." + strconv.Itoa(int(s[2])) + port
}

// Sink wraps s so that every flow and the final metadata are redacted
// before s sees them (live capture's --sanitize at save time).
func (r *Redactor) Sink(s trace.Sink) trace.Sink { return &sink{r: r, s: s} }

type sink struct {
	r *Redactor
	s trace.Sink
}

func (k *sink) WriteFlow(f *trace.Flow) error { return k.s.WriteFlow(k.r.Flow(f)) }
func (k *sink) Close(meta *trace.Meta) error  { return k.s.Close(k.r.Meta(meta)) }
