package analyze

// The real-peer test: a certified OpenID provider (oidc-provider, in
// tests/oidc) runs on loopback; real HTTP clients drive sign-ins against
// it; every exchange is recorded as a trace.Flow, written as a HAR with the
// project's writer, read back with its reader, and analysed.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// recorder is an http.RoundTripper that records every exchange as a trace.Flow.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	flows []*trace.Flow
}

func sortedHeaders(h http.Header) trace.Headers {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out trace.Headers
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, trace.Header{Name: k, Value: v})
		}
	}
	return out
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	f := &trace.Flow{Started: time.Now().UTC(), Time: trace.NA, Timings: trace.NoTimings(),
		Request: &trace.Request{Method: req.Method, URL: req.URL.String(), Proto: "HTTP/1.1", Headers: sortedHeaders(req.Header),
			Body: body, HasBody: body != nil, MimeType: req.Header.Get("Content-Type"), HeadersSize: trace.Unknown, BodySize: int64(len(body))}}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		f.Error = err.Error()
	} else {
		rb, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(rb))
		f.Response = &trace.Response{Status: resp.StatusCode, Reason: strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode))),
			Proto: "HTTP/1.1", Headers: sortedHeaders(resp.Header), Body: rb, MimeType: resp.Header.Get("Content-Type"),
			Size: int64(len(rb)), HeadersSize: trace.Unknown, BodySize: int64(len(rb)), RedirectURL: resp.Header.Get("Location")}
	}
	r.mu.Lock()
	f.ID = len(r.flows) + 1
	r.flows = append(r.flows, f)
	r.mu.Unlock()
	return resp, err
}

var (
	formRE   = regexp.MustCompile(`(?is)<form[^>]*action="([^"]*)"`)
	hiddenRE = regexp.MustCompile(`(?is)<input[^>]*type="hidden"[^>]*>`)
	nameRE   = regexp.MustCompile(`(?is)name="([^"]*)"`)
	valueRE  = regexp.MustCompile(`(?is)value="([^"]*)"`)
)

// pageForm returns the first form's action (resolved against base) and its hidden fields.
func pageForm(t *testing.T, base *url.URL, page []byte) (string, url.Values) {
	t.Helper()
	m := formRE.FindSubmatch(page)
	if m == nil {
		i := strings.Index(string(page), "<body")
		t.Fatalf("no form in page: %s", tagRE.ReplaceAll(page[max(i, 0):], nil))
	}
	action, err := base.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for _, in := range hiddenRE.FindAll(page, -1) {
		n, val := nameRE.FindSubmatch(in), valueRE.FindSubmatch(in)
		if n != nil {
			x := ""
			if val != nil {
				x = html.UnescapeString(string(val[1]))
			}
			v.Set(html.UnescapeString(string(n[1])), x)
		}
	}
	return action.String(), v
}

type browser struct {
	t *testing.T
	c *http.Client
}

func (b *browser) get(u string) (*http.Response, []byte) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func (b *browser) post(u string, v url.Values, auth string) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

// interact walks the provider's login and consent pages (at most 6 pages)
// until the response is no longer one of them, and returns it.
func (b *browser) interact(resp *http.Response, body []byte) (*http.Response, []byte) {
	b.t.Helper()
	for i := 0; i < 6 && strings.Contains(resp.Request.URL.Path, "/interaction/"); i++ {
		action, v := pageForm(b.t, resp.Request.URL, body)
		if v.Get("prompt") == "login" {
			v.Set("login", "alice")
			v.Set("password", "alice-password-for-tests")
		}
		resp, body = b.post(action, v, "")
	}
	return resp, body
}

func pkce() (verifier, challenge string) {
	r := make([]byte, 32)
	_, _ = rand.Read(r)
	verifier = base64.RawURLEncoding.EncodeToString(r)
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

func tokenJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token response: %v: %s", err, body)
	}
	return m
}

const (
	webSecret    = "web-app-secret-for-tests-only"
	daemonSecret = "daemon-secret-for-tests-only"
	userPassword = "alice-password-for-tests"
	slowSecret   = "slow-app-secret-for-tests-only"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// driveSignIns runs every scenario against the provider and returns the recorded flows.
func driveSignIns(t *testing.T) []*trace.Flow {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "app: "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	redirect := app.URL + "/cb"
	issuer := testutil.OIDCProvider(t, redirect)
	rec := &recorder{next: http.DefaultTransport}
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, c: &http.Client{Transport: rec, Jar: jar, Timeout: 20 * time.Second}}

	// Discovery and keys, as a client library fetches them.
	_, disc := b.get(issuer + "/.well-known/openid-configuration")
	var d struct {
		Authz, Token, JWKS, Device string
	}
	var dm map[string]any
	if err := json.Unmarshal(disc, &dm); err != nil {
		t.Fatal(err)
	}
	d.Authz, d.Token, d.JWKS, d.Device = dm["authorization_endpoint"].(string), dm["token_endpoint"].(string), dm["jwks_uri"].(string), dm["device_authorization_endpoint"].(string)
	b.get(d.JWKS)

	// 1. Public client: code + PKCE, login and consent, token, API call, refresh.
	verifier, challenge := pkce()
	q := url.Values{"client_id": {"public-pkce"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"openid email offline_access api:read"}, "resource": {"urn:example:api"}, "state": {"st-pkce-1"}, "nonce": {"n-pkce-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "prompt": {"consent"}}
	resp, body := b.interact(b.get(d.Authz + "?" + q.Encode()))
	code := resp.Request.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("public client got no code: %s %s", resp.Request.URL, body)
	}
	_, body = b.post(d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {"public-pkce"}, "code_verifier": {verifier}, "resource": {"urn:example:api"}}, "")
	tj := tokenJSON(t, body)
	at, _ := tj["access_token"].(string)
	rt, _ := tj["refresh_token"].(string)
	if at == "" || rt == "" || tj["id_token"] == nil {
		t.Fatalf("public client token response lacks tokens: %s", body)
	}
	req, _ := http.NewRequest("GET", app.URL+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if r, err := b.c.Do(req); err == nil {
		r.Body.Close()
	}
	_, body = b.post(d.Token, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-pkce"}}, "")
	if tokenJSON(t, body)["access_token"] == nil {
		t.Fatalf("refresh failed: %s", body)
	}
	// Failure: the same code again.
	b.post(d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {"public-pkce"}, "code_verifier": {verifier}}, "")

	// 2. Confidential web app: hybrid (code id_token) with form_post.
	q = url.Values{"client_id": {"web-app"}, "response_type": {"code id_token"}, "response_mode": {"form_post"}, "redirect_uri": {redirect},
		"scope": {"openid email"}, "state": {"st-hybrid-1"}, "nonce": {"n-hybrid-1"}}
	resp, body = b.interact(b.get(d.Authz + "?" + q.Encode()))
	action, fields := pageForm(t, resp.Request.URL, body)
	if fields.Get("code") == "" || fields.Get("id_token") == "" {
		t.Fatalf("form_post page lacks code/id_token: %s", body)
	}
	b.post(action, fields, "")
	_, body = b.post(d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {fields.Get("code")}, "redirect_uri": {redirect}}, basic("web-app", webSecret))
	if tokenJSON(t, body)["id_token"] == nil {
		t.Fatalf("hybrid token exchange failed: %s", body)
	}

	// 3. Client credentials, then the same with a bad secret.
	_, body = b.post(d.Token, url.Values{"grant_type": {"client_credentials"}, "client_id": {"daemon"}, "client_secret": {daemonSecret},
		"scope": {"api:read"}, "resource": {"urn:example:api"}}, "")
	if tokenJSON(t, body)["access_token"] == nil {
		t.Fatalf("client credentials failed: %s", body)
	}
	b.post(d.Token, url.Values{"grant_type": {"client_credentials"}, "client_id": {"daemon"}, "client_secret": {"not-the-" + daemonSecret},
		"scope": {"api:read"}, "resource": {"urn:example:api"}}, "")

	// 4. Device code: start, poll once (pending), approve in the browser, poll again.
	_, body = b.post(d.Device, url.Values{"client_id": {"device-app"}, "scope": {"openid offline_access"}}, "")
	dj := tokenJSON(t, body)
	deviceCode, _ := dj["device_code"].(string)
	userCode, _ := dj["user_code"].(string)
	verURI, _ := dj["verification_uri"].(string)
	if deviceCode == "" || userCode == "" || verURI == "" {
		t.Fatalf("device authorization failed: %s", body)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode}, "client_id": {"device-app"}}
	b.post(d.Token, poll, "")
	resp, body = b.get(verURI)
	action, fields = pageForm(t, resp.Request.URL, body)
	fields.Set("user_code", userCode)
	resp, body = b.post(action, fields, "")
	if strings.Contains(string(body), "deviceConfirmForm") {
		action, fields = pageForm(t, resp.Request.URL, body)
		fields.Set("confirm", "yes")
		resp, body = b.post(action, fields, "")
	}
	b.interact(resp, body)
	_, body = b.post(d.Token, poll, "")
	if tokenJSON(t, body)["access_token"] == nil {
		t.Fatalf("device flow failed: %s", body)
	}

	// 5. Failure: a redirect_uri the client did not register.
	q = url.Values{"client_id": {"public-pkce"}, "response_type": {"code"}, "redirect_uri": {app.URL + "/not-registered"},
		"scope": {"openid"}, "state": {"st-wrong-1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	b.get(d.Authz + "?" + q.Encode())

	// 6. Failure: an expired code (slow-app codes live 1 s on this provider).
	q = url.Values{"client_id": {"slow-app"}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {"openid"}, "state": {"st-expired-1"}}
	resp, _ = b.interact(b.get(d.Authz + "?" + q.Encode()))
	code = resp.Request.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("slow app got no code: %s", resp.Request.URL)
	}
	time.Sleep(2500 * time.Millisecond)
	b.post(d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}, basic("slow-app", slowSecret))

	return rec.flows
}

func TestRealProvider(t *testing.T) {
	flows := driveSignIns(t)
	// Write the trace with the project's HAR writer and read it back.
	var buf bytes.Buffer
	meta := &trace.Meta{Format: "har", Version: "1.2", Creator: trace.Software{Name: "idtrace-test", Version: "1"}}
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(har.NewReader(bytes.NewReader(buf.Bytes()), "peer.har"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FlowsRead != len(flows) {
		t.Fatalf("read %d flows back, recorded %d", rep.FlowsRead, len(flows))
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	_ = WriteText(&txt, rep)
	if os.Getenv("IDTRACE_PEER_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("IDTRACE_PEER_DUMP"), buf.Bytes(), 0o644)
		t.Log(txt.String())
	}
	for _, secret := range []string{webSecret, daemonSecret, userPassword, slowSecret} {
		if bytes.Contains(js.Bytes(), []byte(secret)) || bytes.Contains(txt.Bytes(), []byte(secret)) {
			t.Errorf("report leaks the secret %q", secret)
		}
	}

	stepKinds := func(s *SignIn) []string {
		var k []string
		for _, st := range s.Steps {
			k = append(k, st.Kind)
		}
		return k
	}
	find := func(client, grant, result string, steps []string) *SignIn {
		for i := range rep.Flows {
			s := &rep.Flows[i]
			if s.ClientID == client && s.Grant == grant && s.Result == result && !slices.ContainsFunc(steps, func(k string) bool { return !slices.Contains(stepKinds(s), k) }) {
				return s
			}
		}
		return nil
	}
	want := []struct {
		client, grant, result string
		steps                 []string
		check                 func(*SignIn) error
	}{
		{"public-pkce", "authorization_code", ResultSuccess, []string{"authorize", "page", "token", "api"}, func(s *SignIn) error {
			if s.PKCE != "S256" || s.ClientAuth != "none" || s.Protocol != "oidc" || s.User == "" {
				return fmt.Errorf("pkce %q auth %q protocol %q user %q", s.PKCE, s.ClientAuth, s.Protocol, s.User)
			}
			return nil
		}},
		{"public-pkce", "refresh_token", ResultSuccess, []string{"token"}, func(s *SignIn) error {
			if s.Parent == 0 {
				return fmt.Errorf("refresh not linked to its sign-in")
			}
			return nil
		}},
		{"web-app", "hybrid", ResultSuccess, []string{"authorize", "callback", "token"}, func(s *SignIn) error {
			if s.ResponseMode != "form_post" || s.ClientAuth != "client_secret_basic" {
				return fmt.Errorf("mode %q auth %q", s.ResponseMode, s.ClientAuth)
			}
			return nil
		}},
		{"daemon", "client_credentials", ResultSuccess, []string{"token"}, func(s *SignIn) error {
			if s.ClientAuth != "client_secret_post" {
				return fmt.Errorf("auth %q", s.ClientAuth)
			}
			return nil
		}},
		{"daemon", "client_credentials", ResultError, []string{"token"}, nil},
		{"device-app", "device_code", ResultSuccess, []string{"device_code", "token", "page"}, nil},
		{"public-pkce", "authorization_code", ResultError, []string{"authorize"}, func(s *SignIn) error {
			if !strings.Contains(s.RedirectURI, "not-registered") {
				return fmt.Errorf("redirect_uri %q", s.RedirectURI)
			}
			return nil
		}},
		{"slow-app", "authorization_code", ResultError, []string{"authorize", "token"}, nil},
	}
	for _, w := range want {
		s := find(w.client, w.grant, w.result, w.steps)
		if s == nil {
			t.Errorf("no %s %s sign-in with result %s and steps %v; have:\n%s", w.client, w.grant, w.result, w.steps, txt.String())
			continue
		}
		if w.check != nil {
			if err := w.check(s); err != nil {
				t.Errorf("%s %s: %v", w.client, w.grant, err)
			}
		}
	}
	codes := map[string]bool{}
	for _, f := range rep.Findings {
		codes[f.Code] = true
	}
	for _, c := range []string{"redirect_uri_mismatch", "invalid_client_secret", "code_reused", "code_expired_or_reused"} {
		if !codes[c] {
			t.Errorf("no %s finding; findings: %v", c, codes)
		}
	}
	// Every JWT the provider issued verifies against its JWKS, found in the trace.
	jwts := 0
	for _, tok := range rep.Tokens {
		if tok.Kind == "id_token" || tok.Kind == "access_token" {
			jwts++
			if tok.Verified == nil || !*tok.Verified {
				t.Errorf("token %s (%s at flow %d) not verified: %s", tok.Fingerprint, tok.Kind, tok.FlowID, tok.VerifyDetail)
			}
		}
	}
	if jwts < 8 {
		t.Errorf("only %d id/access tokens found", jwts)
	}
}
