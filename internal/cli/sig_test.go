package cli

// Issue 11: verdicts, --secret, --skew, --cert, --audience, the PRT cookie,
// and no credential printed whole in any report format of any sample.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// RFC 7515 Appendix A.1: an HS256 JWS and its key (as a raw secret).
const (
	rfcA1Token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcA1Key   = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
)

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// hs256 signs header and claims with secret.
func hs256(t *testing.T, header, claims map[string]any, secret []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64u(h) + "." + b64u(c)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64u(m.Sum(nil))
}

// prtRefreshToken is a stand-in for the opaque Entra refresh token a PRT
// cookie carries.
const prtRefreshToken = "0.AQABAAAAAADCoMpjJXrxTq9VG9te-7FXprtSecretRefreshTokenValue1234567890abcdef"

func prtCookie(t *testing.T) string {
	return hs256(t, map[string]any{"alg": "HS256", "ctx": "oYKyPkK3Q6ZYDuThEs0ABvMZ9TTfMzAZ"},
		map[string]any{"refresh_token": prtRefreshToken, "is_primary": "true", "request_nonce": "AwABAAEAAAACAOz_BAD0_0"}, []byte("device session key"))
}

func TestJWTSecretSkewAndPRT(t *testing.T) {
	secret, err := base64.RawURLEncoding.DecodeString(rfcA1Key)
	if err != nil {
		t.Fatal(err)
	}
	// --secret takes the secret as text; the RFC's key is bytes, so sign a
	// token of our own with a text secret as well.
	own := hs256(t, map[string]any{"alg": "HS256"}, map[string]any{"sub": "x"}, []byte("correct horse battery staple"))
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
		lacks    []string
	}{
		{"HS256 with --secret", []string{"jwt", "--secret", "correct horse battery staple", own}, 0, []string{"Signature: verified (with the given key from --secret)"}, []string{"correct horse"}},
		{"HS256 with the wrong --secret", []string{"jwt", "--secret", "wrong", own}, 0, []string{"Signature: invalid (altered or wrong key"}, nil},
		{"HS256 without a secret", []string{"jwt", rfcA1Token}, 0, []string{"Signature: not checked (HS256 uses a shared secret: give it with --secret"}, nil},
		{"bad --skew", []string{"jwt", "--skew", "soon", own}, 2, nil, nil},
		{"negative --skew", []string{"jwt", "--skew", "-1m", own}, 2, nil, nil},
		{"PRT cookie, text", []string{"jwt", prtCookie(t)}, 0, []string{"Kind:      prt_cookie", "Masked:    refresh_token", "session key"}, []string{prtRefreshToken}},
		{"PRT cookie, json", []string{"jwt", "--format", "json", prtCookie(t)}, 0, []string{`"kind": "prt_cookie"`, `"masked"`}, []string{prtRefreshToken}},
	}
	_ = secret
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := idt(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
			for _, c := range tt.lacks {
				if strings.Contains(out+errOut, c) {
					t.Errorf("output holds a value it must not print (%d chars)", len(c))
				}
			}
		})
	}
	// --skew is applied: a token that expired 2 minutes before --at is an
	// issue with --skew 1m, not with --skew 5m.
	at := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	exp := hs256(t, map[string]any{"alg": "HS256"}, map[string]any{"exp": at.Add(-2 * time.Minute).Unix()}, []byte("k"))
	for skew, want := range map[string]bool{"1m": true, "5m": false} {
		_, out, _ := idt(t, "", "jwt", "--skew", skew, "--at", at.Format(time.RFC3339), exp)
		if got := strings.Contains(out, "Problem:   expired"); got != want {
			t.Errorf("--skew %s: expired reported %v, want %v:\n%s", skew, got, want, out)
		}
	}
}

// TestVerdictParity: the text line and the JSON fields of one verdict say
// the same thing, for each of the three words.
func TestVerdictParity(t *testing.T) {
	own := hs256(t, map[string]any{"alg": "HS256"}, map[string]any{"sub": "x"}, []byte("s3cret"))
	for _, args := range [][]string{
		{"--secret", "s3cret", own}, {"--secret", "other", own}, {own},
	} {
		_, text, _ := idt(t, "", append([]string{"jwt"}, args...)...)
		_, js, _ := idt(t, "", append([]string{"jwt", "--format", "json"}, args...)...)
		var r analyze.JWTReport
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatal(err)
		}
		if r.Verdict != analyze.VerdictWord(r.Verified) {
			t.Errorf("json verdict %q disagrees with verified %v", r.Verdict, r.Verified)
		}
		line := "Signature: " + r.Verdict + " (" + r.VerifyDetail + ")"
		if !strings.Contains(text, line) {
			t.Errorf("text lacks the JSON's verdict %q:\n%s", line, text)
		}
	}
}

func TestSAMLCertAndAudience(t *testing.T) {
	dir := testutil.SharedDir(t, "saml-vectors/python3-saml")
	var settings struct {
		IdP struct {
			X509Cert string `json:"x509cert"`
		} `json:"idp"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "settings", "settings1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &settings); err != nil {
		t.Fatal(err)
	}
	cert, err := saml.ParseCertificate(settings.IdP.X509Cert)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "idp.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	resp := filepath.Join(dir, "responses", "signed_message_response.xml.base64")
	wrapped := filepath.Join(dir, "responses", "response4.xml.base64")
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"--cert verifies", []string{"saml", "--cert", certFile, resp}, 0, []string{"Signature: verified (covers /Response)"}},
		{"no certificate", []string{"saml", resp}, 0, []string{"Signature: not checked (no trusted certificate"}},
		{"wrapping attack with --cert", []string{"saml", "--cert", certFile, wrapped}, 0, []string{"Signature: invalid ("}},
		{"--audience not in the assertion", []string{"saml", "--cert", certFile, "--audience", "https://other.example/", resp}, 0, []string{"saml_wrong_audience"}},
		{"--sp-entity-id alias", []string{"saml", "--cert", certFile, "--sp-entity-id", "https://other.example/", resp}, 0, []string{"saml_wrong_audience"}},
		{"--cert not a certificate", []string{"saml", "--cert", resp, resp}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := idt(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
		})
	}
}

// writePRTHAR writes a trace of a Windows sign-in that sends the PRT cookie.
func writePRTHAR(t *testing.T) string {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	f := &trace.Flow{ID: 1, Started: t0, Time: trace.NA, Timings: trace.NoTimings(),
		Request: &trace.Request{Method: "GET", URL: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=4765445b-32c6-49b0-83e6-1d93765276ca&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2F&scope=openid&state=s",
			Headers: trace.Headers{{Name: "Cookie", Value: jwt.PRTCookieName + "=" + prtCookie(t)}}, HeadersSize: -1, BodySize: -1},
		Response: &trace.Response{Status: 200, MimeType: "text/html", Body: []byte("<html></html>"), Size: -1, HeadersSize: -1, BodySize: -1}}
	var buf bytes.Buffer
	meta := &trace.Meta{Format: "har", Version: "1.2", Creator: trace.Software{Name: "synthetic", Version: "1"}}
	w := har.NewWriter(&buf, meta)
	if err := w.WriteFlow(f); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "prt.har")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var secretFieldRE = regexp.MustCompile(`(?i)\\?"(refresh_token|access_token|id_token|client_secret|password|code)\\?"\s*:\s*\\?"([^"\\]{16,})|(?:^|[?&\s"])(refresh_token|client_secret|password|code)=([^&\s"\\]{16,})`)

// secretsIn lists the credential values in a trace file: every JWT whole
// and its signature, the secret claims inside JWTs, and token, secret and
// password fields of JSON and form bodies.
func secretsIn(t *testing.T, b []byte) []string {
	var out []string
	for _, m := range jwt.Find(string(b)) {
		out = append(out, m.Token)
		if p := strings.Split(m.Token, "."); len(p) == 3 && len(p[2]) >= 16 {
			out = append(out, p[2])
		}
	}
	for _, m := range secretFieldRE.FindAllSubmatch(b, -1) {
		for _, g := range [][]byte{m[2], m[4]} {
			if len(g) >= 16 {
				out = append(out, string(g))
			}
		}
	}
	return out
}

// TestNoCredentialInAnyReport runs `idtrace analyze` in every format over
// every HAR and SAZ sample (and a trace carrying a PRT cookie) and greps
// each output for every credential value in the input.
func TestNoCredentialInAnyReport(t *testing.T) {
	files := append(testutil.SharedFiles(t, "har", "*.har"), testutil.SharedFiles(t, "saz", "*.saz")...)
	files = append(files, writePRTHAR(t))
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		secrets := secretsIn(t, b)
		if strings.HasSuffix(f, "prt.har") {
			secrets = append(secrets, prtRefreshToken)
		}
		if len(secrets) == 0 && !strings.HasSuffix(f, ".saz") {
			continue
		}
		for _, format := range []string{"text", "md", "json"} {
			code, out, errOut := idt(t, "", "analyze", "--format", format, f)
			if code > 1 {
				continue // not a readable trace: nothing reported
			}
			checked++
			for i, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(errOut, s) {
					t.Errorf("%s --format %s prints credential #%d (%d chars) whole", filepath.Base(f), format, i, len(s))
				}
			}
		}
	}
	if checked < 9 {
		t.Fatalf("only %d reports checked", checked)
	}
}

// encryptAssertion wraps assertion XML in an EncryptedAssertion for pub
// (RSA-OAEP key transport, AES-128-CBC content), as an IdP would.
func encryptAssertion(t *testing.T, assertion string, pub *rsa.PublicKey) string {
	t.Helper()
	cek := make([]byte, 16)
	iv := make([]byte, 16)
	if _, err := rand.Read(cek); err != nil {
		t.Fatal(err)
	}
	if _, err := rand.Read(iv); err != nil {
		t.Fatal(err)
	}
	pt := []byte(assertion)
	n := 16 - len(pt)%16
	pt = append(pt, bytes.Repeat([]byte{byte(n)}, n)...)
	block, _ := aes.NewCipher(cek)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, cek, nil)
	if err != nil {
		t.Fatal(err)
	}
	std := base64.StdEncoding.EncodeToString
	return `<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
		`<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
		`<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>` +
		`<xenc:CipherData><xenc:CipherValue>` + std(ek) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + std(append(iv, ct...)) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>`
}

func TestSAMLKeyDecrypts(t *testing.T) {
	spKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	assertion := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example/</saml:Issuer><saml:Subject><saml:NameID>alice@example.test</saml:NameID></saml:Subject></saml:Assertion>`
	resp := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z" Destination="https://sp.example/acs"><saml:Issuer>https://idp.example/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		encryptAssertion(t, assertion, &spKey.PublicKey) + `</samlp:Response>`
	dir := t.TempDir()
	respFile, keyFile := filepath.Join(dir, "resp.xml"), filepath.Join(dir, "sp.key")
	der, _ := x509.MarshalPKCS8PrivateKey(spKey)
	if err := os.WriteFile(respFile, []byte(resp), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := idt(t, "", "saml", respFile)
	if strings.Contains(out, "alice@example.test") || !strings.Contains(out, "Signature: not checked (encrypted assertion") {
		t.Errorf("without --key:\n%s", out)
	}
	code, out, errOut := idt(t, "", "saml", "--key", keyFile, respFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Decrypted and shown; its signature is then checked like any other
	// (this one is unsigned, and says so).
	if !strings.Contains(out, "alice@example.test") || !strings.Contains(out, "Signature: unsigned (") {
		t.Errorf("with --key:\n%s", out)
	}
	if code, _, _ := idt(t, "", "saml", "--key", respFile, respFile); code != 1 {
		t.Errorf("--key not a key: exit %d, want 1", code)
	}
}

func TestJWTKeyDecryptsNested(t *testing.T) {
	inner, jwks := signed(t, map[string]any{"sub": "alice", "aud": "api://x"})
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: &rk.PublicKey}, (&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := e.Encrypt([]byte(inner))
	if err != nil {
		t.Fatal(err)
	}
	jwe, _ := obj.CompactSerialize()
	keyFile := filepath.Join(t.TempDir(), "rp.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, _ := idt(t, "", "jwt", "--jwks", jwks, jwe)
	if !strings.Contains(out, "Signature: not checked (encrypted token") || strings.Contains(out, "alice") {
		t.Errorf("without --key:\n%s", out)
	}
	code, out, errOut := idt(t, "", "jwt", "--jwks", jwks, "--key", keyFile, jwe)
	if code != 0 || !strings.Contains(out, "a signed token was inside") || !strings.Contains(out, "Signature: verified (with key k1") || !strings.Contains(out, "alice") {
		t.Errorf("with --key: exit %d %s\n%s", code, errOut, out)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}), 0o600)
	if _, out, _ := idt(t, "", "jwt", "--key", keyFile, jwe); !strings.Contains(out, "decrypt_failed") {
		t.Errorf("wrong --key:\n%s", out)
	}
}

// TestAnalyzeVerdictParity: each token's verdict reads the same in the
// text, Markdown and JSON reports of analyze.
func TestAnalyzeVerdictParity(t *testing.T) {
	for _, p := range []string{writePRTHAR(t), filepath.Join(testutil.SharedDir(t, "har"), "nullmicgo_chrome_azure-portal_bearer.har")} {
		_, js, _ := idt(t, "", "analyze", "--format", "json", p)
		var rep struct {
			Tokens []analyze.Token `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Tokens) == 0 {
			t.Fatalf("%s: no tokens", filepath.Base(p))
		}
		_, text, _ := idt(t, "", "analyze", "--format", "text", p)
		_, md, _ := idt(t, "", "analyze", "--format", "md", p)
		for _, tok := range rep.Tokens {
			if tok.Verdict != analyze.VerdictWord(tok.Verified) {
				t.Errorf("json verdict %q disagrees with verified", tok.Verdict)
			}
			want := "signature " + analyze.VerdictText(tok.Verified, tok.VerifyDetail)
			if !strings.Contains(text, want) || !strings.Contains(md, want) {
				t.Errorf("%s: %q missing from text or md", filepath.Base(p), want)
			}
		}
	}
}

func TestAnalyzeSignatureFlags(t *testing.T) {
	p := writePRTHAR(t)
	if code, _, _ := idt(t, "", "analyze", "--skew", "soon", p); code != 2 {
		t.Errorf("bad --skew: exit %d, want 2", code)
	}
	if code, _, _ := idt(t, "", "analyze", "--cert", p, p); code != 1 {
		t.Errorf("--cert not a certificate: exit %d, want 1", code)
	}
	if code, _, _ := idt(t, "", "analyze", "--key", p, p); code != 1 {
		t.Errorf("--key not a key: exit %d, want 1", code)
	}
	if code, out, errOut := idt(t, "", "analyze", "--skew", "2m", "--audience", "https://sp.example/", p); code != 0 || !strings.Contains(out, "prt_cookie") {
		t.Errorf("valid flags: exit %d %s", code, errOut)
	}
}
