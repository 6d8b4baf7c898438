// Package trace holds the nouns every part of idtrace shares: a Trace's
// metadata, the Flows in it (one HTTP exchange each), their headers, bodies,
// timings and WebSocket messages.
//
// Every source (the HAR and SAZ readers) produces *Flow values; every
// consumer (the writers, the analyzers, the commands that list and show
// flows) reads them. The package does no I/O and imports nothing internal.
//
// Ownership: a source allocates a new *Flow for each session and hands it to
// its consumer, which may read it freely. Consumers that modify a Flow (for
// example a redactor) must work on a Clone.
package trace

import (
	"strings"
	"time"
)

// NA marks a timing that does not apply (HAR's -1).
const NA = -1.0

// Unknown marks a size that is not known (HAR's -1).
const Unknown int64 = -1

// Meta describes a whole trace. A streaming source fills it as it reads: a
// field that the file stores after its entries is complete only once the
// flow stream has ended.
type Meta struct {
	// Format is the format the trace was read from: "har", "saz" or "".
	Format string
	// Version is the HAR version ("1.2", "1.1") or the Fiddler version of a SAZ.
	Version string
	Creator Software
	// Browser is nil when the file names none.
	Browser *Software
	Pages   []Page
	Comment string
	// Extra keeps vendor fields of the log object ("_..." in HAR) in order.
	Extra Extensions
}

// Software names a program: HAR's creator and browser.
type Software struct {
	Name    string
	Version string
	Comment string
	Extra   Extensions
}

// Page is a HAR page: a group of flows that a browser loaded for one document.
type Page struct {
	ID      string
	Title   string
	Started time.Time
	// OnContentLoad and OnLoad are milliseconds since Started, or NA.
	OnContentLoad float64
	OnLoad        float64
	Comment       string
	Extra         Extensions
}

// Flow is one HTTP exchange: a request and, unless it failed, a response.
//
// Invariant (as in mitmproxy): a completed flow has a Response or an Error,
// never both. Files bend it: a flow read from a file that recorded neither
// has both empty, and Chrome's HAR records a failed request as a status-0
// response plus an error, which the HAR reader keeps as both. Writers keep
// each case as it is: a flow without a Response is written without one,
// and a status-0 Response stays a status-0 Response (see the saz package
// for how a SAZ records it).
type Flow struct {
	// ID is the flow's sequence number in its trace, from 1. Readers number
	// flows in file order (SAZ: by session number order), so IDs are stable.
	ID int
	// Session is the source's own number for the flow when it has one
	// (Fiddler's session number); 0 otherwise.
	Session int
	PageRef string
	// Started is when the request began (HAR startedDateTime). It keeps the
	// writer's time zone offset.
	Started time.Time
	// Time is the total duration in milliseconds (HAR entry.time); NA if unknown.
	Time     float64
	Request  *Request
	Response *Response
	// Error says why the flow has no response ("" if none is known).
	Error   string
	Timings Timings
	// ServerAddr is the server's IP address (HAR serverIPAddress).
	ServerAddr string
	// ClientAddr is the client's address, host:port where known.
	ClientAddr string
	// Connection is HAR's connection field (a connection ID or port).
	Connection string
	// Process is the client process, "name:pid" as Fiddler writes it.
	Process string
	Comment string
	// WebSocket lists the messages of an upgraded connection, in order.
	WebSocket []WSMessage
	// Flags keeps Fiddler session flags (x-clientip, ui-comments, ...) in order.
	Flags []Flag
	// Cache is HAR's cache object, raw JSON, kept opaque; nil if absent.
	Cache []byte
	// Extra keeps vendor fields of the entry ("_initiator", "_priority", ...).
	Extra Extensions
}

// Request is what the client sent.
type Request struct {
	Method string
	// URL is the absolute URL as recorded (HAR drops fragments; SAZ has the
	// request line's absolute URI). It may be empty or invalid in odd files.
	URL string
	// Proto is the protocol as recorded: "HTTP/1.1", "HTTP/2", "h2", "h3".
	Proto   string
	Headers Headers
	// Cookies is HAR's parsed cookie list, kept for round trips; the Cookie
	// header is the authority.
	Cookies []Cookie
	// Body is the request body as sent, decoded from any transfer coding.
	Body []byte
	// MimeType is the body's type as the source recorded it (HAR postData.mimeType).
	MimeType string
	// HasBody reports whether the source recorded a body at all (HAR postData present).
	HasBody bool
	// Params is HAR's postData.params, kept for round trips.
	Params []Param
	// HeadersSize and BodySize are the sizes on the wire, or Unknown.
	HeadersSize int64
	BodySize    int64
	Comment     string
	Extra       Extensions
	// PostDataExtra keeps vendor fields of HAR's postData object.
	PostDataExtra Extensions
}

// Response is what the server answered.
type Response struct {
	// Status is the HTTP status code; 0 when the source recorded none.
	Status  int
	Reason  string
	Proto   string
	Headers Headers
	Cookies []Cookie
	// Body is the decoded body: no transfer or content coding left.
	Body []byte
	// Encoding is the content coding the body had on the wire ("gzip", "br",
	// "deflate", "zstd" or ""), as named by Content-Encoding.
	Encoding string
	// Wire is the body exactly as received (after de-chunking), when the
	// source had it and it differs from Body; nil otherwise.
	Wire []byte
	// MimeType is HAR's content.mimeType (or the Content-Type header).
	MimeType string
	// BodyOmitted is true when the source did not include the body (HAR
	// content without text); Body is then empty but Size may be positive.
	BodyOmitted bool
	// Size is the decoded body size as recorded (HAR content.size), or Unknown.
	Size int64
	// Compression is HAR's content.compression; 0 if absent.
	Compression int64
	RedirectURL string
	HeadersSize int64
	BodySize    int64
	Comment     string
	Extra       Extensions
	// ContentExtra keeps vendor fields of HAR's content object.
	ContentExtra Extensions
}

// Timings are the phases of a flow in milliseconds; NA where a phase does not apply.
type Timings struct {
	Blocked, DNS, Connect, SSL, Send, Wait, Receive float64
	Comment                                         string
	Extra                                           Extensions
}

// NoTimings returns Timings with every phase NA.
func NoTimings() Timings {
	return Timings{Blocked: NA, DNS: NA, Connect: NA, SSL: NA, Send: NA, Wait: NA, Receive: NA}
}

// Total is the sum of the phases that apply.
func (t Timings) Total() float64 {
	var s float64
	for _, v := range []float64{t.Blocked, t.DNS, t.Connect, t.Send, t.Wait, t.Receive} {
		if v > 0 {
			s += v
		}
	}
	return s // SSL is included in Connect, as HAR 1.2 specifies.
}

// WSMessage is one WebSocket frame.
type WSMessage struct {
	// Type is "send" or "receive".
	Type string
	// Time is seconds since the Unix epoch, fractional.
	Time float64
	// Opcode is 1 for text, 2 for binary (Data is then base64), 8 close...
	Opcode int
	Data   string
	Extra  Extensions
}

// Flag is one Fiddler session flag.
type Flag struct{ Name, Value string }

// Param is one HAR postData parameter.
type Param struct {
	Name, Value, FileName, ContentType, Comment string
}

// Cookie is one HAR cookie.
type Cookie struct {
	Name, Value, Path, Domain string
	// Expires is kept as written ("" if absent).
	Expires  string
	HTTPOnly *bool
	Secure   *bool
	SameSite string
	Comment  string
	Extra    Extensions
}

// Extension is one vendor field kept opaque: its name and its raw JSON value.
type Extension struct {
	Name string
	JSON []byte
}

// Extensions is an ordered list of vendor fields.
type Extensions []Extension

// Get returns the raw JSON of the named field, or nil.
func (e Extensions) Get(name string) []byte {
	for _, x := range e {
		if x.Name == name {
			return x.JSON
		}
	}
	return nil
}

// Header is one header line; Headers keeps order and duplicates.
type Header struct{ Name, Value string }

// Headers is an ordered header list, as sent on the wire.
type Headers []Header

// Get returns the value of the first header with the name (case-insensitive), or "".
func (h Headers) Get(name string) string {
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			return x.Value
		}
	}
	return ""
}

// Values returns every value of the named header in order.
func (h Headers) Values(name string) []string {
	var out []string
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			out = append(out, x.Value)
		}
	}
	return out
}

// Host returns the request's host: from the URL, else the Host header.
func (r *Request) Host() string {
	if r == nil {
		return ""
	}
	u := r.URL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexAny(u, "/?#"); j >= 0 {
			u = u[:j]
		}
		if k := strings.LastIndex(u, "@"); k >= 0 {
			u = u[k+1:]
		}
		return u
	}
	if h := r.Headers.Get("Host"); h != "" {
		return h
	}
	if r.Method == "CONNECT" {
		return r.URL
	}
	return ""
}

// Path returns the path and query of the request URL ("/" when empty).
func (r *Request) Path() string {
	if r == nil {
		return ""
	}
	u := r.URL
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		j := strings.IndexAny(u, "/?")
		if j < 0 {
			return "/"
		}
		return u[j:]
	}
	return u
}

// Clone returns a deep copy of f that the caller may modify.
func (f *Flow) Clone() *Flow {
	c := *f
	if f.Request != nil {
		r := *f.Request
		r.Headers = append(Headers(nil), r.Headers...)
		r.Body = append([]byte(nil), r.Body...)
		r.Cookies = append([]Cookie(nil), r.Cookies...)
		r.Params = append([]Param(nil), r.Params...)
		c.Request = &r
	}
	if f.Response != nil {
		r := *f.Response
		r.Headers = append(Headers(nil), r.Headers...)
		r.Body = append([]byte(nil), r.Body...)
		if r.Wire != nil {
			r.Wire = append([]byte(nil), r.Wire...)
		}
		r.Cookies = append([]Cookie(nil), r.Cookies...)
		c.Response = &r
	}
	c.WebSocket = append([]WSMessage(nil), f.WebSocket...)
	c.Flags = append([]Flag(nil), f.Flags...)
	c.Extra = append(Extensions(nil), f.Extra...)
	return &c
}

// Flag returns the value of the named session flag (case-insensitive), or "".
func (f *Flow) Flag(name string) string {
	for _, x := range f.Flags {
		if strings.EqualFold(x.Name, name) {
			return x.Value
		}
	}
	return ""
}
