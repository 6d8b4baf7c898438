package saz_test

// Property tests of the SAZ writer against the HAR reader and writer and
// against a strict, independent HTTP/1.x parser (net/http): whatever flow a
// reader yields, the SAZ written from it holds only messages net/http
// accepts, and reading it back (directly, or through HAR) gives the same
// method, URL, protocol, status, headers and bodies.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

func sazBytes(t testing.TB, meta *trace.Meta, flows []*trace.Flow, pw string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := saz.NewWriter(&buf, meta, saz.WriterOptions{Count: len(flows), Password: pw})
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatalf("write saz: %v", err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatalf("close saz: %v", err)
	}
	return buf.Bytes()
}

func sazFlows(t testing.TB, b []byte, pw string) (*trace.Meta, []*trace.Flow) {
	t.Helper()
	r, err := saz.Open(bytes.NewReader(b), int64(len(b)), "written.saz", saz.Options{Password: pw})
	if err != nil {
		t.Fatalf("read back saz: %v", err)
	}
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatalf("read back saz: %v", err)
		}
		out = append(out, f)
	}
	return r.Meta(), out
}

func harBytes(t testing.TB, meta *trace.Meta, flows []*trace.Flow) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatalf("write har: %v", err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatalf("close har: %v", err)
	}
	return buf.Bytes()
}

func harFlows(t testing.TB, b []byte, name string) (*trace.Meta, []*trace.Flow, error) {
	t.Helper()
	r := har.NewReader(bytes.NewReader(b), name)
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			return nil, nil, err
		}
		out = append(out, f)
	}
	return r.Meta(), out, nil
}

var rawName = regexp.MustCompile(`^raw/([0-9]+)_([cs])\.txt$`)

// strictParse parses every raw/N_c.txt and raw/N_s.txt of a plain archive
// with net/http's ReadRequest and ReadResponse and reads each body to its
// end. Messages name the entry, never its content.
func strictParse(t testing.TB, b []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	methods := map[string]string{}
	var responses []*zip.File
	for _, f := range zr.File {
		m := rawName.FindStringSubmatch(f.Name)
		if m == nil {
			continue
		}
		if m[2] == "s" {
			responses = append(responses, f)
			continue
		}
		raw := entry(t, f)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Errorf("%s: net/http ReadRequest: %v", f.Name, errText(err))
			continue
		}
		if _, err := io.ReadAll(req.Body); err != nil {
			t.Errorf("%s: net/http request body: %v", f.Name, errText(err))
		}
		if req.ProtoMajor != 1 {
			t.Errorf("%s: request line version %s is not HTTP/1.x", f.Name, req.Proto)
		}
		methods[m[1]] = req.Method
	}
	for _, f := range responses {
		raw := entry(t, f)
		if len(raw) == 0 {
			continue // no response
		}
		num := rawName.FindStringSubmatch(f.Name)[1]
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: methods[num]})
		if err != nil {
			t.Errorf("%s: net/http ReadResponse: %v", f.Name, errText(err))
			continue
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Errorf("%s: net/http response body: %v", f.Name, errText(err))
		}
		if resp.ProtoMajor != 1 {
			t.Errorf("%s: status line version %s is not HTTP/1.x", f.Name, resp.Proto)
		}
	}
}

// errText keeps an error message short: net/http quotes the offending
// line, which may hold a token from a shared sample.
func errText(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "\"'"); i >= 0 {
		s = s[:i] + "(value omitted)"
	}
	return s
}

func entry(t testing.TB, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b
}

// sameFlows reports every difference in method, URL, protocol, status,
// reason, headers, bodies and response presence. It names fields and
// sizes, never values.
func sameFlows(t testing.TB, where string, a, b []*trace.Flow) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d flows became %d", where, len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		at := fmt.Sprintf("%s: flow %d", where, i+1)
		diff := func(field string, p, q string) {
			if p != q {
				t.Errorf("%s: %s changed (%d bytes -> %d bytes, first difference at byte %d)", at, field, len(p), len(q), firstDiff(p, q))
			}
		}
		if (x.Request == nil) != (y.Request == nil) {
			t.Errorf("%s: request presence changed", at)
			continue
		}
		if x.Request != nil {
			diff("request method", x.Request.Method, y.Request.Method)
			diff("request URL", x.Request.URL, y.Request.URL)
			diff("request protocol", x.Request.Proto, y.Request.Proto)
			diffHeaders(t, at+": request", x.Request.Headers, y.Request.Headers)
			diff("request body", string(x.Request.Body), string(y.Request.Body))
		}
		if (x.Response == nil) != (y.Response == nil) {
			t.Errorf("%s: response presence changed (%v -> %v)", at, x.Response != nil, y.Response != nil)
			continue
		}
		if x.Response != nil {
			if x.Response.Status != y.Response.Status {
				t.Errorf("%s: status %d -> %d", at, x.Response.Status, y.Response.Status)
			}
			diff("reason", x.Response.Reason, y.Response.Reason)
			diff("response protocol", x.Response.Proto, y.Response.Proto)
			diffHeaders(t, at+": response", x.Response.Headers, y.Response.Headers)
			diff("response body", string(x.Response.Body), string(y.Response.Body))
		}
	}
}

func diffHeaders(t testing.TB, at string, a, b trace.Headers) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s headers: %d became %d: %v -> %v", at, len(a), len(b), names(a), names(b))
		return
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			t.Errorf("%s header %d: name %q -> %q", at, i, clip(a[i].Name), clip(b[i].Name))
		} else if a[i].Value != b[i].Value {
			t.Errorf("%s header %d (%s): value of %d bytes became %d bytes", at, i, clip(a[i].Name), len(a[i].Value), len(b[i].Value))
		}
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func names(hs trace.Headers) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = clip(h.Name)
	}
	return out
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// checkHAR runs flows read from a HAR through SAZ and back, directly and
// through HAR again, with the strict parse of every message written.
func checkHAR(t testing.TB, where string, meta *trace.Meta, flows []*trace.Flow) {
	t.Helper()
	s := sazBytes(t, meta, flows, "")
	strictParse(t, s)
	m2, viaSAZ := sazFlows(t, s, "")
	sameFlows(t, where+" har→saz", flows, viaSAZ)
	_, back, err := harFlows(t, harBytes(t, m2, viaSAZ), "back.har")
	if err != nil {
		t.Fatalf("%s har→saz→har: reading the HAR written: %v", where, err)
	}
	sameFlows(t, where+" har→saz→har", flows, back)
}

// checkSAZ runs flows read from a SAZ through HAR and back to SAZ.
func checkSAZ(t testing.TB, where string, meta *trace.Meta, flows []*trace.Flow) {
	t.Helper()
	h := harBytes(t, meta, flows)
	m2, viaHAR, err := harFlows(t, h, "via.har")
	if err != nil {
		t.Fatalf("%s saz→har: reading the HAR written: %v", where, err)
	}
	sameFlows(t, where+" saz→har", flows, viaHAR)
	s := sazBytes(t, m2, viaHAR, "")
	strictParse(t, s)
	_, back := sazFlows(t, s, "")
	sameFlows(t, where+" saz→har→saz", flows, back)
}

// TestEverySampleThroughBothWriters sends every readable shared sample
// through both converters and back.
func TestEverySampleThroughBothWriters(t *testing.T) {
	hars := testutil.SharedFiles(t, "har", "*.har")
	for _, p := range hars {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		meta, flows, err := harFlows(t, b, filepath.Base(p))
		if err != nil {
			continue // the malformed samples; their errors are tested elsewhere
		}
		t.Run(filepath.Base(p), func(t *testing.T) { checkHAR(t, filepath.Base(p), meta, flows) })
	}
	for _, p := range testutil.SharedFiles(t, "saz", "*.saz") {
		r, err := saz.OpenFile(p, saz.Options{})
		if err != nil {
			continue // not a SAZ: tested elsewhere
		}
		var flows []*trace.Flow
		for f, err := range r.Flows() {
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(p), err)
			}
			flows = append(flows, f)
		}
		r.Close()
		t.Run(filepath.Base(p), func(t *testing.T) {
			checkSAZ(t, filepath.Base(p), r.Meta(), flows)
			checkHAR(t, filepath.Base(p)+" (as read)", r.Meta(), flows)
		})
	}
}

// harOfOne builds a one-entry HAR document from fuzzed fields.
func harOfOne(method, url, proto string, status int, reason, hname, hvalue string, reqBody, respBody []byte) []byte {
	entry := map[string]any{
		"startedDateTime": "2026-03-01T09:30:00.000Z", "time": 1,
		"request": map[string]any{
			"method": method, "url": url, "httpVersion": proto, "cookies": []any{},
			"headers":     []any{map[string]any{"name": hname, "value": hvalue}, map[string]any{"name": "Accept", "value": "*/*"}},
			"queryString": []any{}, "headersSize": -1, "bodySize": len(reqBody),
			"postData": map[string]any{"mimeType": "text/plain", "text": string(reqBody)},
		},
		"response": map[string]any{
			"status": status, "statusText": reason, "httpVersion": proto, "cookies": []any{},
			"headers":     []any{map[string]any{"name": hname, "value": hvalue}},
			"content":     map[string]any{"size": len(respBody), "mimeType": "text/plain", "text": string(respBody)},
			"redirectURL": "", "headersSize": -1, "bodySize": -1,
		},
		"cache": map[string]any{}, "timings": map[string]any{"send": 0, "wait": 1, "receive": 0},
	}
	doc := map[string]any{"log": map[string]any{"version": "1.2", "creator": map[string]any{"name": "fuzz", "version": "1"}, "entries": []any{entry}}}
	b, _ := json.Marshal(doc)
	return b
}

// FuzzHARThroughSAZ: any entry the HAR reader accepts survives
// HAR→SAZ→HAR, and every message written parses with net/http.
func FuzzHARThroughSAZ(f *testing.F) {
	seeds := []struct {
		method, url, proto string
		status             int
		reason, hn, hv     string
		qb, rb             string
	}{
		{"GET", "https://login.example/common/oauth2/v2.0/authorize?client_id=x", "HTTP/2", 200, "", ":authority", "login.example", "", "ok"},
		{"GET", "data:image/png;base64,iVBORw0KGgo=", "", 200, "OK", "content-type", "image/png", "", "x"},
		{"GET", "testloadimpact", "HTTP/1.1", 0, "", "Host", "a", "", ""},
		{"GET", "", "h3", 302, "Found", "Location", "/x", "", ""},
		{"POST", "https://a.example/p q?x=%zz", "http/2.0", 999, "Odd\r\nReason", "X Bad", " spaced ", "a=1", "{}"},
		{"", "blob:https://a.example/5c2f", "HTTP/1.0", -1, "", "", "", "", ""},
		{"M E", "about:blank", "SPDY/3", 1000, "x", "Content-Length", "abc", "zz", "zz"},
		{"GET", "https://a.example/", "HTTP/1.1", 200, "OK", "Transfer-Encoding", "gzip, chunked", "", "body"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.url, s.proto, s.status, s.reason, s.hn, s.hv, []byte(s.qb), []byte(s.rb))
	}
	f.Fuzz(func(t *testing.T, method, url, proto string, status int, reason, hname, hvalue string, qb, rb []byte) {
		doc := harOfOne(method, url, proto, status, reason, hname, hvalue, qb, rb)
		meta, flows, err := harFlows(t, doc, "fuzz.har")
		if err != nil {
			return // not a HAR the reader accepts
		}
		checkHAR(t, "fuzz", meta, flows)
		checkSAZ(t, "fuzz", meta, flows)
	})
}

// TestOddFlowsKept: URLs that are not absolute http(s) URLs, odd
// protocols, status 0 and missing responses survive both writers.
func TestOddFlowsKept(t *testing.T) {
	var flows []*trace.Flow
	add := func(method, url, proto string, resp *trace.Response) {
		f := &trace.Flow{ID: len(flows) + 1, Time: trace.NA, Timings: trace.NoTimings(),
			Request:  &trace.Request{Method: method, URL: url, Proto: proto, Headers: trace.Headers{{Name: "Accept", Value: "*/*"}}, HeadersSize: -1, BodySize: -1},
			Response: resp}
		flows = append(flows, f)
	}
	ok := func(status int, proto string) *trace.Response {
		return &trace.Response{Status: status, Reason: "OK", Proto: proto, Headers: trace.Headers{{Name: "content-type", Value: "text/plain"}}, Body: []byte("hi"), Size: 2, HeadersSize: -1, BodySize: -1}
	}
	for _, u := range []string{
		"data:text/plain;base64,aGk=", "data:text/html,<p>a b</p>", "about:blank", "about:srcdoc",
		"blob:https://portal.example/5c2f0d9e-1111-2222-3333-444455556666", "testloadimpact", "",
		"/relative/path?x=1", "https://a.example/%zz?q=a b#frag", "chrome-extension://abc/x.js",
	} {
		add("GET", u, "HTTP/1.1", ok(200, "HTTP/1.1"))
	}
	h2 := ok(200, "HTTP/2")
	h2.Headers = append(trace.Headers{{Name: ":status", Value: "200"}}, h2.Headers...)
	add("GET", "https://a.example/h2", "HTTP/2", h2)
	add("GET", "https://a.example/h3", "h3", ok(200, "h3"))
	add("GET", "https://a.example/http2.0", "http/2.0", ok(200, "http/2.0"))
	add("GET", "https://a.example/none", "", ok(200, ""))
	add("GET", "https://a.example/status0", "HTTP/1.1", &trace.Response{Status: 0, HeadersSize: -1, BodySize: -1})
	add("GET", "https://a.example/noresponse", "HTTP/1.1", nil)
	add("CONNECT", "login.example:443", "HTTP/1.1", ok(200, "HTTP/1.1"))
	add("", "https://a.example/nomethod", "HTTP/1.1", ok(1000, "HTTP/1.1"))

	s := sazBytes(t, &trace.Meta{Format: "har"}, flows, "")
	strictParse(t, s)
	_, back := sazFlows(t, s, "")
	sameFlows(t, "flow→saz", flows, back)
	for i, f := range back {
		if len(f.Flags) != 0 {
			t.Errorf("flow %d: flags left after reading: %v", i+1, f.Flags)
		}
	}
	_, viaHAR, err := harFlows(t, harBytes(t, &trace.Meta{}, flows), "odd.har")
	if err != nil {
		t.Fatal(err)
	}
	sameFlows(t, "flow→har", flows, viaHAR)
	checkHAR(t, "odd", &trace.Meta{}, viaHAR)

	// The flags that keep the originals are in the archive for other readers.
	zr, err := zip.NewReader(bytes.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	var meta strings.Builder
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "_m.xml") {
			meta.Write(entry(t, f))
		}
	}
	for _, want := range []string{"x-idtrace-request-url", "x-idtrace-request-protocol", "x-idtrace-response-protocol", "x-idtrace-response-status", "x-idtrace-request-method", "x-idtrace-response-headers"} {
		if !strings.Contains(meta.String(), want) {
			t.Errorf("no session flag %s written", want)
		}
	}
}

// plainSAZ builds a one-session archive with archive/zip.
func plainSAZ(t testing.TB, c, s []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		b    []byte
	}{{"raw/1_c.txt", c}, {"raw/1_s.txt", s}} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzSAZThroughHAR: any session the SAZ reader accepts survives
// SAZ→HAR→SAZ and, written again as SAZ, parses with net/http. Seeds are
// the sessions of the shared samples; an unreadable sample fails.
func FuzzSAZThroughHAR(f *testing.F) {
	seeds := 0
	for _, p := range testutil.SharedFiles(f, "saz", "*.saz") {
		zr, err := zip.OpenReader(p)
		if err != nil {
			continue // the not-a-zip sample: saz tests check it is refused
		}
		files := map[string][]byte{}
		for _, e := range zr.File {
			if rawName.MatchString(e.Name) && e.UncompressedSize64 < 16<<10 {
				files[e.Name] = entry(f, e)
			}
		}
		zr.Close()
		for name, c := range files {
			if strings.HasSuffix(name, "_c.txt") {
				f.Add(c, files[strings.TrimSuffix(name, "_c.txt")+"_s.txt"])
				seeds++
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seed session found in the shared SAZ samples")
	}
	f.Add([]byte("GET https://a.example/ HTTP/2\r\n:authority: a.example\r\n\r\n"), []byte("HTTP/2 200\r\n\r\nhi"))
	f.Add([]byte("GET data:text/plain,a%20b HTTP/1.1\r\n\r\n"), []byte(""))
	f.Fuzz(func(t *testing.T, c, s []byte) {
		b := plainSAZ(t, c, s)
		r, err := saz.Open(bytes.NewReader(b), int64(len(b)), "fuzz.saz", saz.Options{MaxEntryBytes: 1 << 20})
		if err != nil {
			return
		}
		var flows []*trace.Flow
		for fl, err := range r.Flows() {
			if err != nil {
				return // refused with an error: FuzzSession checks its type
			}
			flows = append(flows, fl)
		}
		checkSAZ(t, "fuzz", r.Meta(), flows)
		checkHAR(t, "fuzz (as read)", r.Meta(), flows)
	})
}
