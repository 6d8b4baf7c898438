package record

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// appendFlow appends f as JSON to dst: the same document encoding/json
// makes of a *trace.Flow (field names as declared, nil slices and pointers
// as null, byte slices in base64), written without reflection because the
// journal encodes every captured flow on the capture's hot path. The
// reader decodes it with encoding/json; TestAppendFlowMatchesJSON fills
// every field of a Flow and checks that both encodings decode the same.
func appendFlow(dst []byte, f *trace.Flow) ([]byte, error) {
	e := enc{b: dst}
	e.b = append(e.b, `{"ID":`...)
	e.b = strconv.AppendInt(e.b, int64(f.ID), 10)
	e.b = append(e.b, `,"Session":`...)
	e.b = strconv.AppendInt(e.b, int64(f.Session), 10)
	e.str(`,"PageRef":`, f.PageRef)
	e.time(`,"Started":`, f.Started)
	e.float(`,"Time":`, f.Time)
	e.b = append(e.b, `,"Request":`...)
	if r := f.Request; r == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.str(`{"Method":`, r.Method)
		e.str(`,"URL":`, r.URL)
		e.str(`,"Proto":`, r.Proto)
		e.headers(`,"Headers":`, r.Headers)
		e.cookies(`,"Cookies":`, r.Cookies)
		e.bytes(`,"Body":`, r.Body)
		e.str(`,"MimeType":`, r.MimeType)
		e.boolean(`,"HasBody":`, r.HasBody)
		e.b = append(e.b, `,"Params":`...)
		if r.Params == nil {
			e.b = append(e.b, "null"...)
		} else {
			e.b = append(e.b, '[')
			for i, p := range r.Params {
				if i > 0 {
					e.b = append(e.b, ',')
				}
				e.str(`{"Name":`, p.Name)
				e.str(`,"Value":`, p.Value)
				e.str(`,"FileName":`, p.FileName)
				e.str(`,"ContentType":`, p.ContentType)
				e.str(`,"Comment":`, p.Comment)
				e.b = append(e.b, '}')
			}
			e.b = append(e.b, ']')
		}
		e.int(`,"HeadersSize":`, r.HeadersSize)
		e.int(`,"BodySize":`, r.BodySize)
		e.str(`,"Comment":`, r.Comment)
		e.ext(`,"Extra":`, r.Extra)
		e.ext(`,"PostDataExtra":`, r.PostDataExtra)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, `,"Response":`...)
	if r := f.Response; r == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.int(`{"Status":`, int64(r.Status))
		e.str(`,"Reason":`, r.Reason)
		e.str(`,"Proto":`, r.Proto)
		e.headers(`,"Headers":`, r.Headers)
		e.cookies(`,"Cookies":`, r.Cookies)
		e.bytes(`,"Body":`, r.Body)
		e.str(`,"Encoding":`, r.Encoding)
		e.bytes(`,"Wire":`, r.Wire)
		e.str(`,"MimeType":`, r.MimeType)
		e.boolean(`,"BodyOmitted":`, r.BodyOmitted)
		e.int(`,"Size":`, r.Size)
		e.int(`,"Compression":`, r.Compression)
		e.str(`,"RedirectURL":`, r.RedirectURL)
		e.int(`,"HeadersSize":`, r.HeadersSize)
		e.int(`,"BodySize":`, r.BodySize)
		e.str(`,"Comment":`, r.Comment)
		e.ext(`,"Extra":`, r.Extra)
		e.ext(`,"ContentExtra":`, r.ContentExtra)
		e.b = append(e.b, '}')
	}
	e.str(`,"Error":`, f.Error)
	t := &f.Timings
	e.float(`,"Timings":{"Blocked":`, t.Blocked)
	e.float(`,"DNS":`, t.DNS)
	e.float(`,"Connect":`, t.Connect)
	e.float(`,"SSL":`, t.SSL)
	e.float(`,"Send":`, t.Send)
	e.float(`,"Wait":`, t.Wait)
	e.float(`,"Receive":`, t.Receive)
	e.str(`,"Comment":`, t.Comment)
	e.ext(`,"Extra":`, t.Extra)
	e.b = append(e.b, '}')
	e.str(`,"ServerAddr":`, f.ServerAddr)
	e.str(`,"ClientAddr":`, f.ClientAddr)
	e.str(`,"Connection":`, f.Connection)
	e.str(`,"Process":`, f.Process)
	e.str(`,"Comment":`, f.Comment)
	e.b = append(e.b, `,"WebSocket":`...)
	if f.WebSocket == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.b = append(e.b, '[')
		for i, m := range f.WebSocket {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(`{"Type":`, m.Type)
			e.float(`,"Time":`, m.Time)
			e.int(`,"Opcode":`, int64(m.Opcode))
			e.str(`,"Data":`, m.Data)
			e.ext(`,"Extra":`, m.Extra)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, `,"Flags":`...)
	if f.Flags == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.b = append(e.b, '[')
		for i, fl := range f.Flags {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(`{"Name":`, fl.Name)
			e.str(`,"Value":`, fl.Value)
			e.b = append(e.b, '}')
		}
		e.b = append(e.b, ']')
	}
	e.bytes(`,"Cache":`, f.Cache)
	e.ext(`,"Extra":`, f.Extra)
	e.b = append(e.b, '}')
	return e.b, e.err
}

// enc appends JSON values; the first error (a value JSON cannot hold) is kept.
type enc struct {
	b   []byte
	err error
}

func (e *enc) int(key string, v int64) {
	e.b = append(e.b, key...)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *enc) boolean(key string, v bool) {
	e.b = append(e.b, key...)
	e.b = strconv.AppendBool(e.b, v)
}

// float writes v as encoding/json does (it decodes to the same float64).
func (e *enc) float(key string, v float64) {
	e.b = append(e.b, key...)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if e.err == nil {
			e.err = errors.New("json: unsupported value: " + strconv.FormatFloat(v, 'g', -1, 64))
		}
		e.b = append(e.b, '0')
		return
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, v, format, -1, 64)
}

func (e *enc) time(key string, t time.Time) {
	e.b = append(e.b, key...)
	if y := t.Year(); y < 0 || y >= 10000 {
		if e.err == nil {
			e.err = errors.New("json: Time.MarshalJSON: year outside of range [0,9999]")
		}
		e.b = append(e.b, `""`...)
		return
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

func (e *enc) bytes(key string, v []byte) {
	e.b = append(e.b, key...)
	if v == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '"')
	e.b = base64.StdEncoding.AppendEncode(e.b, v)
	e.b = append(e.b, '"')
}

func (e *enc) headers(key string, hs trace.Headers) {
	e.b = append(e.b, key...)
	if hs == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, h := range hs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(`{"Name":`, h.Name)
		e.str(`,"Value":`, h.Value)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *enc) cookies(key string, cs []trace.Cookie) {
	e.b = append(e.b, key...)
	if cs == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, c := range cs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(`{"Name":`, c.Name)
		e.str(`,"Value":`, c.Value)
		e.str(`,"Path":`, c.Path)
		e.str(`,"Domain":`, c.Domain)
		e.str(`,"Expires":`, c.Expires)
		e.optBool(`,"HTTPOnly":`, c.HTTPOnly)
		e.optBool(`,"Secure":`, c.Secure)
		e.str(`,"SameSite":`, c.SameSite)
		e.str(`,"Comment":`, c.Comment)
		e.ext(`,"Extra":`, c.Extra)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

func (e *enc) optBool(key string, v *bool) {
	if v == nil {
		e.b = append(e.b, key...)
		e.b = append(e.b, "null"...)
		return
	}
	e.boolean(key, *v)
}

func (e *enc) ext(key string, xs trace.Extensions) {
	e.b = append(e.b, key...)
	if xs == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '[')
	for i, x := range xs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(`{"Name":`, x.Name)
		e.bytes(`,"JSON":`, x.JSON)
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ']')
}

// str writes key and s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func (e *enc) str(key, s string) {
	e.b = append(e.b, key...)
	e.b = append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			e.b = append(e.b, s[start:i]...)
			switch c {
			case '"', '\\':
				e.b = append(e.b, '\\', c)
			case '\n':
				e.b = append(e.b, '\\', 'n')
			case '\r':
				e.b = append(e.b, '\\', 'r')
			case '\t':
				e.b = append(e.b, '\\', 't')
			default:
				e.b = append(e.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			e.b = append(e.b, s[start:i]...)
			e.b = append(e.b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	e.b = append(e.b, s[start:]...)
	e.b = append(e.b, '"')
}

const hex = "0123456789abcdef"
