package har

import (
	"bytes"
	"encoding/base64"

	"github.com/idtrace/idtrace/internal/trace"
)

// ownKey is the entry field where the writer keeps what a Flow has and HAR
// has no place for; the reader maps it back. See doc.go.
const ownKey = "_idtrace"

// subParser parses a raw JSON value already read (and depth-checked).
func subParser(v []byte) *parser {
	p := newParser(bytes.NewReader(v), "", Limits{MaxDepth: 1 << 20})
	p.prefix = ""
	return p
}

// decodeWS decodes _webSocketMessages; ok is false when the value does not
// have the expected shape, and the caller then keeps it as a vendor field.
func decodeWS(v []byte) (msgs []trace.WSMessage, ok bool) {
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '[' {
		return nil, false // an object is not read as a list of one here
	}
	p := subParser(v)
	err := p.array("", func(i int) error {
		m := trace.WSMessage{}
		err := p.object("", func(k string) error {
			var err error
			switch k {
			case "type":
				m.Type, err = p.str(k)
			case "time":
				m.Time, err = p.num(k, 0)
			case "opcode":
				var n int64
				n, err = p.int(k, 0)
				m.Opcode = int(n)
			case "data":
				m.Data, err = p.str(k)
			default:
				var x []byte
				x, err = p.raw(k)
				m.Extra = append(m.Extra, trace.Extension{Name: k, JSON: x})
			}
			return err
		})
		msgs = append(msgs, m)
		return err
	})
	if err != nil || p.d.PeekKind() != 0 {
		return nil, false
	}
	if msgs == nil {
		msgs = []trace.WSMessage{}
	}
	return msgs, true
}

// decodeOwn applies the writer's _idtrace object to f; false when the value
// has another shape (a foreign tool's field of the same name), which the
// caller then keeps as a vendor field.
func decodeOwn(v []byte, f *trace.Flow) bool {
	p := subParser(v)
	g := *f
	noResponse, unknown := false, false
	err := p.object("", func(k string) error {
		var err error
		switch k {
		case "session":
			var n int64
			n, err = p.int(k, 0)
			g.Session = int(n)
		case "process":
			g.Process, err = p.str(k)
		case "clientAddr":
			g.ClientAddr, err = p.str(k)
		case "serverAddr":
			g.ServerAddr, err = p.str(k)
		case "url":
			var u string
			u, err = p.str(k)
			if g.Request != nil {
				r := *g.Request
				r.URL = u
				g.Request = &r
			}
		case "requestBytes", "responseBytes":
			var start []string
			var hs trace.Headers
			start, hs, err = decodeMsgBytes(p, k)
			if err != nil {
				return err
			}
			if k == "requestBytes" && g.Request != nil && len(start) == 3 {
				r := *g.Request
				r.Method, r.URL, r.Proto, r.Headers = start[0], start[1], start[2], hs
				g.Request = &r
			}
			if k == "responseBytes" && g.Response != nil && len(start) == 2 {
				r := *g.Response
				r.Reason, r.Proto, r.Headers = start[0], start[1], hs
				g.Response = &r
			}
		case "cache":
			g.Cache, err = p.raw(k)
		case "error":
			g.Error, err = p.str(k)
		case "noResponse":
			var b *bool
			b, err = p.boolp(k)
			noResponse = b != nil && *b
		case "flags":
			g.Flags = nil
			err = p.array(k, func(int) error {
				var fl trace.Flag
				err := p.object(k, func(n string) error {
					var err error
					switch n {
					case "name":
						fl.Name, err = p.str(n)
					case "value":
						fl.Value, err = p.str(n)
					default:
						err = p.skip(n)
					}
					return err
				})
				g.Flags = append(g.Flags, fl)
				return err
			})
		default:
			unknown = true
			err = p.skip(k)
		}
		return err
	})
	if err != nil || unknown || p.d.PeekKind() != 0 || v[0] != '{' {
		return false
	}
	if noResponse {
		g.Response = nil
	}
	*f = g
	return true
}

// decodeMsgBytes reads the writer's requestBytes or responseBytes object:
// a message's start-line strings and headers, each base64.
func decodeMsgBytes(p *parser, f string) (start []string, hs trace.Headers, err error) {
	dec := func(field string) (string, error) {
		s, err := p.str(field)
		if err != nil {
			return "", err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", p.fail(field, err)
		}
		return string(b), nil
	}
	err = p.object(f, func(k string) error {
		switch k {
		case "start":
			return p.array(f+".start", func(int) error {
				s, err := dec(f + ".start")
				start = append(start, s)
				return err
			})
		case "headers":
			hs = trace.Headers{}
			return p.array(f+".headers", func(int) error {
				var h trace.Header
				err := p.array(f+".headers", func(j int) error {
					s, err := dec(f + ".headers")
					if j == 0 {
						h.Name = s
					} else {
						h.Value = s
					}
					return err
				})
				hs = append(hs, h)
				return err
			})
		}
		return p.skip(f + "." + k)
	})
	return start, hs, err
}
