package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// ShowOptions are the flags of `idtrace show`.
type ShowOptions struct {
	ID   int
	File string
	// Raw prints the messages as they were on the wire: bodies still
	// content-encoded, no headings (secrets masked unless Reveal).
	Raw bool
	// Reveal prints secrets (tokens, cookies, passwords) in clear.
	Reveal bool
	// HeadersOnly leaves the bodies out.
	HeadersOnly bool
	// Request and Response limit the view to one side (both when neither).
	Request, Response bool
	// Body is a file ("-" for stdout) that receives the whole decoded body:
	// the response's, or the request's with Request.
	Body string
	// Follow shows the redirect chain that starts at session ID.
	Follow bool
	// As prints the request as a command: "curl" or "powershell".
	As string
	// Format is "text" or "json".
	Format string
	traceOptions
	// streamHAR: a body missing from the flow is streamed from the HAR file.
	streamHAR bool
	// saz, when set, holds the bodies the SAZ reader left in the archive
	// (over 1 MB), streamed from their zip entries.
	saz *saz.Reader
	// reqWhole and respWhole are the sizes of bodies of which only the head
	// was loaded (loadBodyHeads); 0 otherwise.
	reqWhole, respWhole int
}

func newShowCmd(app *App) *cobra.Command {
	var o ShowOptions
	cmd := &cobra.Command{
		Use:   "show [flags] N FILE",
		Short: "Print one session: request, response, timings",
		Long: `Print session N of a HAR or SAZ trace (N as listed by 'idtrace ls'): the request
and the response with their headers in wire order, the query, form and cookies
decoded as tables, and the bodies decoded (gzip, deflate, br, zstd removed),
JSON and XML indented, binary bodies as a short hex head; then the timings and
any WebSocket messages.

Secrets are masked as in reports: Authorization, cookies, Set-Cookie values,
passwords, client secrets, codes and tokens in the URL, form and JSON bodies
show only their length. --reveal shows them in clear (with a warning).

Bodies are cut at 64 kB on screen; --body FILE (or --body - for stdout)
writes the whole decoded body: the response's, or the request's with --request.

--raw prints both messages as they crossed the wire instead: the body as it was
received (still compressed) and nothing else. A compressed body is never
written to a terminal, and without --reveal a compressed body is withheld
(it may hold a token the mask cannot see).

Exit codes: 0 ok, 1 error (no such session, malformed input), 2 usage.`,
		Example: `  idtrace show 12 case.saz
  idtrace show --headers --response 12 case.har
  idtrace show --body token.json 12 case.har
  idtrace show --follow 3 case.har
  idtrace show --as curl 12 case.har
  idtrace show --raw --reveal 12 case.har > session12.txt`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usageErr("show: N must be a session number from 1, got %q", args[0])
			}
			if err := fileArg("FILE", args[1]); err != nil {
				return err
			}
			switch o.As {
			case "", "curl", "powershell":
			default:
				return usageErr("show: --as %q: want curl or powershell", o.As)
			}
			if cmd.Flags().Changed("body") && strings.TrimSpace(o.Body) == "" {
				return usageErr("show: --body: give a file name, or - for stdout")
			}
			if o.Request && o.Response {
				o.Request, o.Response = false, false
			}
			if o.Body != "" && o.Body != "-" && o.Body == args[1] {
				return usageErr("show: --body %s would overwrite the trace", o.Body)
			}
			o.ID, o.File = n, args[1]
			return runShow(app, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Raw, "raw", false, "print the wire form (encoded bodies, no headings)")
	f.BoolVar(&o.Reveal, "reveal", false, "show tokens, cookies and passwords in clear")
	f.BoolVar(&o.HeadersOnly, "headers", false, "leave the bodies out")
	f.BoolVar(&o.Request, "request", false, "show only the request")
	f.BoolVar(&o.Response, "response", false, "show only the response")
	f.StringVar(&o.Body, "body", "", "write the whole decoded body to FILE (- for stdout)")
	f.BoolVar(&o.Follow, "follow", false, "show the redirect chain that starts at N")
	f.StringVar(&o.As, "as", "", "print the request as a command: curl or powershell")
	addFormatFlag(cmd, &o.Format, "text", "json")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func runShow(app *App, o *ShowOptions) error {
	opts := o.traceOptions
	// --body streams a large HAR body from the file (see writeWholeBody):
	// the first pass drops it instead of holding it.
	opts.skipBodies = o.File != "-" && !o.Raw && o.As == ""
	src, c, err := openTrace(app, o.File, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	_, isHAR := src.(*har.Reader)
	o.streamHAR = opts.skipBodies && isHAR
	if opts.skipBodies {
		o.saz = sazOf(src)
	}
	m := masker{reveal: o.Reveal}
	if o.Reveal && o.Body == "" {
		fmt.Fprintln(app.IO.ErrOut, "idtrace: warning: --reveal prints tokens, cookies and passwords in clear; do not share this output")
	}
	last := 0
	var chain []*trace.Flow
	next := "" // the URL the chain expects next
	for f, err := range src.Flows() {
		if err != nil {
			return err
		}
		last = f.ID
		if o.Follow && len(chain) > 0 {
			if sameURL(f.Request.URL, next) {
				chain = append(chain, f)
				if next = redirectTarget(f); next == "" {
					break
				}
			}
			continue
		}
		if f.ID != o.ID {
			continue
		}
		if o.Follow {
			chain = append(chain, f)
			if next = redirectTarget(f); next == "" {
				break
			}
			continue
		}
		return showOne(app, o, f, m)
	}
	if len(chain) > 0 {
		return writeChain(app.IO.Out, chain, next, m, o.Format, app.IO.OutTTY)
	}
	return fmt.Errorf("%s: no session %d (the trace has %d)", o.File, o.ID, last)
}

// showOne prints one session in the form the options ask for.
func showOne(app *App, o *ShowOptions, f *trace.Flow, m masker) error {
	switch {
	case o.Body != "":
		return writeWholeBody(app, o, f)
	case o.As != "":
		return writeAs(app.IO.Out, o.As, f, m)
	case o.Raw:
		return writeRaw(app.IO.Out, f, m, app.IO.OutTTY)
	}
	if o.streamHAR {
		if err := loadBodyHeads(o, f); err != nil {
			return err
		}
	}
	if o.saz != nil {
		if err := loadSAZBodyHeads(o, f); err != nil {
			return err
		}
	}
	if o.Format == "json" {
		return writeShowJSON(app.IO.Out, f, m, o)
	}
	return writeShow(app.IO.Out, f, m, o, app.IO.OutTTY, app.width())
}

// writeWholeBody writes the decoded body to --body.
func writeWholeBody(app *App, o *ShowOptions, f *trace.Flow) error {
	var body []byte
	if o.Request {
		body = f.Request.Body
	} else if f.Response != nil {
		body = f.Response.Body
	} else {
		return fmt.Errorf("%s: session %d has no response", o.File, f.ID)
	}
	if len(body) == 0 && o.streamHAR {
		return streamHARBody(app, o, f.ID)
	}
	if len(body) == 0 && o.saz != nil {
		return streamSAZBody(app, o, f.ID)
	}
	if o.Body == "-" {
		if app.IO.OutTTY && !utf8.Valid(body) {
			return fmt.Errorf("session %d: the body is binary (%d bytes); not written to a terminal, give --body FILE", f.ID, len(body))
		}
		_, err := app.IO.Out.Write(body)
		return err
	}
	out, err := os.Create(o.Body)
	if err != nil {
		return writeErr(o.Body, err)
	}
	if _, err := out.Write(body); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", o.Body, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("%s: %w", o.Body, err)
	}
	fmt.Fprintf(app.IO.ErrOut, "idtrace: wrote %d bytes to %s (secrets in it are not masked)\n", len(body), o.Body)
	return nil
}

// bodyHead is how much of a large HAR body the text and JSON views load.
const bodyHead = 2 * showCap

// loadBodyHeads loads the first bodyHead bytes of bodies the first pass
// dropped (over 1 MB) from the HAR file, for the on-screen views.
func loadBodyHeads(o *ShowOptions, f *trace.Flow) error {
	for _, req := range []bool{true, false} {
		var body *[]byte
		switch {
		case req && len(f.Request.Body) == 0 && f.Request.HasBody:
			body = &f.Request.Body
		case !req && f.Response != nil && len(f.Response.Body) == 0 && f.Response.BodyOmitted:
			body = &f.Response.Body
		default:
			continue
		}
		file, _, err := openFile(o.File)
		if err != nil {
			return err
		}
		at, enc, found, err := harBodyAt(file, f.ID-1, req)
		if err != nil || !found {
			file.Close()
			continue
		}
		var head headWriter
		var n int64
		if _, err := file.Seek(at, io.SeekStart); err == nil {
			n, _ = writeHARString(&head, file, enc)
		}
		file.Close()
		if len(head.b) == 0 {
			continue
		}
		whole := int(n)
		if !req && head.full && f.Response.Size > int64(len(head.b)) {
			whole = int(f.Response.Size) // as recorded: saves reading the body twice
		} else if head.full {
			// Count the rest without holding it.
			if file, _, err := openFile(o.File); err == nil {
				if _, err := file.Seek(at, io.SeekStart); err == nil {
					if m, err := writeHARString(io.Discard, file, enc); err == nil {
						whole = int(m)
					}
				}
				file.Close()
			}
		}
		// Keep whole runes only, so a text body is not taken for binary.
		b := head.b
		if utf8.Valid(b[:max(0, len(b)-utf8.UTFMax)]) {
			for len(b) > 0 && !utf8.Valid(b) {
				b = b[:len(b)-1]
			}
		}
		*body = b
		if req {
			o.reqWhole = whole
		} else {
			o.respWhole = whole
			f.Response.BodyOmitted = false
		}
	}
	return nil
}

// headWriter keeps the first bodyHead bytes written to it and then stops
// the copy.
type headWriter struct {
	b    []byte
	full bool
}

var errHeadFull = errors.New("head full")

func (h *headWriter) Write(p []byte) (int, error) {
	room := bodyHead - len(h.b)
	if len(p) > room {
		h.b = append(h.b, p[:room]...)
		h.full = true
		return room, errHeadFull
	}
	h.b = append(h.b, p...)
	return len(p), nil
}

// streamHARBody writes the body of session id straight from the HAR file to
// --body, in constant memory: the first pass dropped it (over 1 MB).
func streamHARBody(app *App, o *ShowOptions, id int) error {
	f, _, err := openFile(o.File)
	if err != nil {
		return err
	}
	defer f.Close()
	at, enc, found, err := harBodyAt(f, id-1, o.Request)
	if err != nil {
		return fmt.Errorf("%s: session %d: body: %w", o.File, id, err)
	}
	var w io.Writer = app.IO.Out
	var out *os.File
	if o.Body != "-" {
		if out, err = os.Create(o.Body); err != nil {
			return writeErr(o.Body, err)
		}
		defer out.Close()
		w = out
	} else if app.IO.OutTTY {
		return fmt.Errorf("session %d: the body is over 1 MB; not written to a terminal, give --body FILE", id)
	}
	var n int64
	if found {
		if _, err := f.Seek(at, io.SeekStart); err != nil {
			return err
		}
		if n, err = writeHARString(w, f, enc); err != nil {
			return fmt.Errorf("%s: session %d: body: %w", o.File, id, err)
		}
	}
	if out != nil {
		if err := out.Close(); err != nil {
			return fmt.Errorf("%s: %w", o.Body, err)
		}
		fmt.Fprintf(app.IO.ErrOut, "idtrace: wrote %d bytes to %s (secrets in it are not masked)\n", n, o.Body)
	}
	return nil
}

// redirectTarget is the absolute URL a 3xx response sends the client to, or "".
func redirectTarget(f *trace.Flow) string {
	rs := f.Response
	if rs == nil || rs.Status < 300 || rs.Status > 399 {
		return ""
	}
	loc := rs.Headers.Get("Location")
	if loc == "" {
		loc = rs.RedirectURL
	}
	if loc == "" {
		return ""
	}
	base, err := url.Parse(f.Request.URL)
	if err != nil {
		return loc
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return base.ResolveReference(ref).String()
}

// sameURL compares two URLs without their fragments (HAR drops them).
func sameURL(a, b string) bool {
	a, _, _ = strings.Cut(a, "#")
	b, _, _ = strings.Cut(b, "#")
	return a == b
}

// writeChain prints a redirect chain, one session a line.
func writeChain(w io.Writer, chain []*trace.Flow, next string, m masker, format string, tty bool) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, f := range chain {
			r := toLsRecord(f)
			r.URL = m.url(r.URL)
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "redirect chain from session %d (%d sessions):\n", chain[0].ID, len(chain))
	for i, f := range chain {
		status := "-"
		if f.Response != nil {
			status = strconv.Itoa(f.Response.Status)
		} else if f.Error != "" {
			status = "failed"
		}
		fmt.Fprintf(&b, "%2d. #%d %s %s %s\n", i+1, f.ID, status, f.Request.Method, clean(m.url(f.Request.URL), tty))
	}
	if next != "" {
		fmt.Fprintf(&b, "    → %s (not in the trace)\n", clean(m.url(next), tty))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeRaw writes the request and response in HTTP/1.x wire form, with
// secrets in headers, URL and text bodies masked unless m.reveal. A
// content-encoded body is never written to a terminal, and is withheld
// without --reveal (compressed bytes can hide a token from the mask).
func writeRaw(w io.Writer, f *trace.Flow, m masker, tty bool) error {
	var b bytes.Buffer
	rq := f.Request
	fmt.Fprintf(&b, "%s %s %s\r\n", rq.Method, m.url(rq.URL), wireProto(rq.Proto))
	for _, h := range rq.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, m.header(h.Name, h.Value))
	}
	b.WriteString("\r\n")
	b.WriteString(rawBody(rq.Body, rq.MimeType, m))
	if rs := f.Response; rs != nil {
		if len(rq.Body) > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "\r\n%s %d %s\r\n", wireProto(rs.Proto), rs.Status, rs.Reason)
		for _, h := range rs.Headers {
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, m.header(h.Name, h.Value))
		}
		b.WriteString("\r\n")
		switch {
		case rs.Wire != nil && tty:
			fmt.Fprintf(&b, "[%d bytes of %s-encoded body not written to a terminal: redirect to a file, or drop --raw to see it decoded]\n", len(rs.Wire), orUnknown(rs.Encoding))
		case rs.Wire != nil && !m.reveal:
			fmt.Fprintf(&b, "[%d bytes of %s-encoded body withheld: it may hold secrets; --reveal writes it]\n", len(rs.Wire), orUnknown(rs.Encoding))
		case rs.Wire != nil:
			b.Write(rs.Wire)
		case tty && !utf8.Valid(rs.Body):
			fmt.Fprintf(&b, "[%d bytes of binary body not written to a terminal]\n", len(rs.Body))
		default:
			b.WriteString(rawBody(rs.Body, flowMime(rs), m))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// rawBody is a body unformatted, with secrets masked unless m.reveal.
func rawBody(body []byte, mimeType string, m masker) string {
	if m.reveal {
		return string(body)
	}
	switch classify(body, mimeType) {
	case kindEmpty:
		return ""
	case kindForm:
		return m.query(string(body))
	case kindBinary:
		return string(body)
	}
	return m.jsonText(m.html(string(body)))
}

func wireProto(p string) string {
	switch strings.ToLower(p) {
	case "", "unknown":
		return "HTTP/1.1"
	case "h2", "http/2", "http/2.0":
		return "HTTP/2"
	case "h3", "http/3", "http/3.0":
		return "HTTP/3"
	}
	return p
}

func writeShow(w io.Writer, f *trace.Flow, m masker, o *ShowOptions, tty bool, width int) error {
	var b bytes.Buffer
	rq := f.Request
	fmt.Fprintf(&b, "── session %d", f.ID)
	if f.Session != 0 && f.Session != f.ID {
		fmt.Fprintf(&b, " (Fiddler #%d)", f.Session)
	}
	if !f.Started.IsZero() {
		fmt.Fprintf(&b, " · %s", f.Started.Format(time.RFC3339Nano))
	}
	if d := flowDuration(f); d > 0 {
		fmt.Fprintf(&b, " · %.0f ms", d)
	}
	b.WriteString(" ──\n")
	for _, kv := range [][2]string{{"client", f.ClientAddr}, {"server", f.ServerAddr}, {"process", f.Process}, {"comment", f.Comment}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], clean(kv[1], tty))
		}
	}
	if !o.Response {
		fmt.Fprintf(&b, "\n%s %s %s\n", rq.Method, clean(m.url(rq.URL), tty), wireProto(rq.Proto))
		writeHeaders(&b, rq.Headers, m, tty)
		if _, q, ok := strings.Cut(strings.SplitN(rq.URL, "#", 2)[0], "?"); ok && q != "" {
			paramTable(&b, "query", q, m, tty)
		}
		if _, frag, ok := strings.Cut(rq.URL, "#"); ok && strings.Contains(frag, "=") {
			paramTable(&b, "fragment", frag, m, tty)
		}
		cookieTable(&b, rq.Headers, m, tty)
		if !o.HeadersOnly {
			if classify(rq.Body, rq.MimeType) == kindForm {
				paramTable(&b, "form", string(rq.Body), m, tty)
			} else {
				writeBody(&b, rq.Body, o.reqWhole, rq.MimeType, m, tty, width)
			}
		}
	}
	if !o.Request {
		switch rs := f.Response; {
		case rs != nil:
			fmt.Fprintf(&b, "\n%s %d %s\n", wireProto(rs.Proto), rs.Status, clean(rs.Reason, tty))
			writeHeaders(&b, rs.Headers, m, tty)
			setCookieTable(&b, rs.Headers, m, tty)
			if o.HeadersOnly {
				break
			}
			if rs.Encoding != "" {
				fmt.Fprintf(&b, "[body decoded from %s]\n", rs.Encoding)
			}
			if rs.BodyOmitted && len(rs.Body) == 0 && rs.Size > 0 {
				fmt.Fprintf(&b, "\n[body of %d bytes not included in the file]\n", rs.Size)
			} else {
				writeBody(&b, rs.Body, o.respWhole, flowMime(rs), m, tty, width)
			}
		case f.Error != "":
			fmt.Fprintf(&b, "\n[failed, no response: %s]\n", clean(f.Error, tty))
		default:
			b.WriteString("\n[no response recorded]\n")
		}
	}
	t := f.Timings
	b.WriteString("\ntimings (ms):")
	for _, p := range []struct {
		n string
		v float64
	}{{"blocked", t.Blocked}, {"dns", t.DNS}, {"connect", t.Connect}, {"ssl", t.SSL}, {"send", t.Send}, {"wait", t.Wait}, {"receive", t.Receive}} {
		if p.v >= 0 {
			fmt.Fprintf(&b, " %s %.1f", p.n, p.v)
		} else {
			fmt.Fprintf(&b, " %s -", p.n)
		}
	}
	b.WriteString("\n")
	if len(f.WebSocket) > 0 && !o.HeadersOnly {
		fmt.Fprintf(&b, "\nWebSocket messages (%d):\n", len(f.WebSocket))
		for i, msg := range f.WebSocket {
			arrow := "←"
			if msg.Type == "send" {
				arrow = "→"
			}
			data := m.jsonText(m.text(msg.Data))
			if msg.Opcode == 2 {
				data = "[binary, base64] " + msg.Data
			}
			fmt.Fprintf(&b, "%4d %s op%d %s\n", i+1, arrow, msg.Opcode, clean(ellipsis(data, 200), tty))
		}
	}
	_, err := io.WriteString(w, fold(b.String(), width))
	return err
}

func writeHeaders(b *bytes.Buffer, hs trace.Headers, m masker, tty bool) {
	for _, h := range hs {
		fmt.Fprintf(b, "%s: %s\n", clean(h.Name, tty), clean(m.header(h.Name, h.Value), tty))
	}
}

// cookieTable lists the request's cookies, values masked unless m.reveal.
func cookieTable(b *bytes.Buffer, hs trace.Headers, m masker, tty bool) {
	var rows [][2]string
	for _, v := range hs.Values("Cookie") {
		for p := range strings.SplitSeq(v, ";") {
			name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || name == "" {
				continue
			}
			if !m.reveal {
				val = oauth.Mask(val)
			}
			rows = append(rows, [2]string{name, val})
		}
	}
	writeRows(b, "cookies", rows, tty)
}

// setCookieTable lists the cookies a response sets, with their attributes.
func setCookieTable(b *bytes.Buffer, hs trace.Headers, m masker, tty bool) {
	var rows [][2]string
	for _, v := range hs.Values("Set-Cookie") {
		first, attrs, _ := strings.Cut(v, ";")
		name, val, ok := strings.Cut(strings.TrimSpace(first), "=")
		if !ok || name == "" {
			continue
		}
		if !m.reveal {
			val = oauth.Mask(val)
		}
		if attrs = strings.TrimSpace(attrs); attrs != "" {
			val += "  (" + attrs + ")"
		}
		rows = append(rows, [2]string{name, val})
	}
	writeRows(b, "cookies set", rows, tty)
}

func writeRows(b *bytes.Buffer, title string, rows [][2]string, tty bool) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	w := 0
	for _, r := range rows {
		w = max(w, min(utf8.RuneCountInString(r[0]), 30))
	}
	for _, r := range rows {
		fmt.Fprintf(b, "  %-*s  %s\n", w, clean(r[0], tty), clean(ellipsis(r[1], 500), tty))
	}
}

// writeBody prints a body as renderBody shows it, folded to width.
func writeBody(b *bytes.Buffer, body []byte, whole int, mimeType string, m masker, tty bool, width int) {
	text, note := renderBodyOf(body, max(whole, len(body)), mimeType, m)
	if text == "" && note == "" {
		return
	}
	b.WriteString("\n")
	if classify(body, mimeType) == kindBinary {
		b.WriteString(note + "\n")
		b.WriteString(text)
		return
	}
	text = fold(cleanBody(text, tty), width)
	b.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	if note != "" {
		b.WriteString(note + "\n")
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown type"
	}
	return s
}

// clean removes control characters from one-line fields shown on a terminal.
func clean(s string, tty bool) string {
	if !tty {
		return s
	}
	return sanitizeCell(s)
}

// cleanBody keeps newlines and tabs but drops other control characters
// (escape sequences in a hostile body must not drive the terminal).
func cleanBody(s string, tty bool) string {
	if !tty {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r == '\r' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
