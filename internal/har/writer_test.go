package har

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/trace"
)

func tm(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func boolPtr(b bool) *bool { return &b }

// syntheticFlows are made-up flows (synthetic, not captured) covering what
// HAR has no direct place for.
func syntheticFlows() []*trace.Flow {
	binary := []byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 'a', 0x80}
	return []*trace.Flow{
		{ // a: binary bodies both ways, SAZ-style fields, bracketed IPv6 server
			ID: 1, Session: 7, Process: "chrome:1234", ClientAddr: "127.0.0.1:50123", ServerAddr: "[2001:db8::1]",
			Started: tm("2024-03-01T10:00:00.123+05:30"), Time: 42.5,
			Flags: []trace.Flag{{Name: "x-clientip", Value: "127.0.0.1"}, {Name: "ui-comments", Value: "note"}},
			Request: &trace.Request{Method: "POST", URL: "https://login.example.test/common/oauth2/token?a=1&b=%20x",
				Proto: "HTTP/1.1", Headers: trace.Headers{{Name: "Host", Value: "login.example.test"}, {Name: "X-Dup", Value: "1"}, {Name: "X-Dup", Value: "2"}},
				Body: binary, HasBody: true, MimeType: "application/octet-stream", HeadersSize: 120, BodySize: 9},
			Response: &trace.Response{Status: 200, Reason: "OK", Proto: "HTTP/1.1", Headers: trace.Headers{{Name: "Content-Encoding", Value: "gzip"}},
				Body: binary, MimeType: "application/octet-stream", Size: 9, HeadersSize: -1, BodySize: -1, Encoding: "gzip"},
			Timings: trace.Timings{Blocked: trace.NA, DNS: 1.25, Connect: 3, SSL: 2, Send: 0.5, Wait: 30, Receive: 7.75},
		},
		{ // b: no response, an error, an empty URL, NaN timing
			ID: 2, Error: "connection reset", ServerAddr: "proxy.example.test:8888",
			Request: &trace.Request{Method: "GET", URL: "", HeadersSize: -1, BodySize: -1},
			Timings: trace.Timings{Blocked: math.NaN(), DNS: trace.NA, Connect: trace.NA, SSL: trace.NA, Send: 0, Wait: 0, Receive: 0},
			Time:    trace.NA,
		},
		{ // c: URL with spaces and no scheme, websocket, invalid cache, params, extras that collide
			ID: 3, Started: tm("2024-03-01T10:00:01Z"),
			Request: &trace.Request{Method: "GET", URL: "/relative path?q=a b", Proto: "h2", HeadersSize: -1, BodySize: -1,
				HasBody: true, MimeType: "application/x-www-form-urlencoded",
				Params: []trace.Param{{Name: "a", Value: "1"}, {Name: "file", FileName: "f.txt", ContentType: "text/plain"}},
				Extra:  trace.Extensions{{Name: "url", JSON: []byte(`"collides"`)}, {Name: "_x", JSON: []byte(`{"deep":[1,2,{"k":null}]}`)}}},
			Response: &trace.Response{Status: 101, Reason: "Switching Protocols", Proto: "h2", BodyOmitted: true, Size: trace.Unknown,
				HeadersSize: -1, BodySize: -1, ContentExtra: trace.Extensions{{Name: "_file", JSON: []byte(`"abc.bin"`)}},
				Cookies: []trace.Cookie{{Name: "s", Value: "v", HTTPOnly: boolPtr(true), Secure: boolPtr(false), SameSite: "Lax",
					Expires: "Thu, 01 Jan 2030 00:00:00 GMT",
					Extra:   trace.Extensions{{Name: "_priority", JSON: []byte(`"High"`)}}}}},
			Cache:     []byte(`{"afterRequest":{"expires":"4294967295"}}`),
			WebSocket: []trace.WSMessage{{Type: "send", Time: 1709287201.5, Opcode: 1, Data: "hello"}, {Type: "receive", Time: 1709287201.75, Opcode: 2, Data: "AAEC", Extra: trace.Extensions{{Name: "_id", JSON: []byte(`3`)}}}},
			Timings:   trace.NoTimings(),
			Extra:     trace.Extensions{{Name: "_initiator", JSON: []byte(`{"type":"other"}`)}, {Name: "response", JSON: []byte(`1`)}},
		},
		{ // e: vendor fields named like the writer's own, in shapes it does not use
			ID: 5, Request: &trace.Request{Method: "GET", URL: "https://a.test/"}, Response: &trace.Response{Status: 204},
			Timings: trace.NoTimings(),
			Extra:   trace.Extensions{{Name: "_webSocketMessages", JSON: []byte(`{"odd":true}`)}, {Name: "_idtrace", JSON: []byte(`"foreign"`)}},
		},
		{ // d: nil request, status 0 with an error (Chrome's failed requests)
			ID: 4, Error: "net::ERR_BLOCKED_BY_CLIENT",
			Response: &trace.Response{Status: 0, HeadersSize: -1, BodySize: -1, Size: 0},
			Timings:  trace.NoTimings(),
		},
	}
}

func TestWriterSyntheticRoundTrip(t *testing.T) {
	in := syntheticFlows()
	meta := &trace.Meta{Creator: trace.Software{Name: "synthetic", Version: "1"}, Extra: trace.Extensions{{Name: "_log", JSON: []byte(`true`)}}}
	out := writeAll(t, in, meta)
	// The output is strict JSON: no duplicate names although Extra collides.
	if v := jsontext.Value(slices.Clone(out)); v.Compact() != nil {
		err := v.Compact()
		t.Fatalf("output is not strict JSON: %v", err)
	}
	got, meta2, err := readAll(out, "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("%d flows became %d", len(in), len(got))
	}
	sameExt(t, "log", meta.Extra, meta2.Extra)
	tests := []struct {
		name  string
		check func(a, b *trace.Flow) bool
	}{
		{"session, process, client address, flags", func(a, b *trace.Flow) bool {
			return a.Session == b.Session && a.Process == b.Process && a.ClientAddr == b.ClientAddr && slices.Equal(a.Flags, b.Flags)
		}},
		{"server address as given", func(a, b *trace.Flow) bool { return a.ServerAddr == b.ServerAddr }},
		{"error", func(a, b *trace.Flow) bool { return a.Error == b.Error }},
		{"response presence", func(a, b *trace.Flow) bool { return (a.Response == nil) == (b.Response == nil) }},
		{"url", func(a, b *trace.Flow) bool { return a.Request == nil || a.Request.URL == b.Request.URL }},
		{"request body", func(a, b *trace.Flow) bool { return a.Request == nil || bytes.Equal(a.Request.Body, b.Request.Body) }},
		{"response body", func(a, b *trace.Flow) bool { return a.Response == nil || bytes.Equal(a.Response.Body, b.Response.Body) }},
		{"params", func(a, b *trace.Flow) bool {
			return a.Request == nil || slices.Equal(a.Request.Params, b.Request.Params)
		}},
		{"cache", func(a, b *trace.Flow) bool { return a.Cache == nil || string(a.Cache) == compactString(b.Cache) }},
		{"websocket", func(a, b *trace.Flow) bool { return len(a.WebSocket) == len(b.WebSocket) }},
		{"cookies", func(a, b *trace.Flow) bool {
			return a.Response == nil || len(a.Response.Cookies) == len(b.Response.Cookies) &&
				(len(a.Response.Cookies) == 0 || a.Response.Cookies[0].Expires == b.Response.Cookies[0].Expires &&
					len(a.Response.Cookies[0].Extra) == len(b.Response.Cookies[0].Extra))
		}},
		{"started", func(a, b *trace.Flow) bool { return a.Started.Equal(b.Started) }},
	}
	for _, tc := range tests {
		for i := range in {
			if !tc.check(in[i], got[i]) {
				t.Errorf("flow %d: %s did not round trip", in[i].ID, tc.name)
			}
		}
	}
	// The NaN timing is written as -1.
	if got[1].Timings.Blocked != trace.NA {
		t.Errorf("NaN timing read back as %v", got[1].Timings.Blocked)
	}
	// Extensions that collide with standard names are not written.
	if got[2].Request.URL != in[2].Request.URL || names(got[2].Request.Extra)[0] != "_x" {
		t.Errorf("colliding request extra: %v", names(got[2].Request.Extra))
	}
	sameExt(t, "odd vendor fields", in[3].Extra, got[3].Extra)
	if !slices.Equal(names(got[2].Extra), []string{"_initiator"}) {
		t.Errorf("entry extras = %v", names(got[2].Extra))
	}
	for _, want := range []string{`"encoding": "base64"`, `"url": "about:blank"`, `"url": "about:/relative%20path?q=a%20b"`,
		`"serverIPAddress": "2001:db8::1"`, `"startedDateTime": "2024-03-01T10:00:00.123+05:30"`, `"_error": "net::ERR_BLOCKED_BY_CLIENT"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
}

func compactString(v []byte) string {
	x := jsontext.Value(slices.Clone(v))
	if x.Compact() != nil {
		return ""
	}
	return string(x)
}

func TestWriterMetaAtClose(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, nil) // nothing known up front
	if err := w.WriteFlow(syntheticFlows()[0]); err != nil {
		t.Fatal(err)
	}
	final := &trace.Meta{
		Creator: trace.Software{Name: "late", Version: "2", Extra: trace.Extensions{{Name: "_c", JSON: []byte(`1`)}}},
		Browser: &trace.Software{Name: "Edge", Version: "120"},
		Pages:   []trace.Page{{ID: "page_1", Title: "t", Started: tm("2024-03-01T10:00:00Z"), OnContentLoad: 10, OnLoad: trace.NA}},
		Comment: "c",
	}
	if err := w.Close(final); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFlow(syntheticFlows()[0]); err == nil {
		t.Error("WriteFlow after Close succeeded")
	}
	_, m, err := readAll(buf.Bytes(), "x")
	if err != nil {
		t.Fatal(err)
	}
	sameMeta(t, final, m)
}

func TestWriterEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf, nil).Close(nil); err != nil {
		t.Fatal(err)
	}
	flows, m, err := readAll(buf.Bytes(), "x")
	if err != nil || len(flows) != 0 || m.Creator.Name != DefaultCreator.Name {
		t.Fatalf("empty document: %d flows, creator %q, %v", len(flows), m.Creator.Name, err)
	}
}

func TestWriterRejectsInvalidExtra(t *testing.T) {
	f := syntheticFlows()[0]
	f.Extra = trace.Extensions{{Name: "_bad", JSON: []byte(`{nope`)}}
	err := NewWriter(&bytes.Buffer{}, nil).WriteFlow(f)
	if err == nil || !strings.Contains(err.Error(), "_bad") {
		t.Fatalf("err = %v, want one naming _bad", err)
	}
}

// TestTextOrBase64 checks the writer's choice of text or base64 and that the
// bytes come back exactly.
func TestTextOrBase64(t *testing.T) {
	tests := []struct {
		body   string
		base64 bool
	}{
		{"plain text", false},
		{"ünïcödé ✓", false},
		{"", false},
		{"nul\x00byte", true},
		{"\xff\xfe invalid utf-8", true},
		{"{\"json\":\"\\u0001\"}\r\n\t", false},
	}
	for _, tc := range tests {
		f := &trace.Flow{ID: 1, Request: &trace.Request{Method: "GET", URL: "https://x.test/"},
			Response: &trace.Response{Status: 200, Body: []byte(tc.body), Size: int64(len(tc.body))}}
		out := writeAll(t, []*trace.Flow{f}, nil)
		if got := bytes.Contains(out, []byte(`"encoding": "base64"`)); got != tc.base64 {
			t.Errorf("%q: base64 = %v, want %v", tc.body, got, tc.base64)
		}
		flows, _, err := readAll(out, "x")
		if err != nil {
			t.Fatal(err)
		}
		if string(flows[0].Response.Body) != tc.body {
			t.Errorf("%q came back as %q", tc.body, flows[0].Response.Body)
		}
	}
}
