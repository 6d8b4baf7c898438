package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

var malformed = map[string]bool{
	"harviewer_not-json.har":                  true,
	"mitmproxy_corrupted_broken_headers.json": true,
	"mitmproxy_corrupted_brokenfile.har":      true,
}

func readHAR(t *testing.T, path string) ([]*trace.Flow, *trace.Meta) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := har.NewReader(bytes.NewReader(data), filepath.Base(path))
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, f)
	}
	return out, r.Meta()
}

func build(t *testing.T, path string) *Index {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := Build(context.Background(), filepath.Join(t.TempDir(), "x.db"), har.NewReader(f, filepath.Base(path)), nil)
	if err != nil {
		t.Fatalf("build %s: %v", path, err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// Every flow of every readable shared HAR comes back from the index equal
// to what the reader produced, and the grid has one row per flow.
func TestRoundTripCorpus(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "har", "*") {
		if malformed[filepath.Base(p)] {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, meta := readHAR(t, p)
			x := build(t, p)
			if x.Len() != len(want) {
				t.Fatalf("Len = %d, reader gave %d flows", x.Len(), len(want))
			}
			pg, err := x.Query(Query{Limit: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if pg.Total != len(want) || len(pg.Rows) != len(want) {
				t.Fatalf("query: total %d, %d rows; want %d", pg.Total, len(pg.Rows), len(want))
			}
			n := 0
			for got, err := range x.Flows(nil) {
				if err != nil {
					t.Fatal(err)
				}
				w := want[n]
				n++
				if !got.Started.Equal(w.Started) {
					t.Fatalf("flow %d: started differs", w.ID)
				}
				var a, b bytes.Buffer
				wa, wb := har.NewWriter(&a, meta), har.NewWriter(&b, meta)
				if err := wa.WriteFlow(w); err != nil {
					t.Fatal(err)
				}
				if err := wb.WriteFlow(got); err != nil {
					t.Fatal(err)
				}
				wa.Close(meta)
				wb.Close(meta)
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					i := 0
					for i < a.Len() && i < b.Len() && a.Bytes()[i] == b.Bytes()[i] {
						i++
					}
					t.Fatalf("flow %d: HAR of the indexed flow differs from the original at byte %d: %.80q vs %.80q", w.ID, i, a.Bytes()[max(0, i-40):], b.Bytes()[max(0, i-40):])
				}
				if pg.Rows[n-1] != RowOf(w) {
					t.Fatalf("flow %d: row %+v, want %+v", w.ID, pg.Rows[n-1], RowOf(w))
				}
			}
			if n != len(want) {
				t.Fatalf("Flows yielded %d, want %d", n, len(want))
			}
			if m := x.Meta(); m.Creator.Name != meta.Creator.Name || len(m.Pages) != len(meta.Pages) {
				t.Fatalf("meta: creator %q pages %d; want %q %d", m.Creator.Name, len(m.Pages), meta.Creator.Name, len(meta.Pages))
			}
		})
	}
}

// Filters agree with a direct scan of the flows, on samples that between
// them give every filter something to find.
func TestFiltersAgreeWithScan(t *testing.T) {
	cases := []struct {
		name string
		q    Query
		keep func(*trace.Flow) bool
	}{
		{"host substring", Query{Hosts: []string{"microsoftonline"}}, func(f *trace.Flow) bool {
			return strings.Contains(RowOf(f).Host, "microsoftonline")
		}},
		{"host wildcard", Query{Hosts: []string{"*.microsoftonline.com"}}, func(f *trace.Flow) bool {
			h, _, _ := strings.Cut(RowOf(f).Host, ":")
			ok, _ := filepath.Match("*.microsoftonline.com", h)
			return ok
		}},
		{"method", Query{Methods: []string{"post"}}, func(f *trace.Flow) bool { return f.Request.Method == "POST" }},
		{"status class", Query{Status: []string{"3xx"}}, func(f *trace.Flow) bool {
			return f.Response != nil && f.Response.Status >= 300 && f.Response.Status < 400
		}},
		{"status range", Query{Status: []string{"400-599"}}, func(f *trace.Flow) bool {
			return f.Response != nil && f.Response.Status >= 400 && f.Response.Status <= 599
		}},
		{"errors", Query{Errors: true}, func(f *trace.Flow) bool {
			return f.Response == nil || f.Response.Status >= 400 || f.Error != ""
		}},
	}
	found := make([]int, len(cases))
	for _, name := range []string{"bluecore_chrome_entra-sharepoint-login.har", "nullmicgo_chrome_azure-portal_bearer.har", "mitmproxy_full_chrome.har", "cloudflare_scrubbed_google_oauth_chrome.har"} {
		p := filepath.Join(testutil.SharedDir(t, "har"), name)
		flows, _ := readHAR(t, p)
		x := build(t, p)
		for i, c := range cases {
			want := 0
			for _, f := range flows {
				if c.keep(f) {
					want++
				}
			}
			c.q.Limit = 5000
			pg, err := x.Query(c.q)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, c.name, err)
			}
			if pg.Total != want || len(pg.Rows) != want {
				t.Errorf("%s: %s: total %d rows %d, scan finds %d", name, c.name, pg.Total, len(pg.Rows), want)
			}
			found[i] += want
		}
	}
	for i, c := range cases {
		if found[i] == 0 {
			t.Errorf("%s matched nothing in any sample: the test no longer exercises it", c.name)
		}
	}
}

func TestFullText(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "har"), "bluecore_chrome_entra-sharepoint-login.har")
	flows, _ := readHAR(t, p)
	x := build(t, p)
	// A host name is found as a phrase despite its dots, in URLs and headers.
	want := 0
	for _, f := range flows {
		h, _ := ftsText(f)
		if bytes.Contains(bytes.ToLower([]byte(f.Request.URL+h)), []byte("login.microsoftonline.com")) {
			want++
		}
	}
	pg, err := x.Query(Query{Text: "login.microsoftonline.com", Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if want == 0 || pg.Total < want {
		t.Fatalf("text search found %d flows, substring scan %d", pg.Total, want)
	}
	// Punctuation alone, and FTS syntax characters, are not errors or injections.
	for _, s := range []string{`"`, `AND OR NOT`, `a" OR "b`, `*`, `NEAR(x y)`, `col:val`} {
		if _, err := x.Query(Query{Text: s}); err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Errorf("text %q: %v (want nil or a QueryError)", s, err)
			}
		}
	}
	if _, err := x.Query(Query{Sort: "data; DROP TABLE flows"}); err == nil {
		t.Fatal("unknown sort column accepted")
	}
	if _, err := x.Query(Query{Status: []string{"abc"}}); err == nil {
		t.Fatal("bad status accepted")
	}
}

// A live index shows added flows after Flush, and reopening a built index
// reads the database, not the trace.
func TestLiveAndReopen(t *testing.T) {
	dir := t.TempDir()
	x, err := Create(filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		f := &trace.Flow{ID: i, Started: time.Unix(1700000000, 0), Time: 5,
			Request:  &trace.Request{Method: "GET", URL: "https://example.test/p" + string(rune('0'+i))},
			Response: &trace.Response{Status: 200 + i, Body: []byte("hello AADSTS50076 world")}}
		if err := x.Add(f); err != nil {
			t.Fatal(err)
		}
		if err := x.Flush(); err != nil {
			t.Fatal(err)
		}
		pg, err := x.Query(Query{Text: "aadsts50076"})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != i {
			t.Fatalf("after %d adds the text query finds %d", i, pg.Total)
		}
	}
	if err := x.SetBlob("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := x.MarkSignIns(map[int]int{2: 1}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := Open(filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if b, _ := y.Blob("k"); string(b) != "v" {
		t.Fatalf("blob = %q", b)
	}
	pg, err := y.Query(Query{SignIn: true})
	if err != nil || pg.Total != 1 || pg.Rows[0].ID != 2 || pg.Rows[0].SignIn != 1 {
		t.Fatalf("sign-in filter: %+v %v", pg, err)
	}
	if _, err := y.Flow(99); !errors.Is(err, ErrNoFlow) {
		t.Fatalf("missing flow: %v", err)
	}
}

// A failing source leaves no index file behind.
func TestBuildFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := `{"log":{"version":"1.2","entries":[{"startedDateTime":"2024-01-01T00:00:00Z","request":{"method":"GET","url":"https://a.test/"}},{"request":`
	_, err := Build(context.Background(), filepath.Join(dir, "x.db"), har.NewReader(bytes.NewReader([]byte(bad)), "bad.har"), nil)
	if err == nil {
		t.Fatal("truncated HAR indexed without error")
	}
	var ie *trace.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v is not the reader's InputError", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("files left behind: %v", left)
	}
}

func FuzzFTSQuery(f *testing.F) {
	x, err := Create(filepath.Join(f.TempDir(), "f.db"))
	if err != nil {
		f.Fatal(err)
	}
	x.Add(&trace.Flow{ID: 1, Request: &trace.Request{Method: "GET", URL: "https://a.test/x?y=z"}})
	x.Flush()
	for _, s := range []string{"a", `"x"`, "a*b", "NEAR(a b)", "^", "x:y", "(", "-a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := x.Query(Query{Text: s, Hosts: []string{s}})
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("text %q: untyped error %v", s, err)
			}
		}
	})
}

// endless yields numbered flows until its consumer stops.
type endless struct{}

func (endless) Meta() *trace.Meta { return &trace.Meta{} }
func (endless) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		for i := 1; ; i++ {
			f := &trace.Flow{ID: i, Request: &trace.Request{Method: "GET", URL: fmt.Sprintf("https://a.test/%d", i)}}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// A cancelled build stops the three stages, returns the context's error
// and leaves no file behind; each sees the flows in order until then.
func TestBuildCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next := 1
	_, err := Build(ctx, filepath.Join(dir, "x.db"), endless{}, func(f *trace.Flow) {
		if f.ID != next {
			t.Errorf("each saw flow %d, want %d", f.ID, next)
		}
		next++
		if f.ID == 5000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v, want context.Canceled", err)
	}
	if next < 5000 {
		t.Fatalf("each saw %d flows before the cancel", next-1)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("files left behind: %v", left)
	}
}

// Credential headers are searchable by cookie name and authorization
// scheme, never by value (the page shows those values masked).
func TestFullTextSkipsCredentialValues(t *testing.T) {
	x, err := Create(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	f := &trace.Flow{ID: 1, Request: &trace.Request{Method: "GET", URL: "https://app.example/a", Headers: trace.Headers{
		{Name: "Cookie", Value: "ESTSAUTH=qqcookievalue1; buid=qqcookievalue2"},
		{Name: "Authorization", Value: "Bearer qqbearervalue3"},
		{Name: "X-Trace", Value: "qqplainvalue4"}}},
		Response: &trace.Response{Status: 200, Headers: trace.Headers{{Name: "Set-Cookie", Value: "fpc=qqsetcookievalue5; path=/; secure"}}}}
	if err := x.Add(f); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]int{"ESTSAUTH": 1, "buid": 1, "fpc": 1, "Bearer": 1, "qqplainvalue4": 1,
		"qqcookievalue1": 0, "qqcookievalue2": 0, "qqbearervalue3": 0, "qqsetcookievalue5": 0} {
		pg, err := x.Query(Query{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != want {
			t.Errorf("search %q: %d flows, want %d", text, pg.Total, want)
		}
	}
}
