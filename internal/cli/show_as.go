package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

// showJSON is `show --format json`: one session, secrets masked unless
// --reveal, bodies as shown on screen (cut at 64 kB, with Truncated set).
type showJSON struct {
	ID       int           `json:"id"`
	Started  string        `json:"started,omitempty"`
	Duration float64       `json:"duration_ms"`
	Process  string        `json:"process,omitempty"`
	Error    string        `json:"error,omitempty"`
	Request  *showMsgJSON  `json:"request,omitempty"`
	Response *showMsgJSON  `json:"response,omitempty"`
	Timings  trace.Timings `json:"-"`
}

type showMsgJSON struct {
	Method    string         `json:"method,omitempty"`
	URL       string         `json:"url,omitempty"`
	Status    int            `json:"status,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Proto     string         `json:"protocol,omitempty"`
	Headers   []trace.Header `json:"headers"`
	Mime      string         `json:"mime,omitempty"`
	Size      int            `json:"body_bytes"`
	Body      string         `json:"body,omitempty"`
	Note      string         `json:"body_note,omitempty"`
	Truncated bool           `json:"body_truncated,omitempty"`
}

func writeShowJSON(w io.Writer, f *trace.Flow, m masker, o *ShowOptions) error {
	out := showJSON{ID: f.ID, Duration: flowDuration(f), Process: f.Process, Error: f.Error}
	if !f.Started.IsZero() {
		out.Started = f.Started.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	body := func(msg *showMsgJSON, b []byte, whole int, mt string) {
		msg.Size = max(whole, len(b))
		if o.HeadersOnly {
			return
		}
		msg.Body, msg.Note = renderBodyOf(b, msg.Size, mt, m)
		msg.Truncated = msg.Note != "" && classify(b, mt) != kindBinary
	}
	if !o.Response {
		rq := f.Request
		msg := &showMsgJSON{Method: rq.Method, URL: m.url(rq.URL), Proto: rq.Proto, Headers: m.headers(rq.Headers), Mime: rq.MimeType}
		body(msg, rq.Body, o.reqWhole, rq.MimeType)
		out.Request = msg
	}
	if rs := f.Response; rs != nil && !o.Request {
		msg := &showMsgJSON{Status: rs.Status, Reason: rs.Reason, Proto: rs.Proto, Headers: m.headers(rs.Headers), Mime: flowMime(rs)}
		body(msg, rs.Body, o.respWhole, flowMime(rs))
		out.Response = msg
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// skipInCommand are headers a replayed request must not copy: the client
// computes them, or they are HTTP/2 pseudo-headers.
func skipInCommand(name string) bool {
	switch strings.ToLower(name) {
	case "content-length", "host", "connection", "accept-encoding", "transfer-encoding":
		return true
	}
	return strings.HasPrefix(name, ":")
}

// writeAs prints the request as a curl or PowerShell command, secrets
// masked unless m.reveal.
func writeAs(w io.Writer, as string, f *trace.Flow, m masker) error {
	rq := f.Request
	var b bytes.Buffer
	body := ""
	binary := false
	switch classify(rq.Body, rq.MimeType) {
	case kindEmpty:
	case kindBinary:
		binary = true
	default:
		body = rawBody(rq.Body, rq.MimeType, m)
	}
	if !m.reveal {
		b.WriteString("# secrets are masked; add --reveal for a command that replays the request\n")
	}
	if binary {
		fmt.Fprintf(&b, "# the %d-byte binary body is left out: idtrace show --request --body FILE writes it\n", len(rq.Body))
	}
	switch as {
	case "curl":
		fmt.Fprintf(&b, "curl -X %s %s", shQuote(rq.Method), shQuote(m.url(rq.URL)))
		for _, h := range rq.Headers {
			if skipInCommand(h.Name) {
				continue
			}
			fmt.Fprintf(&b, " \\\n  -H %s", shQuote(h.Name+": "+m.header(h.Name, h.Value)))
		}
		if rq.Headers.Get("Accept-Encoding") != "" {
			b.WriteString(" \\\n  --compressed")
		}
		if body != "" {
			fmt.Fprintf(&b, " \\\n  --data-binary %s", shQuote(body))
		}
		b.WriteString("\n")
	case "powershell":
		fmt.Fprintf(&b, "$headers = @{\n")
		ct := ""
		for _, h := range rq.Headers {
			if skipInCommand(h.Name) {
				continue
			}
			if strings.EqualFold(h.Name, "Content-Type") {
				ct = h.Value
				continue
			}
			fmt.Fprintf(&b, "  %s = %s\n", psQuote(h.Name), psQuote(m.header(h.Name, h.Value)))
		}
		b.WriteString("}\n")
		fmt.Fprintf(&b, "Invoke-WebRequest -Uri %s -Method %s -Headers $headers -SkipHeaderValidation", psQuote(m.url(rq.URL)), psQuote(rq.Method))
		if ct != "" {
			fmt.Fprintf(&b, " -ContentType %s", psQuote(ct))
		}
		if body != "" {
			fmt.Fprintf(&b, " -Body %s", psQuote(body))
		}
		b.WriteString("\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote quotes s as a PowerShell verbatim string.
func psQuote(s string) string {
	// PowerShell also treats typographic single quotes as quote characters.
	r := strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019", "\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b")
	return "'" + r.Replace(s) + "'"
}
