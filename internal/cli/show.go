package cli

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/trace"
)

// ShowOptions are the flags of `idtrace show`.
type ShowOptions struct {
	ID   int
	File string
	// Raw prints the messages as they were on the wire: bodies still
	// content-encoded, no headings.
	Raw bool
	traceOptions
}

func newShowCmd(app *App) *cobra.Command {
	var o ShowOptions
	cmd := &cobra.Command{
		Use:   "show [flags] N FILE",
		Short: "Print one session: request, response, timings",
		Long: `Print session N of a HAR or SAZ trace (N as listed by 'idtrace ls'): the request
and the response with their headers in wire order and their bodies decoded
(gzip, deflate, br, zstd removed; binary bodies as a hex dump), then the timings
and any WebSocket messages.

--raw prints both messages as they crossed the wire instead: the body as it was
received (still compressed) and nothing else.

Exit codes: 0 ok, 1 error (no such session, malformed input), 2 usage.`,
		Example: `  idtrace show 12 case.saz
  idtrace show --raw 12 case.har > session12.txt`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return usageErr("show: N must be a session number from 1, got %q", args[0])
			}
			if err := fileArg("FILE", args[1]); err != nil {
				return err
			}
			o.ID, o.File = n, args[1]
			return runShow(app, &o)
		},
	}
	cmd.Flags().BoolVar(&o.Raw, "raw", false, "print the wire form (encoded bodies, no headings)")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func runShow(app *App, o *ShowOptions) error {
	src, c, err := openTrace(app, o.File, o.traceOptions)
	if err != nil {
		return err
	}
	defer c.Close()
	last := 0
	for f, err := range src.Flows() {
		if err != nil {
			return err
		}
		last = f.ID
		if f.ID != o.ID {
			continue
		}
		if o.Raw {
			return writeRaw(app.IO.Out, f)
		}
		return writeShow(app.IO.Out, f, app.IO.OutTTY)
	}
	return fmt.Errorf("%s: no session %d (the trace has %d)", o.File, o.ID, last)
}

// writeRaw writes the request and response in HTTP/1.x wire form.
func writeRaw(w io.Writer, f *trace.Flow) error {
	var b bytes.Buffer
	rq := f.Request
	proto := wireProto(rq.Proto)
	target := rq.URL
	fmt.Fprintf(&b, "%s %s %s\r\n", rq.Method, target, proto)
	for _, h := range rq.Headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	b.WriteString("\r\n")
	b.Write(rq.Body)
	if rs := f.Response; rs != nil {
		if len(rq.Body) > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "\r\n%s %d %s\r\n", wireProto(rs.Proto), rs.Status, rs.Reason)
		for _, h := range rs.Headers {
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		}
		b.WriteString("\r\n")
		if rs.Wire != nil {
			b.Write(rs.Wire)
		} else {
			b.Write(rs.Body)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
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

func writeShow(w io.Writer, f *trace.Flow, tty bool) error {
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
	fmt.Fprintf(&b, "\n%s %s %s\n", rq.Method, clean(rq.URL, tty), wireProto(rq.Proto))
	writeHeaders(&b, rq.Headers, tty)
	writeBody(&b, rq.Body, rq.MimeType, tty)
	switch rs := f.Response; {
	case rs != nil:
		fmt.Fprintf(&b, "\n%s %d %s\n", wireProto(rs.Proto), rs.Status, clean(rs.Reason, tty))
		writeHeaders(&b, rs.Headers, tty)
		if rs.Encoding != "" {
			fmt.Fprintf(&b, "[body decoded from %s]\n", rs.Encoding)
		}
		if rs.BodyOmitted && len(rs.Body) == 0 && rs.Size > 0 {
			fmt.Fprintf(&b, "\n[body of %d bytes not included in the file]\n", rs.Size)
		} else {
			writeBody(&b, rs.Body, flowMime(rs), tty)
		}
	case f.Error != "":
		fmt.Fprintf(&b, "\n[no response: %s]\n", clean(f.Error, tty))
	default:
		b.WriteString("\n[no response recorded]\n")
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
	if len(f.WebSocket) > 0 {
		fmt.Fprintf(&b, "\nWebSocket messages (%d):\n", len(f.WebSocket))
		for i, m := range f.WebSocket {
			arrow := "←"
			if m.Type == "send" {
				arrow = "→"
			}
			data := m.Data
			if m.Opcode == 2 {
				data = "[binary, base64] " + data
			}
			fmt.Fprintf(&b, "%4d %s op%d %s\n", i+1, arrow, m.Opcode, clean(ellipsis(data, 200), tty))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeHeaders(b *bytes.Buffer, hs trace.Headers, tty bool) {
	for _, h := range hs {
		fmt.Fprintf(b, "%s: %s\n", clean(h.Name, tty), clean(h.Value, tty))
	}
}

// writeBody prints text bodies as text and anything else as a hex dump.
func writeBody(b *bytes.Buffer, body []byte, mimeType string, tty bool) {
	if len(body) == 0 {
		return
	}
	b.WriteString("\n")
	if utf8.Valid(body) && !bytes.ContainsRune(body, 0) {
		b.WriteString(cleanBody(string(body), tty))
		if body[len(body)-1] != '\n' {
			b.WriteString("\n")
		}
		return
	}
	fmt.Fprintf(b, "[%d bytes, %s]\n", len(body), orUnknown(mimeType))
	b.WriteString(hex.Dump(body))
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
