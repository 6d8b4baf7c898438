package saz

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// sessionMeta is the content of raw/N_m.xml.
type sessionMeta struct {
	sid    int
	timers map[string]string
	flags  []trace.Flag
}

var bom = []byte("\xef\xbb\xbf")

// parseMeta reads raw/N_m.xml with a token decoder (no DTDs, no entities
// beyond XML's own).
func parseMeta(b []byte) (*sessionMeta, error) {
	b = bytes.TrimPrefix(b, bom)
	m := &sessionMeta{timers: map[string]string{}}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth := 0
	seen := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("invalid XML (byte %d): %w", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > 32 {
				return nil, errors.New("XML nested too deeply")
			}
			switch t.Name.Local {
			case "Session":
				seen = true
				for _, a := range t.Attr {
					if a.Name.Local == "SID" {
						if n, ok := parseLocaleInt(a.Value); ok && n > 0 && n <= math.MaxInt32 {
							m.sid = int(n)
						}
					}
				}
			case "SessionTimers":
				for _, a := range t.Attr {
					m.timers[a.Name.Local] = a.Value
				}
			case "SessionFlag":
				var fl trace.Flag
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "N":
						fl.Name = a.Value
					case "V":
						fl.Value = a.Value
					}
				}
				if len(m.flags) >= 10000 {
					return nil, errors.New("more than 10000 session flags")
				}
				m.flags = append(m.flags, fl)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return nil, errors.New("XML directives (DTD) are not allowed")
		}
	}
	if !seen {
		return nil, errors.New("no <Session> element")
	}
	return m, nil
}

// parseLocaleInt parses an integer written with group separators
// ("1,371", "1.371", "1 371", "1\u00a0371").
func parseLocaleInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer(",", "", ".", "", " ", "", "\u00a0", "", "\u202f", "", "'", "").Replace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// zeroTime is how Fiddler writes a timer that never fired.
const zeroTime = "0001-01-01T00:00:00"

// netTime is .NET's round-trip ("o") format with an offset.
const netTime = "2006-01-02T15:04:05.0000000-07:00"

func parseNetTime(s string) (time.Time, bool) {
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// No offset (DateTimeKind.Unspecified): read as UTC.
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
		if err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// apply maps the metadata onto f: timers to Started, Time and Timings (see
// doc.go), flags to Flags and the fields they describe.
func (m *sessionMeta) apply(f *trace.Flow) {
	if m.sid > 0 {
		f.Session = m.sid
	}
	f.Flags = m.flags
	tm := map[string]time.Time{}
	for k, v := range m.timers {
		if t, ok := parseNetTime(v); ok {
			tm[k] = t
		}
	}
	dur := func(k string) float64 {
		n, ok := parseLocaleInt(m.timers[k])
		if !ok || n < 0 {
			return 0
		}
		return float64(n)
	}
	begin, ok := tm["ClientBeginRequest"]
	if !ok {
		begin, ok = tm["ClientConnected"]
	}
	if ok {
		f.Started = begin
	}
	t := trace.NoTimings()
	if _, has := m.timers["DNSTime"]; has {
		t.DNS = dur("DNSTime")
	}
	if _, has := m.timers["TCPConnectTime"]; has {
		t.SSL = dur("HTTPSHandshakeTime")
		t.Connect = dur("TCPConnectTime") + t.SSL
	}
	pre := dur("GatewayTime")
	if t.DNS > 0 {
		pre += t.DNS
	}
	if t.Connect > 0 {
		pre += t.Connect
	}
	fbr, okF := tm["FiddlerBeginRequest"]
	if okF && ok {
		t.Blocked = math.Max(0, ms(fbr.Sub(begin))-pre)
	}
	sgr, okG := tm["ServerGotRequest"]
	if okF && okG {
		t.Send = math.Max(0, ms(sgr.Sub(fbr)))
	}
	sbr, okB := tm["ServerBeginResponse"]
	if okG && okB {
		t.Wait = math.Max(0, ms(sbr.Sub(sgr)))
	}
	sdr, okD := tm["ServerDoneResponse"]
	if okB && okD {
		t.Receive = math.Max(0, ms(sdr.Sub(sbr)))
	}
	f.Timings = t
	if cdr, okC := tm["ClientDoneResponse"]; okC && ok && !cdr.Before(begin) {
		f.Time = ms(cdr.Sub(begin))
	}
	f.Process = f.Flag("x-processinfo")
	f.ClientAddr = clientAddr(f.Flags)
	f.ServerAddr = f.Flag("x-hostip")
	f.Comment = f.Flag("ui-comments")
	if f.Response != nil {
		if n, ok := parseLocaleInt(f.Flag("x-responsebodytransferlength")); ok && n >= 0 {
			f.Response.BodySize = n
		}
	}
}

func clientAddr(fl []trace.Flag) string {
	var ip, port string
	for _, x := range fl {
		switch strings.ToLower(x.Name) {
		case "x-clientip":
			ip = x.Value
		case "x-clientport":
			port = x.Value
		}
	}
	if ip == "" {
		return ""
	}
	if port == "" || port == "0" {
		return ip
	}
	return net.JoinHostPort(ip, port)
}

// writeMeta writes raw/N_m.xml for f as Fiddler lays it out, with extra
// flags after f's own.
func writeMeta(w io.Writer, f *trace.Flow, sid int, extra []trace.Flag) error {
	var b bytes.Buffer
	b.Write(bom)
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n")
	fmt.Fprintf(&b, "<Session SID=\"%d\" BitFlags=\"0\">\r\n", sid)
	b.WriteString("  <SessionTimers")
	for _, kv := range timersFor(f) {
		b.WriteString(" ")
		b.WriteString(kv[0])
		b.WriteString("=\"")
		xmlEscape(&b, kv[1])
		b.WriteString("\"")
	}
	b.WriteString(" />\r\n  <PipeInfo />\r\n  <SessionFlags>\r\n")
	for _, fl := range append(flagsFor(f), extra...) {
		b.WriteString("    <SessionFlag N=\"")
		xmlEscape(&b, fl.Name)
		b.WriteString("\" V=\"")
		xmlEscape(&b, fl.Value)
		b.WriteString("\" />\r\n")
	}
	b.WriteString("  </SessionFlags>\r\n</Session>")
	_, err := w.Write(b.Bytes())
	return err
}

func xmlEscape(b *bytes.Buffer, s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r':
			fmt.Fprintf(b, "&#x%X;", r)
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			b.WriteRune('\uFFFD') // not representable in XML 1.0
		default:
			b.WriteRune(r)
		}
	}
}

// timersFor derives Fiddler's SessionTimers from Started, Timings and Time
// so that apply gives the same values back (within rounding of the integer
// millisecond durations Fiddler stores).
func timersFor(f *trace.Flow) [][2]string {
	pos := func(v float64) float64 {
		if v < 0 {
			return 0
		}
		return v
	}
	t := f.Timings
	dns := math.Round(pos(t.DNS))
	ssl := math.Round(pos(t.SSL))
	tcp := math.Round(pos(pos(t.Connect) - pos(t.SSL)))
	started := f.Started
	if started.IsZero() {
		return [][2]string{
			{"ClientConnected", zeroTime}, {"ClientBeginRequest", zeroTime}, {"GotRequestHeaders", zeroTime},
			{"ClientDoneRequest", zeroTime}, {"GatewayTime", "0"}, {"DNSTime", fmtInt(dns)},
			{"TCPConnectTime", fmtInt(tcp)}, {"HTTPSHandshakeTime", fmtInt(ssl)},
			{"ServerConnected", zeroTime}, {"FiddlerBeginRequest", zeroTime}, {"ServerGotRequest", zeroTime},
			{"ServerBeginResponse", zeroTime}, {"GotResponseHeaders", zeroTime}, {"ServerDoneResponse", zeroTime},
			{"ClientBeginResponse", zeroTime}, {"ClientDoneResponse", zeroTime},
		}
	}
	at := func(msOff float64) time.Time {
		return started.Add(time.Duration(math.Round(msOff * float64(time.Millisecond))))
	}
	fm := func(x time.Time) string { return x.Format(netTime) }
	blocked := pos(t.Blocked)
	connected := at(blocked + dns + tcp)
	fbr := blocked + dns + tcp + ssl
	sgr := fbr + pos(t.Send)
	sbrS, sdrS := zeroTime, zeroTime
	end := sgr
	if t.Wait >= 0 {
		sbr := sgr + t.Wait
		sbrS = fm(at(sbr))
		end = sbr
		if t.Receive >= 0 {
			end = sbr + t.Receive
			sdrS = fm(at(end))
		}
	}
	cdr := end
	if f.Time >= 0 {
		cdr = f.Time
	}
	cbr := sbrS
	if cbr == zeroTime {
		cbr = fm(at(cdr))
	}
	return [][2]string{
		{"ClientConnected", fm(started)}, {"ClientBeginRequest", fm(started)},
		{"GotRequestHeaders", fm(started)}, {"ClientDoneRequest", fm(started)},
		{"GatewayTime", "0"}, {"DNSTime", fmtInt(dns)}, {"TCPConnectTime", fmtInt(tcp)},
		{"HTTPSHandshakeTime", fmtInt(ssl)},
		{"ServerConnected", fm(connected)}, {"FiddlerBeginRequest", fm(at(fbr))},
		{"ServerGotRequest", fm(at(sgr))}, {"ServerBeginResponse", sbrS}, {"GotResponseHeaders", sbrS},
		{"ServerDoneResponse", sdrS}, {"ClientBeginResponse", cbr}, {"ClientDoneResponse", fm(at(cdr))},
	}
}

func fmtInt(v float64) string { return strconv.FormatInt(int64(v), 10) }

// flagsFor returns the session flags to write: f.Flags as recorded, with
// the flags that carry Process, ClientAddr, ServerAddr and Comment
// rewritten only where they no longer give those fields back.
func flagsFor(f *trace.Flow) []trace.Flag {
	fl := append([]trace.Flag(nil), f.Flags...)
	set := func(name, v string) {
		for i := range fl {
			if strings.EqualFold(fl[i].Name, name) {
				fl[i].Value = v
				return
			}
		}
		if v != "" {
			fl = append(fl, trace.Flag{Name: name, Value: v})
		}
	}
	get := func(name string) string {
		for _, x := range fl {
			if strings.EqualFold(x.Name, name) {
				return x.Value
			}
		}
		return ""
	}
	if get("x-processinfo") != f.Process {
		set("x-processinfo", f.Process)
	}
	if get("x-hostip") != f.ServerAddr {
		set("x-hostip", f.ServerAddr)
	}
	if get("ui-comments") != f.Comment {
		set("ui-comments", f.Comment)
	}
	if clientAddr(fl) != f.ClientAddr {
		host, port, err := net.SplitHostPort(f.ClientAddr)
		if err != nil {
			host, port = f.ClientAddr, ""
		}
		set("x-clientip", host)
		set("x-clientport", port)
	}
	return fl
}
