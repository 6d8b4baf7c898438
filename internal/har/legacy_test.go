package har

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// legacyShapes are the shapes older or looser HAR writers produce, each
// built here from its description (docs/traces.md lists them), not copied
// from a file. Every one must read, agree with Count, and survive a write
// and a re-read.
var legacyShapes = []struct {
	name  string
	entry string
	check func(f *trace.Flow) string
}{
	{"IE 11 / legacy Edge: request.cookies as one object",
		`{"request":{"method":"GET","url":"https://a.test/","cookies":{"name":"esctx","value":"v1"}}}`,
		func(f *trace.Flow) string {
			if c := f.Request.Cookies; len(c) != 1 || c[0].Name != "esctx" || c[0].Value != "v1" {
				return fmt.Sprintf("cookies %+v", c)
			}
			return ""
		}},
	{"IE 11: response.cookies as one object, headers as one {name, value} object",
		`{"request":{"method":"GET","url":"https://a.test/","headers":{"name":"Host","value":"a.test"}},"response":{"status":302,"cookies":{"name":"x","value":"1","httpOnly":true},"headers":{"name":"Location","value":"/b"}}}`,
		func(f *trace.Flow) string {
			if h := f.Request.Headers; len(h) != 1 || h[0] != (trace.Header{Name: "Host", Value: "a.test"}) {
				return fmt.Sprintf("request headers %v", h)
			}
			if h := f.Response.Headers; len(h) != 1 || h[0] != (trace.Header{Name: "Location", Value: "/b"}) {
				return fmt.Sprintf("response headers %v", h)
			}
			if c := f.Response.Cookies; len(c) != 1 || c[0].HTTPOnly == nil || !*c[0].HTTPOnly {
				return fmt.Sprintf("response cookies %+v", c)
			}
			return ""
		}},
	{"empty objects where lists belong",
		`{"request":{"method":"GET","url":"https://a.test/","cookies":{},"headers":{},"queryString":{}},"response":{"status":200,"cookies":{},"headers":{}}}`,
		func(f *trace.Flow) string {
			if len(f.Request.Cookies)+len(f.Request.Headers)+len(f.Response.Cookies)+len(f.Response.Headers) != 0 {
				return "an empty object gave elements"
			}
			return ""
		}},
	{"postData.params as one object",
		`{"request":{"method":"POST","url":"https://a.test/","postData":{"mimeType":"application/x-www-form-urlencoded","params":{"name":"grant_type","value":"code"}}}}`,
		func(f *trace.Flow) string {
			if p := f.Request.Params; len(p) != 1 || p[0].Name != "grant_type" {
				return fmt.Sprintf("params %+v", p)
			}
			return ""
		}},
	{"numbers as strings",
		`{"time":"12.5","request":{"method":"GET","url":"https://a.test/","headersSize":"-1","bodySize":"0"},"response":{"status":"404","headersSize":"120","bodySize":"7","content":{"size":"7","compression":"0","mimeType":"text/plain","text":"missing"}},"timings":{"send":"0.5","wait":"11","receive":"1"}}`,
		func(f *trace.Flow) string {
			if f.Time != 12.5 || f.Response.Status != 404 || f.Response.HeadersSize != 120 || f.Response.Size != 7 || f.Timings.Wait != 11 || f.Request.HeadersSize != trace.Unknown {
				return fmt.Sprintf("time %v status %d sizes %d %d wait %v", f.Time, f.Response.Status, f.Response.HeadersSize, f.Response.Size, f.Timings.Wait)
			}
			return ""
		}},
	{"IE 11: time -1 and timings missing",
		`{"time":-1,"request":{"method":"GET","url":"https://a.test/"},"response":{"status":200}}`,
		func(f *trace.Flow) string {
			if tt := f.Timings; f.Time != trace.NA || tt.Blocked != trace.NA || tt.DNS != trace.NA || tt.Connect != trace.NA || tt.SSL != trace.NA || tt.Send != trace.NA || tt.Wait != trace.NA || tt.Receive != trace.NA {
				return fmt.Sprintf("time %v timings %+v", f.Time, f.Timings)
			}
			return ""
		}},
	{"timings null, phases null or missing",
		`{"request":{"method":"GET","url":"https://a.test/"},"timings":{"wait":null,"receive":3}},{"request":{"method":"GET","url":"https://a.test/"},"timings":null}`,
		func(f *trace.Flow) string {
			if f.Timings.Wait != trace.NA || f.Timings.Blocked != trace.NA {
				return fmt.Sprintf("timings %+v", f.Timings)
			}
			return ""
		}},
	{"Fiddler: members in any order, seven fractional digits, blocked -1, compression",
		`{"time":1546,"serverIPAddress":"10.0.0.1","connection":"443","request":{"headersSize":10,"method":"POST","url":"https://a.test/","httpVersion":"HTTP/1.1","postData":{"mimeType":"text/plain","text":"x"}},"timings":{"blocked":-1,"ssl":0,"receive":0,"wait":1545,"dns":0,"send":1,"connect":0},"response":{"headersSize":5,"bodySize":2,"status":200,"content":{"compression":0,"text":"ok","size":2,"mimeType":"text/plain"}},"startedDateTime":"2020-06-23T17:14:02.5961840+05:30","cache":{}}`,
		func(f *trace.Flow) string {
			if _, off := f.Started.Zone(); off != 5*3600+1800 || f.Started.Nanosecond() != 596184000 {
				return fmt.Sprintf("started %v", f.Started)
			}
			if f.Timings.Blocked != trace.NA || f.Timings.Wait != 1545 || string(f.Request.Body) != "x" || string(f.Response.Body) != "ok" || f.Connection != "443" {
				return "fields lost"
			}
			return ""
		}},
	{"Charles: redirectURL null, vendor status, no blocked phase",
		`{"startedDateTime":"2023-03-29T17:37:42.482-07:00","time":107,"request":{"method":"GET","url":"https://a.test/"},"response":{"_charlesStatus":"COMPLETE","status":200,"redirectURL":null,"content":{"size":0,"mimeType":null,"text":null}},"timings":{"dns":43,"connect":37,"ssl":26,"send":1,"wait":24,"receive":2}}`,
		func(f *trace.Flow) string {
			if f.Response.RedirectURL != "" || f.Response.Extra.Get("_charlesStatus") == nil || f.Timings.Blocked != trace.NA || f.Timings.DNS != 43 {
				return "fields lost"
			}
			return ""
		}},
	{"pages as one object",
		`{"pageref":"page_1","request":{"method":"GET","url":"https://a.test/"}}`,
		nil},
}

func TestLegacyShapes(t *testing.T) {
	for _, tc := range legacyShapes {
		t.Run(tc.name, func(t *testing.T) {
			in := doc(tc.entry)
			if tc.check == nil { // log-level shape
				in = `{"log":{"version":"1.2","pages":{"id":"page_1","title":"one","startedDateTime":"2024-01-02T03:04:05Z","pageTimings":{}},"entries":[` + tc.entry + `]}}`
			}
			fs, m, err := readAll([]byte(in), "legacy.har")
			if err != nil {
				t.Fatal(err)
			}
			n, err := Count(strings.NewReader(in), "legacy.har")
			if err != nil || n != len(fs) {
				t.Errorf("Count = %d, %v; reader got %d flows", n, err, len(fs))
			}
			if tc.check == nil {
				if len(m.Pages) != 1 || m.Pages[0].ID != "page_1" {
					t.Errorf("pages %+v", m.Pages)
				}
			} else if msg := tc.check(fs[0]); msg != "" {
				t.Error(msg)
			}
			// What was read is written as standard HAR and reads back alike.
			var buf bytes.Buffer
			w := NewWriter(&buf, m)
			for _, f := range fs {
				if err := w.WriteFlow(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(m); err != nil {
				t.Fatal(err)
			}
			back, _, err := readAll(buf.Bytes(), "written.har")
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if tc.check != nil {
				if msg := tc.check(back[0]); msg != "" {
					t.Errorf("after a write: %s", msg)
				}
			}
		})
	}
}

// TestLoneObjectErrorOffset: an error inside an object read as a list of
// one still points at the byte in the file.
func TestLoneObjectErrorOffset(t *testing.T) {
	in := doc(`{"request":{"method":"GET","url":"u","cookies":{"name":"a","httpOnly":[1]}}}`)
	_, _, err := readAll([]byte(in), "bad.har")
	var ie *trace.InputError
	if err == nil || !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an InputError", err)
	}
	if want := int64(strings.Index(in, "[1]")); ie.Offset != want {
		t.Errorf("offset %d, want %d (%v)", ie.Offset, want, err)
	}
}

// TestNonUTF8Kept: strings that are not UTF-8 (a Latin-1 header from an
// old server, read from a SAZ) come back byte for byte after HAR.
func TestNonUTF8Kept(t *testing.T) {
	f := &trace.Flow{ID: 1, Time: trace.NA, Timings: trace.NoTimings(),
		Request: &trace.Request{Method: "GET", URL: "https://a.test/caf\xe9", Proto: "HTTP/1.1",
			Headers: trace.Headers{{Name: "X-Name", Value: "Jos\xe9"}}, HeadersSize: -1, BodySize: -1},
		Response: &trace.Response{Status: 200, Reason: "\xc0K", Proto: "HTTP/1.1",
			Headers: trace.Headers{{Name: "Content-Disposition", Value: "attachment; filename=r\xe9sum\xe9.pdf"}}, HeadersSize: -1, BodySize: -1}}
	var buf bytes.Buffer
	w := NewWriter(&buf, &trace.Meta{})
	if err := w.WriteFlow(f); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if !utf8Valid(buf.Bytes()) {
		t.Fatal("the HAR written is not UTF-8")
	}
	back, _, err := readAll(buf.Bytes(), "latin1.har")
	if err != nil {
		t.Fatal(err)
	}
	g := back[0]
	if g.Request.URL != f.Request.URL || g.Request.Headers[0] != f.Request.Headers[0] ||
		g.Response.Reason != f.Response.Reason || g.Response.Headers[0] != f.Response.Headers[0] {
		t.Errorf("bytes changed: %q %q %q %q", g.Request.URL, g.Request.Headers, g.Response.Reason, g.Response.Headers)
	}
	if g.Extra.Get(ownKey) != nil {
		t.Errorf("_idtrace left in Extra")
	}
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }
