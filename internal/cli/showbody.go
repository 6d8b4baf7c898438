package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/decode/oauth"
)

// showCap is how many bytes of a body `show` prints on screen; --body
// writes the whole body.
const showCap = 64 << 10

// hexHead is how many bytes of a binary body `show` prints as hex.
const hexHead = 256

// bodyKind classifies a body for display.
type bodyKind int

const (
	kindEmpty bodyKind = iota
	kindJSON
	kindForm
	kindXML
	kindHTML
	kindText
	kindBinary
)

func classify(body []byte, mimeType string) bodyKind {
	if len(body) == 0 {
		return kindEmpty
	}
	mt, _, _ := mime.ParseMediaType(mimeType)
	mt = strings.ToLower(mt)
	text := utf8.Valid(body) && !bytes.ContainsRune(body, 0)
	if !text {
		return kindBinary
	}
	trim := bytes.TrimSpace(body)
	switch {
	case strings.Contains(mt, "json") || ((mt == "" || strings.HasPrefix(mt, "text/")) && len(trim) > 0 && (trim[0] == '{' || trim[0] == '[') && json.Valid(trim)):
		if json.Valid(trim) {
			return kindJSON
		}
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	case strings.Contains(mt, "html"):
		return kindHTML
	case strings.Contains(mt, "xml") || (mt == "" && bytes.HasPrefix(trim, []byte("<?xml"))):
		return kindXML
	}
	return kindText
}

// renderBody returns the body as shown on screen: secrets masked, JSON and
// XML indented, binary as a hex head; cut at showCap with a note.
func renderBody(body []byte, mimeType string, m masker) (text string, note string) {
	return renderBodyOf(body, len(body), mimeType, m)
}

// renderBodyOf is renderBody for the first bytes of a body of whole bytes
// (a large HAR body streamed from the file, see loadBodyHeads).
func renderBodyOf(body []byte, whole int, mimeType string, m masker) (text string, note string) {
	var s string
	kind := classify(body, mimeType)
	if kind != kindJSON && kind != kindBinary && len(body) > 2*showCap {
		// Mask only what can reach the screen (plus a margin, so a secret
		// that straddles the cut is still recognised), not a huge body.
		cut := 2 * showCap
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	switch kind {
	case kindEmpty:
		return "", ""
	case kindBinary:
		n := min(len(body), hexHead)
		s = hex.Dump(body[:n])
		note = fmt.Sprintf("[%d bytes, %s; first %d shown as hex]", whole, orUnknown(mimeType), n)
		return s, note
	case kindJSON:
		var b bytes.Buffer
		if err := prettyJSON(&b, bytes.TrimSpace(body), m, showCap); err == nil || err == errCapped {
			s = b.String()
			if err == errCapped {
				note = fmt.Sprintf("[JSON body of %s cut on screen; --body FILE writes it all]", humanBytes(int64(whole)))
			}
			return s, note
		}
		s = m.jsonText(string(body))
	case kindForm:
		s = m.query(string(body))
	case kindXML:
		var b bytes.Buffer
		if prettyXML(&b, body) == nil {
			s = m.html(b.String())
		} else {
			s = m.html(string(body))
		}
	case kindHTML:
		s = m.html(string(body))
	default:
		s = m.jsonText(m.html(string(body)))
	}
	if len(s) <= showCap && whole > len(body) {
		note = fmt.Sprintf("[first %s of %s shown; --body FILE writes it all]", humanBytes(int64(len(body))), humanBytes(int64(whole)))
	}
	if len(s) > showCap {
		cut := showCap
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		note = fmt.Sprintf("[first %s of %s shown; --body FILE writes it all]", humanBytes(int64(cut)), humanBytes(int64(whole)))
	}
	return s, note
}

// jsonPairRe finds "name": "value" pairs in JSON text that is not parsed.
var jsonPairRe = regexp.MustCompile(`"([A-Za-z_]+)"\s*:\s*"((?:[^"\\]|\\.)*)"`)

// jsonText masks secret "name": "value" pairs in text without reformatting it.
func (m masker) jsonText(s string) string {
	if m.reveal {
		return s
	}
	s = jsonPairRe.ReplaceAllStringFunc(s, func(match string) string {
		sm := jsonPairRe.FindStringSubmatch(match)
		if !isSecretParam(sm[1]) || sm[2] == "" {
			return match
		}
		return match[:len(match)-len(sm[2])-1] + oauth.Mask(sm[2]) + `"`
	})
	return m.text(s)
}

// errCapped stops prettyJSON once it has written max bytes.
var errCapped = fmt.Errorf("output cap reached")

// prettyJSON indents one JSON document, masking the string values of
// secret fields; it keeps key order and number text, and stops with
// errCapped after max bytes.
func prettyJSON(w *bytes.Buffer, doc []byte, m masker, max int) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		obj   bool
		n     int
		key   string
		inKey bool
	}
	var stack []*frame
	indent := func() {
		w.WriteByte('\n')
		for range stack {
			w.WriteString("  ")
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if w.Len() > max {
			return errCapped
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if top.n > 0 {
				indent()
			}
			w.WriteByte(byte(d))
			continue
		}
		// A key, or a value in an array or object.
		secret := false
		if top != nil {
			if top.obj && !top.inKey {
				if top.n > 0 {
					w.WriteByte(',')
				}
				indent()
				k, _ := tok.(string)
				top.key, top.inKey = k, true
				writeJSONString(w, k)
				w.WriteString(": ")
				top.n++
				continue
			}
			if top.obj {
				top.inKey = false
				secret = isSecretParam(top.key)
			} else {
				if top.n > 0 {
					w.WriteByte(',')
				}
				indent()
				top.n++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			w.WriteByte(byte(v))
			stack = append(stack, &frame{obj: v == '{'})
		case string:
			if secret && !m.reveal && v != "" {
				writeJSONString(w, oauth.Mask(v))
			} else {
				writeJSONString(w, m.text(v))
			}
		case json.Number:
			w.WriteString(v.String())
		case bool:
			w.WriteString(strconv.FormatBool(v))
		case nil:
			w.WriteString("null")
		}
	}
	w.WriteByte('\n')
	return nil
}

func writeJSONString(w *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	w.Write(b)
}

// prettyXML indents an XML document.
func prettyXML(w *bytes.Buffer, doc []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = false
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if cd, ok := tok.(xml.CharData); ok {
			if len(bytes.TrimSpace(cd)) == 0 {
				continue
			}
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return err
		}
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	w.WriteByte('\n')
	return nil
}

// fold cuts lines longer than width runes into several lines.
func fold(s string, width int) string {
	if width <= 0 {
		return s
	}
	var b strings.Builder
	for line := range strings.SplitAfterSeq(s, "\n") {
		for utf8.RuneCountInString(line) > width+1 {
			i, n := 0, 0
			for n < width {
				_, sz := utf8.DecodeRuneInString(line[i:])
				i += sz
				n++
			}
			b.WriteString(line[:i])
			b.WriteString("\n")
			line = line[i:]
		}
		b.WriteString(line)
	}
	return b.String()
}

// paramTable lists decoded name/value pairs of a query or form, masked.
func paramTable(b *bytes.Buffer, title, q string, m masker, tty bool) {
	vs, err := url.ParseQuery(q)
	if err != nil && len(vs) == 0 {
		return
	}
	var rows [][2]string
	for p := range strings.SplitSeq(q, "&") {
		k, v, _ := strings.Cut(p, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || dk == "" {
			continue
		}
		rows = append(rows, [2]string{dk, m.value(dk, dv)})
	}
	writeRows(b, title, rows, tty)
}
