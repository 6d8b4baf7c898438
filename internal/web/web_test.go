package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// loadTrace indexes and analyses a HAR file the way the CLI does.
func loadTrace(t testing.TB, path string) *Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := analyze.New(analyze.Options{})
	x, err := index.Build(context.Background(), filepath.Join(t.TempDir(), "x.db"), har.NewReader(f, filepath.Base(path)), a.Add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	rep := a.Finish()
	marks := map[int]int{}
	for _, s := range rep.Flows {
		for _, st := range s.Steps {
			marks[st.FlowID] = s.ID
		}
	}
	if err := x.MarkSignIns(marks); err != nil {
		t.Fatal(err)
	}
	return &Trace{Name: filepath.Base(path), Index: x, Report: rep}
}

func sharedHAR(t testing.TB, name string) string {
	return filepath.Join(testutil.SharedDir(t, "har"), name)
}

// start serves traces on a random loopback port until the test ends.
func start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func get(t testing.TB, s *Server, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.BaseURL()+path, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestSecurity(t *testing.T) {
	tr := loadTrace(t, sharedHAR(t, "bluecore_chrome_entra-sharepoint-login.har"))
	s := start(t, Options{Traces: []*Trace{tr}})
	tok := map[string]string{"X-Idtrace-Token": s.Token()}

	for _, p := range []string{"/", "/api/info", "/api/flows", "/api/flow?id=1", "/ui/app.js", "/api/events"} {
		if resp, _ := get(t, s, p, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s without token: %d, want 403", p, resp.StatusCode)
		}
		if resp, _ := get(t, s, p, map[string]string{"X-Idtrace-Token": "wrong"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s with a wrong token: %d, want 403", p, resp.StatusCode)
		}
	}
	// A foreign Host (DNS rebinding) is refused even with the token.
	for _, h := range []string{"evil.example", "evil.example:" + s.port, "127.0.0.1:1"} {
		hd := map[string]string{"Host": h, "X-Idtrace-Token": s.Token()}
		if resp, _ := get(t, s, "/api/info", hd); resp.StatusCode != http.StatusForbidden {
			t.Errorf("Host %s: %d, want 403", h, resp.StatusCode)
		}
	}
	// The token in the page URL is traded for an HttpOnly, SameSite=Strict cookie.
	resp, _ := get(t, s, "/?token="+s.Token(), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /?token=: %d, want 303", resp.StatusCode)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		ck = c
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Value != s.Token() {
		t.Fatalf("cookie %+v: want HttpOnly SameSite=Strict with the token", ck)
	}
	if resp, _ := get(t, s, "/?token=nope", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token in the page URL: %d, want 403", resp.StatusCode)
	}
	resp, body := get(t, s, "/api/info", map[string]string{"Cookie": ck.Name + "=" + ck.Value})
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"flows":30`)) {
		t.Fatalf("with the cookie: %d %s", resp.StatusCode, body)
	}
	// Every answer carries the CSP.
	resp, _ = get(t, s, "/", tok)
	if c := resp.Header.Get("Content-Security-Policy"); !strings.Contains(c, "default-src 'none'") || !strings.Contains(c, "script-src 'self'") || strings.Contains(c, "unsafe") {
		t.Fatalf("CSP %q", c)
	}
	// A cross-origin POST is refused; a same-origin one is served.
	post := func(origin, site string) int {
		req, _ := http.NewRequest("POST", s.BaseURL()+"/api/export", strings.NewReader(`{"t":0,"ids":[1],"format":"har"}`))
		req.Header.Set("X-Idtrace-Token", s.Token())
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("https://evil.example", "cross-site"); c != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", c)
	}
	if c := post("https://evil.example", ""); c != http.StatusForbidden {
		t.Errorf("cross-origin POST (Origin only): %d, want 403", c)
	}
	if c := post(s.BaseURL(), "same-origin"); c != 200 {
		t.Errorf("same-origin POST: %d, want 200", c)
	}
	// Only loopback addresses may be listened on.
	if _, err := New(Options{Traces: []*Trace{tr}, Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("listening on 0.0.0.0 accepted")
	}
}

func apiJSON(t testing.TB, s *Server, path string, v any) int {
	t.Helper()
	resp, b := get(t, s, path, map[string]string{"X-Idtrace-Token": s.Token()})
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// The API masks tokens and cookies unless asked, and decodes JWTs in place.
func TestFlowMasksSecrets(t *testing.T) {
	p := sharedHAR(t, "nullmicgo_chrome_azure-portal_bearer.har")
	tr := loadTrace(t, p)
	s := start(t, Options{Traces: []*Trace{tr}})
	// The raw JWTs and cookie values of the trace, to look for in answers.
	var secrets []string
	bearerFlow := 0
	for f, err := range tr.Index.Flows(nil) {
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range f.Request.Headers {
			for m := range jwt.All(h.Value) {
				secrets = append(secrets, m.Token)
				if bearerFlow == 0 && strings.EqualFold(h.Name, "Authorization") {
					bearerFlow = f.ID
				}
			}
			if strings.EqualFold(h.Name, "Cookie") {
				for c := range strings.SplitSeq(h.Value, ";") {
					if _, v, ok := strings.Cut(c, "="); ok && len(v) > 16 {
						secrets = append(secrets, v)
					}
				}
			}
		}
	}
	if bearerFlow == 0 || len(secrets) == 0 {
		t.Fatal("the sample has no bearer token: the test needs one")
	}
	for f, err := range tr.Index.Flows(nil) {
		if err != nil {
			t.Fatal(err)
		}
		_, b := get(t, s, "/api/flow?id="+itoa(f.ID), map[string]string{"X-Idtrace-Token": s.Token()})
		for i, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Fatalf("flow %d: the answer holds secret #%d whole", f.ID, i)
			}
		}
	}
	_, b := get(t, s, "/api/flows?limit=5000", map[string]string{"X-Idtrace-Token": s.Token()})
	for i, sec := range secrets {
		if bytes.Contains(b, []byte(sec)) {
			t.Fatalf("grid rows hold secret #%d whole", i)
		}
	}
	var v FlowView
	if c := apiJSON(t, s, "/api/flow?id="+itoa(bearerFlow), &v); c != 200 {
		t.Fatalf("flow: %d", c)
	}
	if len(v.Tokens) == 0 || v.Tokens[0].JWT == nil || len(v.Tokens[0].JWT.Explained) == 0 {
		t.Fatalf("flow %d: bearer token not decoded: %+v", bearerFlow, v.Tokens)
	}
	// The page shows the verdict in the reports' words; a bearer token in a
	// trace without its issuer's keys cannot be checked.
	if v.Tokens[0].Verdict != "not checked" {
		t.Fatalf("flow %d: verdict %q, want \"not checked\"", bearerFlow, v.Tokens[0].Verdict)
	}
	if v.Masked == 0 {
		t.Fatal("nothing counted as masked")
	}
	var rv FlowView
	apiJSON(t, s, "/api/flow?reveal=1&id="+itoa(bearerFlow), &rv)
	if !rv.Revealed || !strings.HasPrefix(rv.Tokens[0].Display, "eyJ") || strings.Contains(rv.Tokens[0].Display, "…") {
		t.Fatal("reveal=1 did not show the token whole")
	}
}

func TestFlowsAPI(t *testing.T) {
	tr := loadTrace(t, sharedHAR(t, "bluecore_chrome_entra-sharepoint-login.har"))
	s := start(t, Options{Traces: []*Trace{tr}})
	var pg index.Page
	if c := apiJSON(t, s, "/api/flows?limit=10&offset=5", &pg); c != 200 || pg.Total != 30 || len(pg.Rows) != 10 || pg.Rows[0].ID != 6 {
		t.Fatalf("paging: %d total %d rows %d", c, pg.Total, len(pg.Rows))
	}
	if c := apiJSON(t, s, "/api/flows?sort=bytes&desc=1&limit=30", &pg); c != 200 {
		t.Fatalf("sort: %d", c)
	}
	for i := 1; i < len(pg.Rows); i++ {
		if pg.Rows[i].Bytes > pg.Rows[i-1].Bytes {
			t.Fatalf("sort by bytes desc: row %d has %d after %d", i, pg.Rows[i].Bytes, pg.Rows[i-1].Bytes)
		}
	}
	if c := apiJSON(t, s, "/api/flows?signin=1&limit=100", &pg); c != 200 || pg.Total == 0 || pg.Total == 30 {
		t.Fatalf("sign-in filter: %d total %d", c, pg.Total)
	}
	for _, bad := range []string{"/api/flows?sort=nope", "/api/flows?status=abc", "/api/flows?limit=x", "/api/flows?t=7", "/api/flow?id=x", "/api/flows?errors=maybe"} {
		if c := apiJSON(t, s, bad, &pg); c != 400 {
			t.Errorf("%s: %d, want 400", bad, c)
		}
	}
	if c := apiJSON(t, s, "/api/flow?id=999", &pg); c != 404 {
		t.Errorf("missing flow: %d, want 404", c)
	}
	var rep analyze.Report
	if c := apiJSON(t, s, "/api/report", &rep); c != 200 || len(rep.Flows) == 0 {
		t.Fatalf("report: %d, %d sign-ins", c, len(rep.Flows))
	}
	// The correlation ID the sign-in error names is one click away.
	corr := regexp.MustCompile(`(?i)correlation ID:? ([0-9a-f-]{36})`).FindStringSubmatch(rep.Flows[0].Error)
	if corr == nil {
		t.Fatalf("the sample's sign-in error names no correlation ID: %q", rep.Flows[0].Error)
	}
	var ids []CaseIDs
	if c := apiJSON(t, s, "/api/caseids", &ids); c != 200 || len(ids) != 1 {
		t.Fatalf("caseids: %d %+v", c, ids)
	}
	found := false
	for _, it := range ids[0].Items {
		if it.Name == "correlation id" && it.Value == corr[1] {
			found = true
		}
	}
	if !found {
		t.Fatalf("correlation ID %s not among the case identifiers %+v", corr[1], ids[0].Items)
	}
}

// Export writes the chosen flows as HAR that reads back, and as SAZ.
func TestExport(t *testing.T) {
	tr := loadTrace(t, sharedHAR(t, "bluecore_chrome_entra-sharepoint-login.har"))
	s := start(t, Options{Traces: []*Trace{tr}})
	post := func(body string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", s.BaseURL()+"/api/export", strings.NewReader(body))
		req.Header.Set("X-Idtrace-Token", s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := post(`{"t":0,"ids":[2,5,7],"format":"har"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	var got []*trace.Flow
	for f, err := range har.NewReader(bytes.NewReader(b), "export.har").Flows() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
	}
	if len(got) != 3 {
		t.Fatalf("exported %d flows, want 3", len(got))
	}
	for i, id := range []int{2, 5, 7} {
		orig, _ := tr.Index.Flow(id)
		if got[i].Request.URL != orig.Request.URL {
			t.Fatalf("exported flow %d is not flow %d", i, id)
		}
	}
	resp, b = post(`{"t":0,"filter":{"host":"microsoftonline"},"format":"saz"}`)
	if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("PK")) {
		t.Fatalf("saz export: %d", resp.StatusCode)
	}
	for _, bad := range []string{`{"t":0,"ids":[99],"format":"har"}`, `{"t":0,"ids":[1],"format":"zip"}`, `{"t":3}`, `nope`} {
		if resp, _ := post(bad); resp.StatusCode != 400 {
			t.Errorf("export %s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// Live flows reach the page through server-sent events.
func TestEvents(t *testing.T) {
	x, err := index.Create(filepath.Join(t.TempDir(), "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	s := start(t, Options{Traces: []*Trace{{Name: "live", Index: x}}})
	req, _ := http.NewRequest("GET", s.BaseURL()+"/api/events", nil)
	req.Header.Set("X-Idtrace-Token", s.Token())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	read := func() string {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if e := read(); !strings.Contains(e, `"flows":[0]`) {
		t.Fatalf("first event %q", e)
	}
	if err := s.Publish(0, &trace.Flow{ID: 1, Request: &trace.Request{Method: "GET", URL: "https://a.test/"}}); err != nil {
		t.Fatal(err)
	}
	if e := read(); !strings.Contains(e, `"flows":[1]`) {
		t.Fatalf("event after a published flow %q", e)
	}
	var pg index.Page
	if c := apiJSON(t, s, "/api/flows", &pg); c != 200 || pg.Total != 1 {
		t.Fatalf("live flow not in the grid: %d %d", c, pg.Total)
	}
}

// secretsOf lists the credential values a flow carries: cookie values of 16
// bytes or more, Authorization values, and JWT signatures. The names say
// where each came from; test messages print the names, never the values.
func secretsOf(f *trace.Flow) map[string]string {
	out := map[string]string{}
	add := func(name, v string) {
		if len(v) >= 16 {
			out[name] = v
		}
	}
	cookies := func(where string, cs []trace.Cookie) {
		for _, c := range cs {
			add(fmt.Sprintf("flow %d %s cookie %s", f.ID, where, c.Name), c.Value)
		}
	}
	if q := f.Request; q != nil {
		cookies("request", q.Cookies)
		for _, h := range q.Headers {
			switch strings.ToLower(h.Name) {
			case "cookie":
				for _, p := range strings.Split(h.Value, ";") {
					if n, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
						add(fmt.Sprintf("flow %d request Cookie %s", f.ID, n), v)
					}
				}
			case "authorization":
				add(fmt.Sprintf("flow %d request Authorization", f.ID), h.Value)
			}
		}
	}
	if s := f.Response; s != nil {
		cookies("response", s.Cookies)
	}
	text := ""
	if f.Request != nil {
		text += f.Request.URL + string(f.Request.Body)
		for _, h := range f.Request.Headers {
			text += " " + h.Value
		}
	}
	if f.Response != nil {
		text += string(f.Response.Body)
	}
	for i, m := range jwtRE.FindAllStringSubmatch(text, -1) {
		add(fmt.Sprintf("flow %d JWT %d signature", f.ID, i), m[1])
	}
	return out
}

var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.([A-Za-z0-9_-]{16,})`)

// An export is sanitized unless asked otherwise: the HAR of a sample full of
// session cookies and bearer tokens holds none of their values, and
// redact's own check finds nothing left in it. The opt-out gives the
// flows as captured.
func TestExportSanitizedByDefault(t *testing.T) {
	allJWTs := 0
	for _, name := range []string{"bluecore_chrome_entra-sharepoint-login.har", "nullmicgo_chrome_azure-portal_bearer.har"} {
		t.Run(name, func(t *testing.T) {
			tr := loadTrace(t, sharedHAR(t, name))
			s := start(t, Options{Traces: []*Trace{tr}})
			secrets := map[string]string{}
			for f, err := range tr.Index.Flows(nil) {
				if err != nil {
					t.Fatal(err)
				}
				maps.Copy(secrets, secretsOf(f))
			}
			for k := range secrets {
				if strings.Contains(k, "JWT") {
					allJWTs++
				}
			}
			if len(secrets) < 10 {
				t.Fatalf("the sample holds %d credential values: want a sample with cookies and tokens", len(secrets))
			}
			export := func(body string) (*http.Response, []byte) {
				req, _ := http.NewRequest("POST", s.BaseURL()+"/api/export", strings.NewReader(body))
				req.Header.Set("X-Idtrace-Token", s.Token())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("export %s: %d %s", body, resp.StatusCode, b)
				}
				return resp, b
			}

			resp, b := export(`{"t":0,"filter":{},"format":"har"}`)
			if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "-sanitized.har") || resp.Header.Get("X-Idtrace-Sanitized") != "1" {
				t.Errorf("default export not labelled sanitized: %q", cd)
			}
			for where, v := range secrets {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("sanitized export still holds the value of %s", where)
				}
			}
			var removed []string
			check := redact.New(redact.Options{Key: make([]byte, 32), OnRemove: func(m redact.Removal) {
				removed = append(removed, fmt.Sprintf("flow %d: %s: %s", m.FlowID, m.Rule, m.Where))
			}})
			n := 0
			for f, err := range har.NewReader(bytes.NewReader(b), "export.har").Flows() {
				if err != nil {
					t.Fatal(err)
				}
				check.Flow(f)
				n++
			}
			if n != tr.Index.Len() {
				t.Fatalf("exported %d flows, the trace has %d", n, tr.Index.Len())
			}
			if len(removed) > 0 {
				t.Errorf("redact's check finds %d secrets left in the sanitized export, first: %s", len(removed), removed[0])
			}

			// The SAZ export is sanitized the same way.
			values := map[string]bool{}
			for _, v := range secrets {
				values[v] = true
			}
			_, z := export(`{"t":0,"filter":{},"format":"saz"}`)
			sz, err := saz.Open(bytes.NewReader(z), int64(len(z)), "export.saz", saz.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for f, err := range sz.Flows() {
				if err != nil {
					t.Fatal(err)
				}
				for where, v := range secretsOf(f) {
					if values[v] {
						t.Errorf("sanitized SAZ export still holds a credential value, at %s", where)
					}
				}
			}

			// The opt-out keeps the values: the search above can see them.
			resp, b = export(`{"t":0,"filter":{},"format":"har","unsanitized":true}`)
			if !strings.Contains(resp.Header.Get("Content-Disposition"), "-unsanitized.har") {
				t.Errorf("unsanitized export not labelled so: %q", resp.Header.Get("Content-Disposition"))
			}
			kept := 0
			for _, v := range secrets {
				if bytes.Contains(b, []byte(v)) {
					kept++
				}
			}
			if kept < len(secrets)/2 {
				t.Errorf("unsanitized export holds %d of %d credential values", kept, len(secrets))
			}
		})
	}
	if allJWTs == 0 {
		t.Fatal("no JWT signature in the samples: the test does not cover tokens")
	}
}
