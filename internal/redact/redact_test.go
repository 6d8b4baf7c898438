package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

func redactAll(r *Redactor, flows []*trace.Flow) []*trace.Flow {
	out := make([]*trace.Flow, len(flows))
	for i, f := range flows {
		out[i] = r.Flow(f)
	}
	return out
}

// TestPlantedSecretsNeverSurvive sanitizes the planted corpus and searches
// the HAR and SAZ bytes for every planted value in every encoding.
func TestPlantedSecretsNeverSurvive(t *testing.T) {
	flows, p := corpus()
	// The corpus must hold its secrets to begin with, or the test proves nothing.
	in := append(writeHAR(t, flows), unzipAll(t, writeSAZ(t, flows))...)
	u0, _ := url.Parse(flows[4].Request.URL)
	x0, _ := saml.DecodeRedirect(u0.Query().Get("SAMLRequest")) // one secret is only inside the deflated message
	in = append(in, x0...)
	if got := survivors(in, p); len(got) < len(p.secrets) {
		t.Fatalf("the unsanitized corpus shows only %d of its %d planted secrets", len(got), len(p.secrets))
	}
	for _, pol := range []TokenPolicy{KeepClaims, DropTokens} {
		for _, pii := range []bool{false, true} {
			r := New(Options{Tokens: pol, PII: pii})
			clean := redactAll(r, flows)
			for name, out := range map[string][]byte{"har": writeHAR(t, clean), "saz": unzipAll(t, writeSAZ(t, clean))} {
				if got := survivors(out, p); len(got) > 0 {
					t.Errorf("tokens=%d pii=%v %s output still holds: %s", pol, pii, name, strings.Join(got, "; "))
				}
			}
			// The SAML redirect message is deflated: look inside it too.
			u, _ := url.Parse(clean[4].Request.URL)
			xml, err := saml.DecodeRedirect(u.Query().Get("SAMLRequest"))
			if err != nil {
				t.Fatalf("sanitized SAMLRequest no longer decodes: %v", err)
			}
			if got := survivors(xml, p); len(got) > 0 {
				t.Errorf("sanitized SAMLRequest still holds: %s", strings.Join(got, "; "))
			}
			if !bytes.Contains(xml, []byte("AuthnRequest")) || !bytes.Contains(xml, []byte(SignaturePlaceholder)) {
				t.Errorf("sanitized SAMLRequest lost its structure or placeholder")
			}
		}
	}
	for i := range flows {
		if flows[i].Request.URL != corpusURL(i) {
			t.Fatalf("Flow modified its input (flow %d)", i+1)
		}
	}
}

func corpusURL(i int) string {
	f, _ := corpus()
	return f[i].Request.URL
}

// TestEveryRuleFires checks that each rule of the table is exercised by
// the corpus, as --check on the input reports.
func TestEveryRuleFires(t *testing.T) {
	flows, _ := corpus()
	r := New(Options{PII: true})
	var where []string
	r.opts.OnRemove = func(m Removal) { where = append(where, m.Rule+" "+m.Where) }
	redactAll(r, flows)
	for _, rule := range []string{"cookie", "header", "auth", "param", "jwt", "saml", "url-userinfo", "entropy", "pii"} {
		if r.Counts()[rule] == 0 {
			t.Errorf("rule %q removed nothing from the corpus", rule)
		}
	}
	for _, want := range []string{
		"cookie request.header Cookie: ESTSAUTH", "cookie response.header Set-Cookie: buid", "header request.header Ocp-Apim-Subscription-Key",
		"header request.header x-ms-RefreshTokenCredential", "header request.header X-ARR-ClientCert", "param request.body form client_secret",
		"param response.body json refresh_token", "param response.body html sFT", "param response.body html input code",
		"saml response.body html input SAMLResponse SignatureValue", "saml request.body form wresult BinarySecret",
		"param request.url query Signature", "entropy request.header X-Unknown-Thing", "url-userinfo request.url userinfo",
		"jwt request.header Authorization jwt signature", "jwt request.header Authorization jwt claim refresh_token",
		"param websocket[0] json access_token", "echo request.body", "jwt response.header Location fragment id_token jwt signature",
	} {
		if !slices.Contains(where, want) {
			t.Errorf("no removal reported as %q", want)
		}
	}
}

// TestOutputPassesCheck: a second pass over sanitized flows (after a HAR
// and a SAZ round trip) removes nothing, and the input fails it.
func TestOutputPassesCheck(t *testing.T) {
	flows, _ := corpus()
	for _, pol := range []TokenPolicy{KeepClaims, DropTokens} {
		clean := redactAll(New(Options{Tokens: pol, PII: true}), flows)
		for name, back := range map[string][]*trace.Flow{"har": readHAR(t, writeHAR(t, clean)), "saz": readSAZ(t, writeSAZ(t, clean))} {
			chk := New(Options{Tokens: pol})
			var left []string
			chk.opts.OnRemove = func(m Removal) { left = append(left, m.Rule+" "+m.Where) }
			redactAll(chk, back)
			if len(left) > 0 {
				t.Errorf("tokens=%d %s: check finds secrets in sanitized output: %v", pol, name, left)
			}
		}
	}
	chk := New(Options{})
	redactAll(chk, flows)
	if chk.Total() < 30 {
		t.Errorf("check finds only %d secrets in the corpus", chk.Total())
	}
}

func readHAR(t *testing.T, b []byte) []*trace.Flow {
	t.Helper()
	var out []*trace.Flow
	for f, err := range har.NewReader(bytes.NewReader(b), "out.har").Flows() {
		if err != nil {
			t.Fatalf("sanitized HAR does not read back: %v", err)
		}
		out = append(out, f)
	}
	return out
}

func readSAZ(t *testing.T, b []byte) []*trace.Flow {
	t.Helper()
	r, err := saz.Open(bytes.NewReader(b), int64(len(b)), "out.saz", saz.Options{})
	if err != nil {
		t.Fatalf("sanitized SAZ does not open: %v", err)
	}
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatalf("sanitized SAZ does not read back: %v", err)
		}
		out = append(out, f)
	}
	return out
}

// TestPseudonymsStableAndKeyed: one value gets one pseudonym across flows
// and places; another key gives another pseudonym.
func TestPseudonymsStableAndKeyed(t *testing.T) {
	flows, _ := corpus()
	a := redactAll(New(Options{Key: []byte("k1")}), flows)
	b := redactAll(New(Options{Key: []byte("k2")}), flows)
	cookie := func(fl []*trace.Flow) (string, string, string) {
		c := fl[0].Request.Headers.Get("Cookie")
		_, v, _ := strings.Cut(strings.Split(c, ";")[0], "=")
		sc := fl[0].Response.Headers.Get("Set-Cookie")
		_, w, _ := strings.Cut(strings.Split(sc, ";")[0], "=")
		return v, w, fl[0].Request.Cookies[0].Value
	}
	v1, v2, v3 := cookie(a)
	if !strings.HasPrefix(v1, "REDACTED:cookie:ESTSAUTH:") || v1 != v2 || v1 != v3 {
		t.Errorf("ESTSAUTH pseudonyms differ between Cookie, Set-Cookie and the HAR cookie list, or are not marked")
	}
	w1, _, _ := cookie(b)
	if w1 == v1 {
		t.Errorf("two keys gave the same pseudonym")
	}
	// Same JSON refresh_token under two runs with one key: same pseudonym.
	c := redactAll(New(Options{Key: []byte("k1")}), flows)
	if string(a[1].Response.Body) != string(c[1].Response.Body) {
		t.Errorf("the same key gave different output")
	}
}

// TestTokensKeepClaims: a kept JWT parses, keeps its claims, drops secret
// claims, and Verify reports it as sanitized, not invalid.
func TestTokensKeepClaims(t *testing.T) {
	flows, _ := corpus()
	clean := redactAll(New(Options{}), flows)
	auth := clean[0].Request.Headers.Get("Authorization")
	tok, err := jwt.Parse(strings.TrimPrefix(auth, "Bearer "))
	if err != nil {
		t.Fatalf("sanitized bearer token does not parse: %v", err)
	}
	if tok.Claims.Str("upn") != "alice@contoso.example" {
		t.Errorf("claims not kept")
	}
	// The payload as sent (jwt.Parse masks secret claims as it reads them).
	var payload struct {
		RT string `json:"refresh_token"`
	}
	pb, _ := base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")[1])
	if err := json.Unmarshal(pb, &payload); err != nil || !strings.HasPrefix(payload.RT, "REDACTED:jwt:refresh_token:") {
		t.Errorf("refresh_token claim not replaced by a pseudonym")
	}
	if !tok.Sanitized() {
		t.Fatalf("token not marked as sanitized")
	}
	v := jwt.Verify(tok, nil)
	if v.Verified != nil || !strings.Contains(v.Reason, "removed by sanitize") {
		t.Errorf("Verify on a sanitized token: verified=%v reason %q", v.Verified, v.Reason)
	}
	pii := redactAll(New(Options{PII: true}), flows)
	tok, _ = jwt.Parse(strings.TrimPrefix(pii[0].Request.Headers.Get("Authorization"), "Bearer "))
	if tok == nil || !strings.HasPrefix(tok.Claims.Str("upn"), "REDACTED:pii:upn:") || tok.Claims.Str("aud") == "" {
		t.Errorf("--pii did not replace the upn claim, or dropped other claims")
	}
	drop := redactAll(New(Options{Tokens: DropTokens}), flows)
	if a := drop[0].Request.Headers.Get("Authorization"); strings.Contains(a, "eyJ") {
		t.Errorf("--tokens drop kept a JWT")
	}
}

// TestStructureKept: what analysis needs stays (client_id, grant_type,
// correlation IDs, error codes, state) and lengths match bodies.
func TestStructureKept(t *testing.T) {
	flows, _ := corpus()
	clean := redactAll(New(Options{}), flows)
	keep := map[int][]string{
		0: {"client_id=11111111-2222-3333-4444-555555555555", "state=abc", "response_type=code"},
	}
	for i, subs := range keep {
		for _, s := range subs {
			if !strings.Contains(clean[i].Request.URL, s) {
				t.Errorf("flow %d lost %q", i+1, s)
			}
		}
	}
	if cid := clean[0].Request.Headers.Get("client-request-id"); cid != "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" {
		t.Errorf("client-request-id changed")
	}
	body := string(clean[1].Response.Body)
	for _, s := range []string{`"code":"Authorization_RequestDenied"`, `"correlation_id":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"`, `"token_type":"Bearer"`} {
		if !strings.Contains(body, s) {
			t.Errorf("token response lost %s", s)
		}
	}
	if !strings.Contains(string(clean[2].Response.Body), "AADSTS50126") || !strings.Contains(string(clean[2].Response.Body), `"iErrorCode":50126`) {
		t.Errorf("sign-in page lost its error")
	}
	for _, f := range clean {
		for _, m := range []struct {
			hs   trace.Headers
			body []byte
		}{{f.Request.Headers, f.Request.Body}} {
			if cl := m.hs.Get("Content-Length"); cl != "" && cl != itoa(len(m.body)) {
				t.Errorf("flow %d: request Content-Length %s for a %d-byte body", f.ID, cl, len(m.body))
			}
		}
		if f.Response != nil && f.Response.Encoding == "" {
			if cl := f.Response.Headers.Get("Content-Length"); cl != "" && cl != itoa(len(f.Response.Body)) {
				t.Errorf("flow %d: response Content-Length %s for a %d-byte body", f.ID, cl, len(f.Response.Body))
			}
		}
	}
	if clean[1].Response.Wire != nil {
		t.Errorf("the original wire bytes of a rewritten body were kept")
	}
	// The NTLM message still decodes, with its user (not with --pii).
	if m := decodeNTLM(t, clean[5].Request.Headers.Get("Authorization")); m.User != "alice" || m.Domain != "CONTOSO" || m.Workstation != "WS01" || m.Protocol != "NTLMv2" {
		t.Errorf("sanitized NTLM message reads as %q", m.Describe())
	}
	if m := decodeNTLM(t, redactAll(New(Options{PII: true}), flows)[5].Request.Headers.Get("Authorization")); strings.Contains(m.Describe(), "alice") ||
		!strings.HasPrefix(m.User, Prefix) || m.Protocol != "NTLMv2" {
		t.Errorf("--pii: sanitized NTLM message reads as %q", m.Describe())
	}
	// The SAMLResponse still decodes as SAML.
	page := string(clean[2].Response.Body)
	i := strings.Index(page, `name="SAMLResponse" value="`)
	v := page[i+len(`name="SAMLResponse" value="`):]
	v = v[:strings.IndexByte(v, '"')]
	xml, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !bytes.Contains(xml, []byte(`<saml:Conditions NotBefore=`)) {
		t.Errorf("SAMLResponse lost its structure (err %v)", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSink: the trace.Sink wrapper (capture's --sanitize at save time)
// writes redacted flows and metadata, and reports page titles once.
func TestSink(t *testing.T) {
	flows, p := corpus()
	meta := &trace.Meta{Pages: []trace.Page{{ID: "page_1", Title: flows[0].Request.URL}}}
	var b bytes.Buffer
	r := New(Options{})
	var where []string
	r.opts.OnRemove = func(m Removal) { where = append(where, m.Where) }
	s := r.Sink(har.NewWriter(&b, r.Meta(meta)))
	for _, f := range flows {
		if err := s.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(meta); err != nil {
		t.Fatal(err)
	}
	if got := survivors(b.Bytes(), p); len(got) > 0 {
		t.Errorf("the sink wrote: %s", strings.Join(got, "; "))
	}
	n := 0
	for _, w := range where {
		if strings.HasPrefix(w, "page page_1 title") {
			n++
		}
	}
	if n == 0 || n > 3 {
		t.Errorf("page title removals reported %d times, want once per value (1..3)", n)
	}
	if !strings.Contains(b.String(), `"title": "https://user:REDACTED:url-userinfo:password:`) {
		t.Errorf("page title not redacted")
	}
}

// TestConcurrentFlows: flows of a live capture may arrive from several
// goroutines; the pseudonyms stay the same (run with -race).
func TestConcurrentFlows(t *testing.T) {
	flows, _ := corpus()
	r := New(Options{Key: []byte("k")})
	want := redactAll(New(Options{Key: []byte("k")}), flows)
	got := make([][]*trace.Flow, 4)
	done := make(chan int)
	for g := range got {
		go func() {
			got[g] = redactAll(r, flows)
			done <- g
		}()
	}
	for range got {
		<-done
	}
	for g := range got {
		for i := range flows {
			a, b := got[g][i], want[i]
			if a.Request.Headers.Get("Cookie") != b.Request.Headers.Get("Cookie") || string(a.Request.Body) != string(b.Request.Body) ||
				a.Response != nil && string(a.Response.Body) != string(b.Response.Body) {
				t.Fatalf("goroutine %d flow %d differs from a sequential run", g, i+1)
			}
		}
	}
	if r.Total() != 4*New(Options{}).countOnly(flows) {
		t.Errorf("removals not counted once per flow per goroutine")
	}
}

func (r *Redactor) countOnly(flows []*trace.Flow) int {
	redactAll(r, flows)
	return r.Total()
}
