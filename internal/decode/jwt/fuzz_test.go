package jwt

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/testutil"
)

func seedTokens(f *testing.F) []string {
	f.Helper()
	var out []string
	dir := testutil.SharedDir(f, "jwt")
	for _, name := range []string{"identitymodel_aad_v1_line456.jwt", "msalnet_v2_token.jwt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out
}

func FuzzParseJWT(f *testing.F) {
	dk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seedTokens(f) {
		f.Add(s)
		f.Add("Bearer " + s[:len(s)/2] + "\n" + s[len(s)/2:])
	}
	f.Add("eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..a.b.c")
	f.Add("a.b.c")
	for _, v := range rfcVectors {
		f.Add(v.token)
		f.Add(v.token + "==")
		f.Add(strings.NewReplacer("-", "+", "_", "/").Replace(v.token))
	}
	f.Add(`{"payload":"` + rfc7520Payload + `","signatures":[{"protected":"` + rfc7520Protected + `","header":{"kid":"k"},"signature":"` + rfc7520Sig + `"}]}`)
	f.Add(`{"payload":"e30","protected":"eyJhbGciOiJIUzI1NiJ9","signature":"AAAA"}`)
	f.Add(rfc7520Sec48)
	f.Add(rfc7520Protected + ".." + rfc7520Sig)
	f.Add(`{"signatures":[{"header":{"alg":"HS256","kid":"k"},"signature":"` + rfc7520Sig + `"}]}`)
	f.Add(rfc7520Sec53)
	f.Add(rfc7520Sec510)
	f.Add(rfc7520Sec513)
	f.Add(b64url(`{"alg":"HS256","crit":["x"],"x":1}`) + "." + b64url(`{"refresh_token":"abc","is_primary":"true"}`) + ".c2ln")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if tok != nil {
				t.Fatal("token and error")
			}
			return
		}
		_ = tok.Claims.Audience()
		_ = tok.Claims.Scopes()
		_ = tok.Claims.Version()
		_ = tok.Claims.TenantID()
		_ = CheckTimes(tok, time.Unix(1500000000, 0), time.Minute)
		if tok.Encrypted {
			if dec, err := Decrypt(tok, dk, nil); err == nil {
				_ = Verify(dec, nil)
			}
		}
		v := Verify(tok, nil)
		if v.Verified != nil && *v.Verified {
			t.Fatal("verified without keys")
		}
		if d := v.Verdict(); d.Status != StatusInvalid && d.Status != StatusNotChecked && d.Status != StatusUnsigned {
			t.Fatalf("verdict %q without keys", d.Status)
		}
		for _, k := range tok.Masked {
			if !strings.HasPrefix(tok.Claims.Str(k), "(masked: ") {
				t.Fatalf("claim %s not masked", k)
			}
		}
	})
}

func FuzzFind(f *testing.F) {
	for _, s := range seedTokens(f) {
		f.Add("GET /cb#id_token=" + s + "&state=x HTTP/1.1")
		f.Add(`{"access_token":"` + s + `"}`)
	}
	f.Add("eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		last := -1
		for _, m := range Find(s) {
			if m.Start < last || m.Start >= m.End || m.End > len(s) || s[m.Start:m.End] != m.Token {
				t.Fatalf("bad match %+v (prev end %d)", m, last)
			}
			if !strings.HasPrefix(m.Token, "eyJ") {
				t.Fatalf("match %q does not start with eyJ", m.Token)
			}
			last = m.End
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	dir := testutil.SharedDir(f, "jwt")
	for _, name := range []string{"identitymodel_JsonWebKeySet_aad.json", "identitymodel_JsonWebKeySet_EC.json", "msalnet_OpenidConfiguration.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	toks := seedTokens(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := ParseJWKS(b)
		_, _ = ParseDiscovery(b)
		if err != nil {
			return
		}
		for _, k := range ks.Keys {
			if k.Public == nil && len(k.Secret) == 0 {
				t.Fatal("key without public key or secret")
			}
		}
		for _, s := range toks {
			tok, err := Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			_ = Verify(tok, ks)
		}
	})
}
