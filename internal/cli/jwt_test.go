package cli

import (
	"crypto/rand"
	"crypto/rsa"
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
