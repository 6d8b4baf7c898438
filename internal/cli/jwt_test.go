package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idtrace/idtrace/internal/testutil"
)

// signed returns a token signed with a fresh RSA key and the key's JWKS file.
func signed(t *testing.T, claims map[string]any) (tok, jwksPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err = obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	jwksPath = filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksPath, set, 0o644); err != nil {
		t.Fatal(err)
	}
	return tok, jwksPath
}

func TestJWTCommand(t *testing.T) {
	now := time.Now()
	tok, jwks := signed(t, map[string]any{"aud": "api://x", "iss": "https://login.microsoftonline.com/t/v2.0", "scp": "read", "ver": "2.0",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	_, otherJWKS := signed(t, map[string]any{"aud": "y"})
	file := filepath.Join(t.TempDir(), "tok.txt")
	_ = os.WriteFile(file, []byte("Authorization: Bearer "+tok+"\n"), 0o644)

	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		verified string // "true", "false", "null" for JSON runs
		contains []string
	}{
		{"token argument, text", "", []string{"jwt", tok}, 0, "", []string{"Kind:      access_token", "scp", "Signature: not checked (no keys: give", "Audience"}},
		{"json with the right keys", "", []string{"jwt", "--format", "json", "--jwks", jwks, tok}, 0, "true", []string{`"explained"`, `"header"`, `"claims"`}},
		{"json with other keys", "", []string{"jwt", "--format", "json", "--jwks", otherJWKS, tok}, 0, "false", nil},
		{"stdin with Bearer prefix", "Bearer " + tok, []string{"jwt", "--format", "json", "-"}, 0, "null", nil},
		{"file holding a header line", "", []string{"jwt", file}, 0, "", []string{"access_token"}},
		{"expired at --at", "", []string{"jwt", "--at", now.Add(3 * time.Hour).UTC().Format(time.RFC3339), tok}, 0, "", []string{"Problem:   expired"}},
		{"not a token", "", []string{"jwt", "hello"}, 1, "", nil},
		{"bad --at", "", []string{"jwt", "--at", "yesterday", tok}, 2, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := idt(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
			if tt.verified != "" {
				var doc map[string]json.RawMessage
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatal(err)
				}
				if string(doc["verified"]) != tt.verified {
					t.Errorf("verified = %s, want %s", doc["verified"], tt.verified)
				}
			}
		})
	}
}

func TestJWTRealSamples(t *testing.T) {
	dir := testutil.SharedDir(t, "jwt")
	code, out, errOut := idt(t, "", "jwt", "--format", "json", "--jwks", filepath.Join(dir, "identitymodel_JsonWebKeySet_aad.json"), filepath.Join(dir, "msalnet_v2_token.jwt"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Claims    map[string]any
		Explained []struct{ Claim, Meaning string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Claims["ver"] != "2.0" || doc.Claims["tid"] != "26039cce-489d-4002-8293-5b0c5134eacb" {
		t.Errorf("claims %v", doc.Claims)
	}
	explained := 0
	for _, e := range doc.Explained {
		if e.Meaning != "" {
			explained++
		}
	}
	if explained < len(doc.Explained)/2 {
		t.Errorf("only %d of %d claims explained", explained, len(doc.Explained))
	}
}

// TestJWTUnsigned: a token with alg "none" is "unsigned" in every format,
// with or without keys, and never "verified"; analyze says the same in text,
// Markdown and JSON.
func TestJWTUnsigned(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	none := enc(`{"alg":"none","typ":"JWT"}`) + "." + enc(`{"aud":"api://x","iss":"https://sts.example/","sub":"s1","exp":1999999999}`) + "."
	_, jwks := signed(t, map[string]any{"sub": "other"})
	for _, keys := range [][]string{nil, {"--jwks", jwks}, {"--secret", "s3cret"}} {
		args := append(append([]string{"jwt"}, keys...), none)
		code, out, errOut := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", keys, code, errOut)
		}
		if !strings.Contains(out, "Signature: unsigned (alg \"none\"") || strings.Contains(out, "verified") {
			t.Errorf("jwt %v: text output's signature line is not \"unsigned\":\n%s", keys, out)
		}
		code, out, errOut = run(t, "", append(append([]string{"jwt", "--format", "json"}, keys...), none)...)
		if code != 0 {
			t.Fatalf("%v json: exit %d: %s", keys, code, errOut)
		}
		var rep struct {
			Verified *bool  `json:"verified"`
			Verdict  string `json:"verdict"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != "unsigned" || rep.Verified == nil || *rep.Verified {
			t.Errorf("jwt --format json %v: verdict %q verified %v, want unsigned and false", keys, rep.Verdict, rep.Verified)
		}
	}

	entry := `{"startedDateTime":"2026-01-02T03:04:05.000Z","time":10,"request":{"method":"GET","url":"https://api.example/v1/me","httpVersion":"HTTP/1.1","headers":[{"name":"Authorization","value":"Bearer ` + none + `"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"text/plain"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":1,"wait":8,"receive":1}}`
	p := filepath.Join(t.TempDir(), "none.har")
	if err := os.WriteFile(p, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[`+entry+`]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "md"} {
		_, out, errOut := run(t, "", "analyze", "--format", format, p)
		if !strings.Contains(out, "signature unsigned (") || strings.Contains(out, "signature verified") {
			t.Errorf("analyze --format %s: no \"signature unsigned\" for the alg none token:\n%s%s", format, out, errOut)
		}
	}
	_, out, _ := run(t, "", "analyze", "--format", "json", p)
	if !strings.Contains(out, `"verdict": "unsigned"`) {
		t.Errorf("analyze --format json: no \"verdict\": \"unsigned\" for the alg none token")
	}
}
