package diff

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readFlows(t *testing.T, name string) ([]*trace.Flow, *trace.Meta) {
	t.Helper()
	p := filepath.Join(testutil.SharedDir(t, "har"), name)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	r := har.NewReader(bytes.NewReader(data), name)
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out, r.Meta()
}

// side writes flows as a HAR, reads it back and analyses it: the pair is
// built from files, as a user would give them.
func side(t *testing.T, name string, flows []*trace.Flow, meta *trace.Meta) Side {
	t.Helper()
	var buf bytes.Buffer
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	byID := map[int]*trace.Flow{}
	a := analyze.New(analyze.Options{})
	for f, err := range har.NewReader(bytes.NewReader(buf.Bytes()), name).Flows() {
		if err != nil {
			t.Fatal(err)
		}
		byID[f.ID] = f
		a.Add(f)
	}
	return Side{Name: name, Report: a.Finish(), Flow: func(id int) (*trace.Flow, error) {
		if f, ok := byID[id]; ok {
			return f, nil
		}
		return nil, fmt.Errorf("no flow %d", id)
	}}
}

func clone(flows []*trace.Flow) []*trace.Flow {
	out := make([]*trace.Flow, len(flows))
	for i, f := range flows {
		out[i] = f.Clone()
	}
	return out
}

func golden(t *testing.T, name string, r *Result) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join("testdata", name+".txt")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("%s differs from the golden file:\n%s", name, b.String())
	}
}

func compare(t *testing.T, l, r Side) *Result {
	t.Helper()
	res, err := Compare(l, r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A trace compared with itself has no difference.
func TestSameTrace(t *testing.T) {
	for _, name := range []string{"bluecore_chrome_entra-sharepoint-login.har", "cloudflare_scrubbed_google_oauth_chrome.har"} {
		flows, meta := readFlows(t, name)
		res := compare(t, side(t, "good.har", flows, meta), side(t, "again.har", clone(flows), meta))
		if res.Differs() || len(res.Pairs) == 0 {
			t.Fatalf("%s against itself: %d pairs, differs %v: %+v", name, len(res.Pairs), res.Differs(), res)
		}
	}
}

// One request parameter changed: response_mode of the authorize request.
func TestParameterChanged(t *testing.T) {
	flows, meta := readFlows(t, "bluecore_chrome_entra-sharepoint-login.har")
	bad := clone(flows)
	f := bad[2] // flow 3, the authorize request
	u, err := url.Parse(f.Request.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("response_mode") != "form_post" {
		t.Fatalf("flow 3 response_mode = %q: the sample changed", q.Get("response_mode"))
	}
	q.Set("response_mode", "fragment")
	u.RawQuery = q.Encode()
	f.Request.URL = u.String()
	res := compare(t, side(t, "good.har", flows, meta), side(t, "bad.har", bad, meta))
	d := res.Pairs[0].First
	if d == nil || d.Kind != KindParameter || d.Name != "response_mode" || d.Left != "form_post" || d.Right != "fragment" {
		t.Fatalf("first difference %+v", d)
	}
	golden(t, "parameter", res)
}

// One claim changed in the ID token of a sign-in (the signature no longer matches; the claim is found first).
func TestClaimChanged(t *testing.T) {
	flows, meta := readFlows(t, "cloudflare_scrubbed_google_oauth_chrome.har")
	bad := clone(flows)
	var old string
	for m := range jwt.All(string(bad[29].Response.Body)) { // flow 30
		old = m.Token
	}
	if old == "" {
		t.Fatal("flow 30 has no token: the sample changed")
	}
	parts := strings.Split(old, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["country"] == nil {
		t.Fatal("the token has no country claim: the sample changed")
	}
	claims["country"] = "ZZ"
	np, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(np)
	repl := strings.Join(parts, ".")
	for _, f := range bad {
		f.Response.Body = bytes.ReplaceAll(f.Response.Body, []byte(old), []byte(repl))
		for i, h := range f.Request.Headers {
			f.Request.Headers[i].Value = strings.ReplaceAll(h.Value, old, repl)
		}
		for i, h := range f.Response.Headers {
			f.Response.Headers[i].Value = strings.ReplaceAll(h.Value, old, repl)
		}
	}
	res := compare(t, side(t, "good.har", flows, meta), side(t, "bad.har", bad, meta))
	d := res.Pairs[0].First
	if d == nil || d.Kind != KindClaim || d.Name != "cloudflare_access.country" || d.Right != `"ZZ"` {
		t.Fatalf("first difference %+v", d)
	}
	golden(t, "claim", res)
}

// One status changed: the callback answers 500 instead of redirecting.
func TestStatusChanged(t *testing.T) {
	flows, meta := readFlows(t, "cloudflare_scrubbed_google_oauth_chrome.har")
	bad := clone(flows)
	f := bad[27] // flow 28, the callback
	if f.Response.Status != 302 {
		t.Fatalf("flow 28 status %d: the sample changed", f.Response.Status)
	}
	f.Response.Status, f.Response.Reason = 500, "Internal Server Error"
	res := compare(t, side(t, "good.har", flows, meta), side(t, "bad.har", bad, meta))
	if len(res.Pairs) == 0 {
		t.Fatalf("no pair: %+v", res)
	}
	d := res.Pairs[0].First
	if d == nil || d.Kind != KindStatus || d.Left != "302" || d.Right != "500" || d.LeftFlow != 28 {
		t.Fatalf("first difference %+v", d)
	}
	golden(t, "status", res)
}

// A secret parameter that differs is shown shortened, never whole.
func TestSecretsShortened(t *testing.T) {
	flows, meta := readFlows(t, "bluecore_chrome_entra-sharepoint-login.har")
	bad := clone(flows)
	f := bad[2]
	f.Request.URL += "&client_secret=TopSecretValue1234567890"
	res := compare(t, side(t, "good.har", flows, meta), side(t, "bad.har", bad, meta))
	var b bytes.Buffer
	WriteText(&b, res)
	WriteJSON(&b, res)
	if strings.Contains(b.String(), "TopSecretValue1234567890") {
		t.Fatal("a client secret appears whole in the diff output")
	}
	if d := res.Pairs[0].First; d == nil || d.Name != "client_secret" {
		t.Fatalf("first difference %+v", d)
	}
}
