package har

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// The documents below are synthetic: small made-up HARs, each with one oddity.

func doc(entries string) string {
	return `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[` + entries + `]}}`
}

const minimalEntry = `{"startedDateTime":"2024-01-02T03:04:05.678+01:00","time":5,"request":{"method":"GET","url":"https://a.test/x","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"queryString":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":2,"mimeType":"text/plain","text":"hi"},"redirectURL":"","headersSize":-1,"bodySize":2},"cache":{},"timings":{"send":1,"wait":2,"receive":-1}}`

func TestReaderLenient(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, fs []*trace.Flow, m *trace.Meta)
	}{
		{"BOM", "\xEF\xBB\xBF" + doc(minimalEntry), func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
			if len(fs) != 1 || fs[0].Response.Status != 200 {
				t.Errorf("flows %v", fs)
			}
		}},
		{"HAR 1.1 without creator or pages", `{"log":{"version":"1.1","entries":[` + minimalEntry + `]}}`, func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
			if m.Version != "1.1" || m.Creator.Name != "" || m.Pages != nil || len(fs) != 1 {
				t.Errorf("meta %+v", m)
			}
		}},
		{"no version, entries missing", `{"log":{}}`, func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
			if len(fs) != 0 {
				t.Errorf("%d flows", len(fs))
			}
		}},
		{"header pairs and maps", doc(`{"request":{"method":"GET","url":"u","headers":[["A","1"],["A","2"],{"name":"B","value":3}]},"response":{"status":"204","headers":{"X":"y","Z":"w"}}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				h := fs[0].Request.Headers
				if len(h) != 3 || h[0] != (trace.Header{Name: "A", Value: "1"}) || h[1].Value != "2" || h[2].Value != "3" {
					t.Errorf("request headers %v", h)
				}
				if r := fs[0].Response; r.Status != 204 || len(r.Headers) != 2 || r.Headers[1].Name != "Z" {
					t.Errorf("response %+v", r)
				}
			}},
		{"no response, status 0, empty URL, null time", doc(`{"request":{"method":"GET","url":""},"time":null},{"request":{"url":"not a url"},"response":{"status":0,"_error":"net::ERR_FAILED"}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if fs[0].Response != nil || fs[0].Time != trace.NA || fs[0].Request.URL != "" {
					t.Errorf("flow 1 %+v", fs[0])
				}
				if fs[1].Response == nil || fs[1].Response.Status != 0 || fs[1].Error != "net::ERR_FAILED" || fs[1].Request.URL != "not a url" {
					t.Errorf("flow 2 %+v", fs[1])
				}
			}},
		{"base64 bodies", doc(`{"request":{"postData":{"mimeType":"x","text":"AAEC","encoding":"base64"}},"response":{"content":{"text":"/w==","encoding":"base64","mimeType":"b"}}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if !bytes.Equal(fs[0].Request.Body, []byte{0, 1, 2}) || !bytes.Equal(fs[0].Response.Body, []byte{0xff}) {
					t.Errorf("bodies %v %v", fs[0].Request.Body, fs[0].Response.Body)
				}
			}},
		{"body omitted vs empty", doc(`{"response":{"content":{"size":10}}},{"response":{"content":{"size":0,"text":""}}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if !fs[0].Response.BodyOmitted || fs[0].Response.Size != 10 || fs[1].Response.BodyOmitted {
					t.Errorf("omitted flags %v %v", fs[0].Response.BodyOmitted, fs[1].Response.BodyOmitted)
				}
			}},
		{"websocket messages", doc(`{"_resourceType":"websocket","_webSocketMessages":[{"type":"send","time":1.5,"opcode":1,"data":"hi","_x":1}]}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				ws := fs[0].WebSocket
				if len(ws) != 1 || ws[0].Data != "hi" || ws[0].Time != 1.5 || ws[0].Extra.Get("_x") == nil {
					t.Errorf("ws %+v", ws)
				}
				if fs[0].Extra.Get("_webSocketMessages") != nil || fs[0].Extra.Get("_resourceType") == nil {
					t.Errorf("extra %v", names(fs[0].Extra))
				}
			}},
		{"odd websocket shape kept as vendor field", doc(`{"_webSocketMessages":{"not":"a list"}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if fs[0].WebSocket != nil || string(fs[0].Extra.Get("_webSocketMessages")) != `{"not":"a list"}` {
					t.Errorf("ws %v extra %v", fs[0].WebSocket, names(fs[0].Extra))
				}
			}},
		{"vendor fields at every level", `{"log":{"_l":1,"creator":{"name":"c","_c":2},"browser":{"name":"b","_b":3},"pages":[{"id":"p","_p":4}],"entries":[{"_e":5,"request":{"_q":6,"postData":{"_pd":7},"cookies":[{"name":"n","_ck":8}]},"response":{"_s":9,"content":{"_file":"f.bin"}},"timings":{"_blocked_queueing":1.5}}],"_after":10}}`,
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				f := fs[0]
				for _, x := range []trace.Extensions{m.Extra, m.Creator.Extra, m.Browser.Extra, m.Pages[0].Extra, f.Extra, f.Request.Extra,
					f.Request.PostDataExtra, f.Request.Cookies[0].Extra, f.Response.Extra, f.Response.ContentExtra, f.Timings.Extra} {
					if len(x) == 0 {
						t.Errorf("a level lost its vendor field")
					}
				}
				if string(m.Extra.Get("_after")) != "10" {
					t.Errorf("log field after entries: %v", names(m.Extra))
				}
			}},
		{"timings and dates", doc(`{"startedDateTime":"2024-01-02T03:04:05.678-07:00","timings":{"blocked":-1,"dns":"1.5","send":0.25,"wait":null}}`),
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				tt := fs[0].Timings
				if tt.Blocked != trace.NA || tt.DNS != 1.5 || tt.Send != 0.25 || tt.Wait != trace.NA || tt.Receive != trace.NA {
					t.Errorf("timings %+v", tt)
				}
				if _, off := fs[0].Started.Zone(); off != -7*3600 || fs[0].Started.Nanosecond() != 678e6 {
					t.Errorf("started %v", fs[0].Started)
				}
			}},
		{"unparsable dates kept aside", `{"log":{"pages":[{"id":"p","startedDateTime":"yesterday"}],"entries":[{"startedDateTime":"12/31/2023 5:00 PM"}]}}`,
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if !fs[0].Started.IsZero() || string(fs[0].Extra.Get(rawDateKey)) != `"12/31/2023 5:00 PM"` ||
					string(m.Pages[0].Extra.Get(rawDateKey)) != `"yesterday"` {
					t.Errorf("entry %v %v, page %v", fs[0].Started, names(fs[0].Extra), names(m.Pages[0].Extra))
				}
			}},
		{"unknown top-level members and duplicate names", `{"x":[1,{"y":2}],"log":{"entries":[{"comment":"a","comment":"b"}]},"z":null}`,
			func(t *testing.T, fs []*trace.Flow, m *trace.Meta) {
				if len(fs) != 1 || fs[0].Comment != "b" {
					t.Errorf("flows %v", fs)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, m, err := readAll([]byte(tc.in), "synthetic.har")
			if err != nil {
				t.Fatal(err)
			}
			n, err := Count(strings.NewReader(tc.in), "synthetic.har")
			if err != nil || n != len(fs) {
				t.Errorf("Count = %d, %v; reader got %d", n, err, len(fs))
			}
			tc.check(t, fs, m)
		})
	}
}

func TestReaderStrict(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	tests := []struct {
		name    string
		in      string
		lim     Limits
		entry   int    // want InputError.Entry
		field   string // want InputError.Field (prefix)
		wantErr error  // want errors.Is, if set
		count   bool   // Count must fail too
	}{
		{"empty", "", Limits{}, -1, "", ErrNotHAR, true},
		{"not JSON", "hello", Limits{}, -1, "", nil, true},
		{"top-level array", `[{"log":{}}]`, Limits{}, -1, "", ErrNotHAR, true},
		{"no log", `{"headers":[["a"]]}`, Limits{}, -1, "log", ErrNotHAR, true},
		{"log not an object", `{"log":[1]}`, Limits{}, -1, "log", nil, true},
		{"entries not an array", `{"log":{"entries":{}}}`, Limits{}, -1, "log.entries", nil, true},
		{"entry not an object", doc(minimalEntry + `,3`), Limits{}, 1, "", nil, true},
		{"duplicate entries", `{"log":{"entries":[],"entries":[]}}`, Limits{}, -1, "log.entries", nil, true},
		{"duplicate log", `{"log":{},"log":{}}`, Limits{}, -1, "log", nil, true},
		{"trailing data", doc("") + ` {}`, Limits{}, -1, "", nil, true},
		{"truncated in an entry", doc(minimalEntry)[:200], Limits{}, 0, "", nil, true},
		{"status not a number", doc(`{"response":{"status":"abc"}}`), Limits{}, 0, "response.status", nil, false},
		{"headers not a list", doc(`{"request":{"headers":5}}`), Limits{}, 0, "request.headers", nil, false},
		{"bad base64", doc(`{"response":{"content":{"text":"!!!","encoding":"base64"}}}`), Limits{}, 0, "response.content.text", nil, false},
		{"too deep", doc(`{"_x":` + deep + `}`), Limits{}, 0, "_x", ErrTooDeep, true},
		{"entry too large", doc(minimalEntry + `,{"_pad":"` + strings.Repeat("x", 5000) + `"}`), Limits{MaxValueBytes: 4096}, 1, "", ErrTooLarge, true},
		{"header too large", doc(`{"request":{"headers":[{"name":"Cookie","value":"` + strings.Repeat("c", 300) + `"}]}}`), Limits{MaxHeaderBytes: 256}, 0, "request.headers", ErrTooLarge, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), "bad.har")
			r.Limits = tc.lim
			var err error
			n := 0
			for _, e := range r.Flows() {
				if e != nil {
					err = e
					break
				}
				n++
			}
			ie := checkInputError(t, err, "bad.har")
			if ie.Entry != tc.entry {
				t.Errorf("Entry = %d, want %d (%v)", ie.Entry, tc.entry, err)
			}
			if !strings.HasPrefix(ie.Field, tc.field) {
				t.Errorf("Field = %q, want %q (%v)", ie.Field, tc.field, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.entry >= 0 && n != tc.entry {
				t.Errorf("yielded %d flows before the error at entry %d", n, tc.entry)
			}
			if ie.Offset > int64(len(tc.in)) {
				t.Errorf("Offset %d past the end %d", ie.Offset, len(tc.in))
			}
			if tc.count {
				rc := NewReader(strings.NewReader(tc.in), "bad.har")
				rc.Limits = tc.lim
				rc.count = true
				if _, err := countWith(rc); err == nil {
					t.Errorf("Count accepted it")
				} else {
					checkInputError(t, err, "bad.har")
				}
			}
		})
	}
}

// countWith runs Count's loop on a prepared Reader (to set Limits).
func countWith(r *Reader) (int, error) {
	for {
		if _, err := r.step(false); err != nil {
			return 0, err
		}
		if r.st == stDone {
			return r.next, nil
		}
	}
}

func TestMetaBeforeFlows(t *testing.T) {
	in := `{"log":{"version":"1.2","creator":{"name":"c","version":"1"},"pages":[{"id":"p1"}],"entries":[` + minimalEntry + `],"comment":"late"}}`
	r := NewReader(strings.NewReader(in), "x")
	m := r.Meta()
	if m.Creator.Name != "c" || len(m.Pages) != 1 || m.Comment != "" {
		t.Fatalf("meta before flows: %+v", m)
	}
	n := 0
	for _, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 || r.Meta().Comment != "late" {
		t.Fatalf("n=%d comment=%q", n, r.Meta().Comment)
	}
}

// TestFlowsStopEarly checks that breaking out of the loop is safe.
func TestFlowsStopEarly(t *testing.T) {
	r := NewReader(strings.NewReader(doc(minimalEntry+","+minimalEntry)), "x")
	for f, err := range r.Flows() {
		if err != nil || f.ID != 1 {
			t.Fatal(f, err)
		}
		break
	}
}

func TestVendorNameWithDot(t *testing.T) {
	fs, _, err := readAll([]byte(doc(`{"_a.b":1,"request":{"_c.d":2}}`)), "x")
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].Extra.Get("_a.b") == nil || fs[0].Request.Extra.Get("_c.d") == nil {
		t.Fatalf("names %v %v", names(fs[0].Extra), names(fs[0].Request.Extra))
	}
}

// TestErrorOffsetPointsAtValue checks that a wrong-typed field is located at
// the start of its value.
func TestErrorOffsetPointsAtValue(t *testing.T) {
	tests := []struct{ in, at string }{
		{doc(`{"response":{"status": "abc"}}`), `"abc"`},
		{doc(`{"request":{"headers":  5}}`), `5}}`},
		{`{"log": [1]}`, `[1]`},
		{doc(`{"request":{"cookies":[{"secure":"maybe"}]}}`), `"maybe"`},
	}
	for _, tc := range tests {
		_, _, err := readAll([]byte(tc.in), "x")
		var ie *trace.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if want := int64(strings.Index(tc.in, tc.at)); ie.Offset != want {
			t.Errorf("%s: offset %d, want %d (%v)", tc.in, ie.Offset, want, err)
		}
	}
}

// TestErrorFieldOfListElements holds the field paths of errors inside
// header, cookie and parameter lists, which the reader builds from a cache.
func TestErrorFieldOfListElements(t *testing.T) {
	many := strings.Repeat(`{"name":"a","value":"b"},`, 300)
	for _, c := range []struct{ in, field string }{
		{`{"request":{"headers":[{"name":"a","value":"b"},{"name":"c","value":{}}]}}`, "request.headers[1].value"},
		{`{"request":{"headers":[` + many + `{"name":[],"value":"b"}]}}`, "request.headers[300].name"},
		{`{"response":{"headers":[],"cookies":[{"name":"a"},{"name":"b"},{"name":"c","httpOnly":"maybe"}]}}`, "response.cookies[2].httpOnly"},
		{`{"request":{"cookies":[{"name":"a","value":{}}]}}`, "request.cookies[0].value"},
		{`{"request":{"postData":{"params":[{"name":"a"},{"name":"b","value":[]}]}}}`, "request.postData.params[1].value"},
		{`{"timings":{"wait":"soon"}}`, "timings.wait"},
	} {
		var err error
		for _, e := range NewReader(strings.NewReader(doc(c.in)), "t.har").Flows() {
			if e != nil {
				err = e
			}
		}
		var ie *trace.InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("error %v: want field %s", err, c.field)
		}
	}
}
