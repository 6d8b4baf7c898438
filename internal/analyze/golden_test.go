package analyze

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func analyzeFile(t *testing.T, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Run(har.NewReader(f, path), Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rep.Source = filepath.Base(path)
	return rep
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
// It refuses output that carries a raw token (three base64url parts).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if m := rawTokenRE.Find(got); m != nil {
		t.Fatalf("%s: output contains a raw token %.20s…", name, m)
	}
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff", name)
	}
}

var rawTokenRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)

func TestGoldenHAR(t *testing.T) {
	for _, name := range []string{"bluecore_chrome_entra-sharepoint-login.har", "nullmicgo_chrome_azure-portal_bearer.har", "cloudflare_scrubbed_google_oauth_chrome.har"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(testutil.SharedDir(t, "har"), name)
			rep := analyzeFile(t, path)
			var js, txt bytes.Buffer
			if err := WriteJSON(&js, rep); err != nil {
				t.Fatal(err)
			}
			if err := WriteText(&txt, rep); err != nil {
				t.Fatal(err)
			}
			secrets := cookieValues(t, path)
			for _, out := range [][]byte{js.Bytes(), txt.Bytes()} {
				for _, v := range secrets {
					if bytes.Contains(out, []byte(v)) {
						t.Fatalf("output contains a cookie value of the capture (%d chars)", len(v))
					}
				}
			}
			golden(t, strings.TrimSuffix(name, ".har")+".json", js.Bytes())
			golden(t, strings.TrimSuffix(name, ".har")+".txt", txt.Bytes())
		})
	}
}

func TestGoldenJWT(t *testing.T) {
	dir := testutil.SharedDir(t, "jwt")
	keys := &jwt.KeySet{}
	for _, k := range []string{"identitymodel_JsonWebKeySet_aad.json"} {
		b, err := os.ReadFile(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		ks, err := jwt.ParseJWKSFrom(b, k)
		if err != nil {
			t.Fatal(err)
		}
		keys = keys.Merge(ks)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"identitymodel_aad_v1_line456.jwt", "msalnet_v2_token.jwt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ExplainJWT(string(b), keys, at, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, _ := json.MarshalIndent(r, "", "  ")
		golden(t, name+".json", append(out, '\n'))
	}
}

// cookieValues returns every cookie value of at least 8 characters sent or
// set in the HAR, to prove the report never repeats one.
func cookieValues(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	add := func(h string) {
		for _, part := range strings.Split(h, ";") {
			_, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && len(v) >= 8 && !strings.Contains(v, "/") {
				out = append(out, v)
			}
		}
	}
	for fl, err := range har.NewReader(f, path).Flows() {
		if err != nil {
			t.Fatal(err)
		}
		add(fl.Request.Headers.Get("Cookie"))
		if fl.Response != nil {
			for _, h := range fl.Response.Headers.Values("Set-Cookie") {
				v, _, _ := strings.Cut(h, ";")
				add(v)
			}
		}
	}
	return out
}

// TestGoldenOther decodes the real Entra page, SAML, JWKS and discovery
// samples of jwt/ and other/ the way the analyzer and the CLI do.
func TestGoldenOther(t *testing.T) {
	jdir, odir := testutil.SharedDir(t, "jwt"), testutil.SharedDir(t, "other")
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := map[string]any{}

	page, ok := oauth.ParseSignInPage(read(odir, "saml2aws_aad_ConvergedSignIn.html"))
	if !ok {
		t.Fatal("no $Config in the sign-in page")
	}
	out["saml2aws_aad_ConvergedSignIn.html"] = page

	for _, name := range []string{"saml2aws_aad_BeginAuth.json", "saml2aws_aad_GetCredentialType_default.json"} {
		d, err := oauth.ParseJSON(read(odir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = d.Kind
	}
	for _, name := range []string{"identitymodel_JsonWebKeySet_EC.json", "identitymodel_JsonWebKeySet_aad.json", "identitymodel_google-openid-configuration.json", "msalnet_OpenidConfiguration.json"} {
		d, err := oauth.ParseJSON(read(jdir, name))
		if err != nil {
			t.Fatal(err)
		}
		v := map[string]any{"kind": d.Kind}
		if d.Discovery != nil {
			v["endpoints"] = d.Discovery.Endpoints()
		}
		out[name] = v
	}

	md, err := saml.ParseMetadata(read(odir, "identitymodel_aad_federationmetadata.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := ExplainSAML(string(read(jdir, "identitymodel_Saml2TokenFromAAD.xml")), time.Time{}, md.SigningCerts)
	if err != nil {
		t.Fatal(err)
	}
	out["identitymodel_Saml2TokenFromAAD.xml"] = sr

	// The IdP's auto-posting SAMLResponse page as the response of a flow.
	f := &trace.Flow{ID: 1, Request: &trace.Request{Method: "POST", URL: "https://login.microsoftonline.com/login.srf"},
		Response: &trace.Response{Status: 200, MimeType: "text/html", Body: read(odir, "saml2aws_aad_SAMLResponse.html")}}
	rep, err := Run(sliceSource([]*trace.Flow{f}), Options{SAMLCerts: md.SigningCerts})
	if err != nil {
		t.Fatal(err)
	}
	// The sample's XML has two root elements: the analyzer must say so, not drop it.
	if len(rep.Findings) == 0 || rep.Findings[0].Code != "saml_malformed" {
		t.Errorf("SAMLResponse page: findings %+v", rep.Findings)
	}
	out["saml2aws_aad_SAMLResponse.html"] = rep

	// MSAL's test data: a token response whose client_info names the user and home tenant.
	var td struct {
		TokenResponse json.RawMessage `json:"token_response"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(read(jdir, "msalnet_AADTestData.txt"), []byte("\xef\xbb\xbf")), &td); err != nil {
		t.Fatal(err)
	}
	d, err := oauth.ParseJSON(td.TokenResponse)
	if err != nil || d.Kind != "token" {
		t.Fatalf("MSAL token response: %v %q", err, d.Kind)
	}
	ci, ok := oauth.ParseClientInfo(d.Token.ClientInfo)
	if !ok {
		t.Fatal("client_info does not decode")
	}
	out["msalnet_AADTestData.txt"] = map[string]any{"scope": d.Token.Scope, "client_info": ci}

	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "other.json", append(b, '\n'))
}
