package analyze

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/testutil"
)

// pySettings8 reads python3-saml's settings8.json: the SP's private key
// and the IdP's signing certificate its encrypted responses go with.
func pySettings8(t *testing.T) (*rsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	dir := testutil.SharedDir(t, "saml-vectors/python3-saml")
	b, err := os.ReadFile(filepath.Join(dir, "settings", "settings8.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		SP struct {
			PrivateKey string `json:"privateKey"`
		} `json:"sp"`
		IdP struct {
			Multi struct {
				Signing []string `json:"signing"`
			} `json:"x509certMulti"`
		} `json:"idp"`
	}
	if err := json.Unmarshal(b, &s); err != nil || len(s.IdP.Multi.Signing) == 0 {
		t.Fatalf("settings8.json: %v", err)
	}
	der, err := saml.ParseCertificate(s.IdP.Multi.Signing[0])
	if err != nil {
		t.Fatal(err)
	}
	k, err := saml.ParsePrivateKey([]byte("-----BEGIN PRIVATE KEY-----\n" + s.SP.PrivateKey + "\n-----END PRIVATE KEY-----\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k, der, dir
}

// TestAnalyzeKeyShowsDecryptedAssertion: with the SP's key (analyze --key),
// the report shows the assertion decrypted from the EncryptedAssertion —
// its subject and attributes, where it came from, and its own verdict —
// instead of listing the encrypted form; without the key, or with another
// key, the encrypted form stays and the report says why. Samples:
// python3-saml's encrypted responses and the keys of its settings8.json.
func TestAnalyzeKeyShowsDecryptedAssertion(t *testing.T) {
	spKey, idpCert, dir := pySettings8(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file, name string
		key        *rsa.PrivateKey
		decrypted  bool
		summary    string // in the "assertion" summary line
		finding    string
	}{
		{"signed_encrypted_assertion2.xml.base64", "assertion signed inside the encryption", spKey, true, "signature verified (covers /Response/EncryptedAssertion[1] (decrypted); its own signature)", ""},
		{"signed_message_encrypted_assertion2.xml.base64", "Response signed over the encrypted assertion", spKey, true, "signature verified (covered by the Response signature over its encrypted form)", ""},
		{"double_signed_encrypted_assertion2.xml.base64", "both signed", spKey, true, "signature verified (covers /Response/EncryptedAssertion[1] (decrypted); its own signature)", ""},
		{"signed_encrypted_assertion2.xml.base64", "without the key", nil, false, "", ""},
		{"signed_encrypted_assertion2.xml.base64", "with another key", otherKey, false, "", "saml_decrypt_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b64, err := os.ReadFile(filepath.Join(dir, "responses", c.file))
			if err != nil {
				t.Fatal(err)
			}
			b := &fb{}
			b.add("POST", "http://stuff.com/endpoints/endpoints/acs.php", nil, "SAMLResponse="+url.QueryEscape(string(bytes.TrimSpace(b64))), 302, loc("http://stuff.com/"), "")
			r, err := Run(sliceSource(b.flows), Options{SAMLCerts: []*x509.Certificate{idpCert}, SAMLKey: c.key})
			if err != nil {
				t.Fatal(err)
			}
			var tok *Token
			for i := range r.Tokens {
				if r.Tokens[i].Kind == "saml_response" {
					tok = &r.Tokens[i]
				}
			}
			if tok == nil {
				t.Fatal("no SAML response token")
			}
			var claims struct {
				Assertions []struct {
					Encrypted     bool                `json:"encrypted"`
					DecryptedFrom string              `json:"decrypted_from"`
					NameID        string              `json:"name_id"`
					Attributes    map[string][]string `json:"attributes"`
				} `json:"assertions"`
			}
			if err := json.Unmarshal(tok.Claims, &claims); err != nil || len(claims.Assertions) != 1 {
				t.Fatalf("claims %s: %v", tok.Claims, err)
			}
			as := claims.Assertions[0]
			var text, md, js bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			if !c.decrypted {
				if !as.Encrypted || as.DecryptedFrom != "" || len(as.Attributes) != 0 {
					t.Errorf("assertion %+v, want the encrypted form", as)
				}
				if tok.Verdict != VerdictNotChecked {
					t.Errorf("verdict %s (%s)", tok.Verdict, tok.VerifyDetail)
				}
				for _, out := range []string{text.String(), md.String(), js.String()} {
					if strings.Contains(out, "decrypted with --key") {
						t.Error("a report says decrypted")
					}
				}
			} else {
				if as.Encrypted || as.DecryptedFrom != "/Response/EncryptedAssertion[1]" || as.NameID == "" || len(as.Attributes["cn"]) == 0 {
					t.Errorf("assertion %+v, want the decrypted one", as)
				}
				if tok.Verdict != VerdictVerified {
					t.Errorf("verdict %s (%s)", tok.Verdict, tok.VerifyDetail)
				}
				want := "decrypted with --key from /Response/EncryptedAssertion[1]; " + c.summary
				if !slices.Contains(tok.Summary, KV{"assertion", want}) {
					t.Errorf("summary %v lacks %q", tok.Summary, want)
				}
				if !slices.Contains(tok.Summary, KV{"name_id", as.NameID}) || r.Flows[0].User != as.NameID {
					t.Errorf("summary %v, user %q: want the decrypted name_id %q", tok.Summary, r.Flows[0].User, as.NameID)
				}
				said := "decrypted with --key from /Response/EncryptedAssertion[1]"
				for name, out := range map[string]string{"text": text.String(), "md": md.String(), "json": js.String()} {
					if name == "md" {
						out = strings.NewReplacer(`\[`, "[", `\]`, "]").Replace(out)
					}
					if !strings.Contains(out, said) {
						t.Errorf("%s report does not say the assertion was decrypted", name)
					}
				}
			}
			var codes []string
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
			}
			if (c.finding != "") != slices.Contains(codes, c.finding) || c.finding == "" && slices.Contains(codes, "saml_decrypt_failed") {
				t.Errorf("findings %v, want %q", codes, c.finding)
			}
		})
	}
}
