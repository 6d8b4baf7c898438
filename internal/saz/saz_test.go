package saz

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	yzip "github.com/yeka/zip"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// readAll reads every flow of a SAZ held in memory.
func readAll(t testing.TB, b []byte, opts Options) (*Reader, []*trace.Flow, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(b), int64(len(b)), "test.saz", opts)
	if err != nil {
		return nil, nil, err
	}
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			return r, out, err
		}
		out = append(out, f)
	}
	return r, out, nil
}

// countRequests counts raw/*_c.txt entries with archive/zip alone.
func countRequests(t *testing.T, path string) int {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	n := 0
	re := regexp.MustCompile(`^raw/\d+_c\.txt$`)
	for _, f := range zr.File {
		if re.MatchString(f.Name) {
			n++
		}
	}
	return n
}

func isZip(path string) bool {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return false
	}
	zr.Close()
	return true
}

func TestSharedFiles(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "saz", "*.saz") {
		t.Run(filepath.Base(p), func(t *testing.T) {
			r, err := OpenFile(p, Options{})
			if !isZip(p) {
				var ie *trace.InputError
				if !errors.As(err, &ie) || ie.File != p || !strings.Contains(err.Error(), "not a SAZ archive") {
					t.Fatalf("want an InputError naming the file, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if m := r.Meta(); m.Format != "saz" || m.Creator.Name != "Fiddler" {
				t.Errorf("meta = %+v", m)
			}
			n := 0
			prevSession := 0
			for f, err := range r.Flows() {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if f.ID != n {
					t.Errorf("flow %d has ID %d", n, f.ID)
				}
				if f.Request == nil || f.Request.Method == "" || f.Request.URL == "" {
					t.Errorf("flow %d: no request line", n)
				}
				if f.Session <= prevSession {
					t.Errorf("flow %d: session %d not increasing", n, f.Session)
				}
				prevSession = f.Session
				if f.Response != nil && f.Response.Encoding != "" && f.Response.Extra.Get("_decodeError") == nil && len(f.Response.Wire) == 0 && len(f.Response.Body) > 0 {
					t.Errorf("flow %d: encoded body without Wire", n)
				}
			}
			if want := countRequests(t, p); n != want {
				t.Errorf("read %d flows, archive has %d raw/*_c.txt", n, want)
			}
		})
	}
}

// TestSharedDetails checks values read from real archives against what
// unzip -p shows for them.
func TestSharedDetails(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "saz"), "knapcode_httpbin-test.saz")
	r, err := OpenFile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Meta().Version != "5.0.20253.3311" {
		t.Errorf("version = %q", r.Meta().Version)
	}
	var flows []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	f1, f6 := flows[0], flows[5]
	// raw/1_m.xml: SID 2, ClientBeginRequest 11:33:40.0256586-07:00,
	// TCPConnectTime 122, HTTPSHandshakeTime 122, ServerBeginResponse
	// 11:33:41.4264004, ServerGotRequest 11:33:40.2713745.
	if f1.Session != 2 || f1.Started.Format(netTime) != "2025-08-30T11:33:40.0256586-07:00" {
		t.Errorf("session %d started %s", f1.Session, f1.Started.Format(netTime))
	}
	if f1.Timings.Connect != 244 || f1.Timings.SSL != 122 || math.Abs(f1.Timings.Wait-1155.0259) > 1e-6 {
		t.Errorf("timings = %+v", f1.Timings)
	}
	if f1.Process != "msedge:12140" || f1.ClientAddr != "127.0.0.1:64971" || f1.ServerAddr != "44.195.242.49" {
		t.Errorf("process %q client %q server %q", f1.Process, f1.ClientAddr, f1.ServerAddr)
	}
	// raw/6_m.xml: x-responsebodytransferlength "1,371".
	if f6.Response.BodySize != 1371 || f6.Session != 99 {
		t.Errorf("body size %d session %d", f6.Response.BodySize, f6.Session)
	}
	// raw/3_s.txt is brotli: the decoded body is JSON.
	if f3 := flows[2]; f3.Response.Encoding != "br" || !bytes.HasPrefix(bytes.TrimSpace(f3.Response.Body), []byte("{")) {
		t.Errorf("brotli body not decoded: %q", f3.Response.Encoding)
	}
}

// writeAll writes flows through the Writer.
func writeAll(t testing.TB, meta *trace.Meta, flows []*trace.Flow, opts WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, meta, opts)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func headerNames(hs trace.Headers) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1 }

func compareFlows(t *testing.T, a, b []*trace.Flow) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d flows, then %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		where := fmt.Sprintf("flow %d", x.ID)
		if x.Request.Method != y.Request.Method || x.Request.URL != y.Request.URL {
			t.Errorf("%s: %s %s -> %s %s", where, x.Request.Method, x.Request.URL, y.Request.Method, y.Request.URL)
		}
		if fmt.Sprint(x.Request.Headers) != fmt.Sprint(y.Request.Headers) || !bytes.Equal(x.Request.Body, y.Request.Body) {
			t.Errorf("%s: request headers or body changed", where)
		}
		if (x.Response == nil) != (y.Response == nil) {
			t.Fatalf("%s: response presence changed", where)
		}
		if x.Response != nil {
			if x.Response.Status != y.Response.Status || x.Response.Reason != y.Response.Reason {
				t.Errorf("%s: status %d -> %d", where, x.Response.Status, y.Response.Status)
			}
			if fmt.Sprint(x.Response.Headers) != fmt.Sprint(y.Response.Headers) {
				// Names only: the shared samples carry real cookies and tokens.
				t.Errorf("%s: response headers changed:\n%v\n%v", where, headerNames(x.Response.Headers), headerNames(y.Response.Headers))
			}
			if !bytes.Equal(x.Response.Body, y.Response.Body) {
				t.Errorf("%s: decoded body changed (%d -> %d bytes)", where, len(x.Response.Body), len(y.Response.Body))
			}
		}
		tx, ty := x.Timings, y.Timings
		for _, p := range [][3]any{{"blocked", tx.Blocked, ty.Blocked}, {"dns", tx.DNS, ty.DNS}, {"connect", tx.Connect, ty.Connect},
			{"ssl", tx.SSL, ty.SSL}, {"send", tx.Send, ty.Send}, {"wait", tx.Wait, ty.Wait}, {"receive", tx.Receive, ty.Receive}, {"time", x.Time, y.Time}} {
			if !near(p[1].(float64), p[2].(float64)) {
				t.Errorf("%s: %s %v -> %v", where, p[0], p[1], p[2])
			}
		}
		if d := x.Started.Sub(y.Started); d > time.Millisecond || d < -time.Millisecond {
			t.Errorf("%s: started %v -> %v", where, x.Started, y.Started)
		}
		if fmt.Sprint(x.Flags) != fmt.Sprint(y.Flags) {
			t.Errorf("%s: flags changed (%d -> %d flags)", where, len(x.Flags), len(y.Flags))
		}
		if x.Session != y.Session || x.Process != y.Process || x.ClientAddr != y.ClientAddr || x.ServerAddr != y.ServerAddr || x.Comment != y.Comment {
			t.Errorf("%s: session/process/addresses/comment changed", where)
		}
	}
}

func TestRoundTripShared(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "saz", "*.saz") {
		if !isZip(p) {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r1, flows1, err := readAll(t, orig, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out := writeAll(t, r1.Meta(), flows1, WriterOptions{Count: len(flows1)})
			r2, flows2, err := readAll(t, out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			compareFlows(t, flows1, flows2)
			if r1.Meta().Version != r2.Meta().Version {
				t.Errorf("version %q -> %q", r1.Meta().Version, r2.Meta().Version)
			}
			checkLayout(t, out, len(flows1))
		})
	}
}

// checkLayout checks the archive follows Fiddler's layout.
func checkLayout(t *testing.T, b []byte, n int) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^Fiddler (\(v[0-9.]+\) )?Session Archive`).MatchString(zr.Comment) {
		t.Errorf("comment = %q", zr.Comment)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	width := len(fmt.Sprint(n))
	want := []string{"raw/"}
	for i := 1; i <= n; i++ {
		num := fmt.Sprintf("%0*d", width, i)
		want = append(want, "raw/"+num+"_c.txt", "raw/"+num+"_s.txt", "raw/"+num+"_m.xml")
	}
	want = append(want, "_index.htm", "[Content_Types].xml")
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries:\n%v\nwant\n%v", names, want)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "_m.xml") {
			rc, _ := f.Open()
			head := make([]byte, 3)
			io.ReadFull(rc, head)
			rc.Close()
			if !bytes.Equal(head, bom) {
				t.Errorf("%s has no BOM", f.Name)
			}
			break
		}
	}
}

// synthetic builds a small synthetic flow list.
func synthetic() []*trace.Flow {
	start := time.Date(2026, 3, 1, 9, 30, 0, 123456700, time.FixedZone("", -7*3600))
	return []*trace.Flow{
		{
			ID: 1, Session: 12, Started: start, Time: 250.5,
			Timings:    trace.Timings{Blocked: 1.25, DNS: 3, Connect: 40, SSL: 20, Send: 0.5, Wait: 180.25, Receive: 25.5},
			ClientAddr: "127.0.0.1:50123", ServerAddr: "20.190.151.7", Process: "msedge:4242", Comment: "synthetic sign-in",
			Request: &trace.Request{Method: "POST", URL: "https://login.example/common/oauth2/v2.0/token", Proto: "HTTP/1.1",
				Headers: trace.Headers{{Name: "Host", Value: "login.example"}, {Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Content-Length", Value: "22"}},
				Body:    []byte("grant_type=synthetic&x")},
			Response: &trace.Response{Status: 200, Reason: "OK", Proto: "HTTP/1.1",
				Headers: trace.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Encoding", Value: "gzip"}, {Name: "Transfer-Encoding", Value: "chunked"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}},
				Body:    []byte(`{"token_type":"Bearer","access_token":"synthetic"}`)},
		},
		{
			ID: 2, Started: start.Add(time.Second), Time: trace.NA, Timings: trace.NoTimings(),
			Flags:   []trace.Flag{{Name: "x-fiddler-aborted", Value: "client reset"}},
			Request: &trace.Request{Method: "GET", URL: "wss://socket.example/hub", Proto: "HTTP/1.1", Headers: trace.Headers{{Name: "Upgrade", Value: "websocket"}}},
			WebSocket: []trace.WSMessage{
				{Type: "send", Time: 1772382601.25, Opcode: 1, Data: `{"hello":1}`},
				{Type: "receive", Time: 1772382601.5, Opcode: 2, Data: "AAECAw=="},
				{Type: "receive", Time: 1772382602, Opcode: 1, Data: strings.Repeat("x", 70000)},
			},
		},
	}
}

func TestRoundTripSynthetic(t *testing.T) {
	flows := synthetic()
	for _, pw := range []string{"", "correct horse"} {
		t.Run("password="+pw, func(t *testing.T) {
			out := writeAll(t, &trace.Meta{Format: "har"}, flows, WriterOptions{Password: pw})
			_, back, err := readAll(t, out, Options{Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			a := flows[0]
			b := back[0]
			if b.Session != 12 || b.Process != a.Process || b.ClientAddr != a.ClientAddr || b.ServerAddr != a.ServerAddr || b.Comment != a.Comment {
				t.Errorf("fields: %+v", b)
			}
			if !bytes.Equal(b.Response.Body, a.Response.Body) || b.Response.Encoding != "gzip" || fmt.Sprint(b.Response.Headers) != fmt.Sprint(a.Response.Headers) {
				t.Errorf("response: %q %q %v", b.Response.Body, b.Response.Encoding, b.Response.Headers)
			}
			for _, p := range [][2]float64{{a.Timings.Blocked, b.Timings.Blocked}, {a.Timings.DNS, b.Timings.DNS}, {a.Timings.Connect, b.Timings.Connect}, {a.Timings.SSL, b.Timings.SSL},
				{a.Timings.Send, b.Timings.Send}, {a.Timings.Wait, b.Timings.Wait}, {a.Timings.Receive, b.Timings.Receive}, {a.Time, b.Time}} {
				if !near(p[0], p[1]) {
					t.Errorf("timing %v -> %v", p[0], p[1])
				}
			}
			if !b.Started.Equal(a.Started) {
				t.Errorf("started %v -> %v", a.Started, b.Started)
			}
			ws := back[1]
			if ws.Response != nil || ws.Error != "x-fiddler-aborted: client reset" {
				t.Errorf("no-response flow: %v %q", ws.Response, ws.Error)
			}
			if len(ws.WebSocket) != 3 {
				t.Fatalf("websocket messages: %d", len(ws.WebSocket))
			}
			for i, m := range ws.WebSocket {
				w := flows[1].WebSocket[i]
				if m.Type != w.Type || m.Opcode != w.Opcode || m.Data != w.Data || math.Abs(m.Time-w.Time) > 1e-3 {
					t.Errorf("ws %d: %+v", i, m)
				}
			}
			if pw != "" {
				zr, _ := zip.NewReader(bytes.NewReader(out), int64(len(out)))
				for _, f := range zr.File {
					if f.Name != "raw/" && f.Flags&1 == 0 {
						t.Errorf("%s not encrypted", f.Name)
					}
				}
				if !strings.HasPrefix(zr.Comment, "Fiddler Session Archive") {
					t.Errorf("comment = %q", zr.Comment)
				}
				for _, bad := range []string{"", "wrong"} {
					_, _, err := readAll(t, out, Options{Password: bad})
					if !errors.Is(err, ErrEncrypted) {
						t.Errorf("password %q: err = %v", bad, err)
					}
					var ie *trace.InputError
					if !errors.As(err, &ie) {
						t.Errorf("password %q: not an InputError: %v", bad, err)
					}
				}
			}
		})
	}
}

type entry struct {
	name string
	data string
}

func mkzip(t testing.TB, entries []entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.data)
	}
	zw.Close()
	return buf.Bytes()
}

const reqGet = "GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\n\r\n"
const respOK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// zipCrypto builds an archive whose entries use ZipCrypto (legacy) encryption.
func zipCrypto(t testing.TB, pw string, entries []entry) []byte {
	var buf bytes.Buffer
	zw := yzip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Encrypt(e.name, pw, yzip.StandardEncryption)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.data)
	}
	zw.Close()
	return buf.Bytes()
}

func TestZipCrypto(t *testing.T) {
	buf := bytes.NewBuffer(zipCrypto(t, "s3cret", []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", respOK}}))
	_, flows, err := readAll(t, buf.Bytes(), Options{Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || string(flows[0].Response.Body) != "ok" {
		t.Fatalf("flows = %v", flows)
	}
	for _, bad := range []string{"", "nope"} {
		_, _, err := readAll(t, buf.Bytes(), Options{Password: bad})
		if !errors.Is(err, ErrEncrypted) {
			t.Errorf("password %q: err = %v", bad, err)
		}
	}
}

func TestUntrusted(t *testing.T) {
	zeros := strings.Repeat("\x00", 20<<20)
	tests := []struct {
		name    string
		zip     []byte
		opts    Options
		want    string // substring of the error
		field   string
		session int
	}{
		{"not a zip", []byte("I'm not a saz file."), Options{}, "not a SAZ archive", "", -1},
		{"empty zip", mkzip(t, nil), Options{}, "no raw/N_c.txt", "raw/", -1},
		{"dot dot", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"../evil.txt", "x"}}), Options{}, "zip-slip", "../evil.txt", -1},
		{"nested dot dot", mkzip(t, []entry{{"raw/../../x", "x"}}), Options{}, "zip-slip", "raw/../../x", -1},
		{"absolute", mkzip(t, []entry{{"/etc/x", "x"}}), Options{}, "zip-slip", "/etc/x", -1},
		{"backslash", mkzip(t, []entry{{`raw\..\x`, "x"}}), Options{}, "zip-slip", `raw\..\x`, -1},
		{"drive", mkzip(t, []entry{{"C:/x", "x"}}), Options{}, "zip-slip", "C:/x", -1},
		{"declared too big", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", zeros}}), Options{MaxEntryBytes: 1 << 20}, "over the", "raw/1_s.txt", -1},
		{"ratio bomb", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", zeros}}), Options{MaxRatio: 100}, "zip bomb", "raw/1_s.txt", 1},
		{"total cap", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/2_c.txt", reqGet}}), Options{MaxTotalBytes: 50}, "zip bomb", "raw/2_c.txt", 2},
		{"bad request", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/3_c.txt", "hello\r\n\r\n"}}), Options{}, "request line", "raw/3_c.txt", 3},
		{"bad response", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n"}}), Options{}, "colon", "raw/1_s.txt", 1},
		{"huge header", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 1<<20) + "\r\n\r\n"}}), Options{}, "longer than", "raw/1_s.txt", 1},
		{"bad xml", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_m.xml", "<Session><SessionTimers"}}), Options{}, "invalid XML", "raw/1_m.xml", 1},
		{"dtd", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_m.xml", `<!DOCTYPE x [<!ENTITY a "b">]><Session/>`}}), Options{}, "DTD", "raw/1_m.xml", 1},
		{"duplicate session", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_c.txt", reqGet}}), Options{}, "duplicate", "raw/1_c.txt", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.zip, tc.opts)
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want InputError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || ie.Field != tc.field || ie.Entry != tc.session || ie.File != "test.saz" {
				t.Errorf("error %q (entry %d field %q), want %q entry %d field %q", err, ie.Entry, ie.Field, tc.want, tc.session, tc.field)
			}
			if ie.Entry >= 0 && ie.EntryKind != "session" {
				t.Errorf("entry kind %q", ie.EntryKind)
			}
		})
	}
}

func TestNumberingAndMeta(t *testing.T) {
	m := "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Session SID=\"1,234\" BitFlags=\"0\"><SessionTimers ClientBeginRequest=\"2020-09-01T13:57:52.211861-06:00\" ClientDoneResponse=\"0001-01-01T00:00:00\" DNSTime=\"1,371\" TCPConnectTime=\"0\" HTTPSHandshakeTime=\"0\" /><SessionFlags><SessionFlag N=\"x-clientip\" V=\"::1\" /><SessionFlag N=\"x-clientport\" V=\"5000\" /><SessionFlag N=\"ui-comments\" V=\"a &amp; b\" /></SessionFlags></Session>"
	b := mkzip(t, []entry{
		{"raw/10_c.txt", reqGet}, {"raw/10_s.txt", ""},
		{"raw/2_c.txt", reqGet}, {"raw/2_s.txt", respOK}, {"raw/2_m.xml", m},
		{"raw/007_c.txt", reqGet}, {"raw/9_s.txt", respOK},
	})
	r, flows, err := readAll(t, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range flows {
		got = append(got, fmt.Sprintf("%d:%d:%v", f.ID, f.Session, f.Response != nil))
	}
	if strings.Join(got, " ") != "1:1234:true 2:7:false 3:10:false" {
		t.Errorf("order = %v", got)
	}
	f := flows[0]
	if f.Timings.DNS != 1371 || f.ClientAddr != "[::1]:5000" || f.Comment != "a & b" || f.Time != trace.NA {
		t.Errorf("meta: dns %v client %q comment %q time %v", f.Timings.DNS, f.ClientAddr, f.Comment, f.Time)
	}
	if len(r.Warnings()) != 1 || !strings.Contains(r.Warnings()[0], "raw/9_c.txt") {
		t.Errorf("warnings = %v", r.Warnings())
	}
	if r.Meta().Version != "" || r.Meta().Format != "saz" {
		t.Errorf("meta = %+v", r.Meta())
	}
	// A second pass reads the same flows and does not repeat warnings.
	n := 0
	for _, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || len(r.Warnings()) != 1 {
		t.Errorf("second pass: %d flows, warnings %v", n, r.Warnings())
	}
}

// TestFlagsFollowFields checks a redacted field is not leaked by a stale flag.
func TestFlagsFollowFields(t *testing.T) {
	f := synthetic()[0]
	f.Flags = []trace.Flag{{Name: "x-clientip", Value: "10.1.2.3"}, {Name: "x-clientport", Value: "1"}, {Name: "x-processinfo", Value: "old:1"}, {Name: "x-keep", Value: "v"}}
	f.ClientAddr = ""
	got := flagsFor(f)
	want := "[{x-clientip } {x-clientport } {x-processinfo msedge:4242} {x-keep v} {x-hostip 20.190.151.7} {ui-comments synthetic sign-in}]"
	if fmt.Sprint(got) != want {
		t.Errorf("flags = %v\nwant %v", got, want)
	}
}

// TestPseudoHeaders checks HTTP/2 pseudo-headers from a browser HAR stay out
// of the raw message files and come back in place.
func TestPseudoHeaders(t *testing.T) {
	f := synthetic()[0]
	f.Request.Headers = append(trace.Headers{{Name: ":method", Value: "POST"}, {Name: ":authority", Value: "login.example"}}, f.Request.Headers...)
	f.Request.Headers = append(f.Request.Headers[:3], append(trace.Headers{{Name: ":path", Value: "/common/oauth2/v2.0/token"}}, f.Request.Headers[3:]...)...)
	f.Response.Headers = append(trace.Headers{{Name: ":status", Value: "200"}}, f.Response.Headers...)
	out := writeAll(t, &trace.Meta{}, []*trace.Flow{f}, WriterOptions{})
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range zr.File {
		if strings.HasSuffix(e.Name, ".txt") {
			rc, _ := e.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if bytes.Contains(b, []byte("\r\n:")) {
				t.Errorf("%s has a pseudo-header line", e.Name)
			}
		}
	}
	_, back, err := readAll(t, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back[0].Request.Headers) != fmt.Sprint(f.Request.Headers) || fmt.Sprint(back[0].Response.Headers) != fmt.Sprint(f.Response.Headers) {
		t.Errorf("headers:\n%v\n%v\n%v\n%v", back[0].Request.Headers, f.Request.Headers, back[0].Response.Headers, f.Response.Headers)
	}
	if back[0].Flag(flagReqHeaders) != "" || back[0].Flag(flagRespHeaders) != "" {
		t.Errorf("pseudo-header flag left in Flags")
	}
}

// TestWebSocketDeflate reads permessage-deflate messages (RFC 7692) that
// share a compression window, as browsers send them by default.
func TestWebSocketDeflate(t *testing.T) {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	msgs := []string{`{"type":1,"target":"ReceiveMessage","arguments":["synthetic"]}`, `{"type":1,"target":"ReceiveMessage","arguments":["synthetic again"]}`}
	var w bytes.Buffer
	w.WriteString("\r\n")
	for _, m := range msgs {
		comp.Reset()
		fw.Write([]byte(m))
		fw.Flush()
		p := bytes.TrimSuffix(comp.Bytes(), []byte{0, 0, 0xff, 0xff})
		frame := append([]byte{0xC1, byte(len(p))}, p...)
		fmt.Fprintf(&w, "Response-Length: %d\r\nDoneRead: 2026-03-01T09:30:01.5000000+00:00\r\n\r\n", len(frame))
		w.Write(frame)
		w.WriteString("\r\n")
	}
	b := mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_w.txt", w.String()}})
	_, flows, err := readAll(t, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws := flows[0].WebSocket
	if len(ws) != 2 || ws[0].Data != msgs[0] || ws[1].Data != msgs[1] || ws[1].Type != "receive" || ws[1].Time != 1772357401.5 {
		t.Errorf("messages = %+v", ws)
	}
}
