package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/idtrace/idtrace/internal/testutil"
)

func readShared(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, dir), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRealTokens(t *testing.T) {
	v1, err := Parse(string(readShared(t, "jwt", "identitymodel_aad_v1_line456.jwt")))
	if err != nil {
		t.Fatal(err)
	}
	if got := v1.Claims.Version(); got != "1.0" {
		t.Errorf("v1 version %q", got)
	}
	if got := v1.Claims.Audience(); !slices.Equal(got, []string{"https://graph.windows.net"}) {
		t.Errorf("aud %v", got)
	}
	if got := v1.Claims.TenantID(); got != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
		t.Errorf("tid %q", got)
	}
	if got := v1.Claims.AppID(); got != "118e170f-cf26-400f-a0e9-96910b31187e" {
		t.Errorf("appid %q", got)
	}
	if got := v1.Claims.Scopes(); !slices.Equal(got, []string{"UserProfile.Read"}) {
		t.Errorf("scp %v", got)
	}
	if got := v1.Claims.ObjectID(); got != "35c76eed-f640-4ae7-aae2-3277171ea3e5" {
		t.Errorf("oid %q", got)
	}
	if got := v1.X5t(); got != "kriMPdmBvx68skT8-mPAB3BseeA" || v1.KeyID() != "" {
		t.Errorf("x5t %q kid %q", got, v1.KeyID())
	}
	if exp := v1.Claims.Expiry(); exp == nil || exp.Unix() != 1405972822 {
		t.Errorf("exp %v", exp)
	}
	if !v1.HasSignature || len(v1.Signature) != 256 {
		t.Errorf("signature %d bytes", len(v1.Signature))
	}
	// Order kept: the payload starts with aud, iss, iat.
	if !slices.Equal(v1.Claims.Keys[:3], []string{"aud", "iss", "iat"}) {
		t.Errorf("order %v", v1.Claims.Keys[:3])
	}
	if !v1.Claims.Has("_claim_names") {
		t.Error("groups overage _claim_names missing")
	}

	v2, err := Parse(string(readShared(t, "jwt", "msalnet_v2_token.jwt")))
	if err != nil {
		t.Fatal(err)
	}
	if v2.Claims.Version() != "2.0" || v2.KeyID() != "-sxMJMLCIDWMTPvZyJ6tx-CDxw0" {
		t.Errorf("v2 ver %q kid %q", v2.Claims.Version(), v2.KeyID())
	}
	if v2.Claims.TenantID() != "26039cce-489d-4002-8293-5b0c5134eacb" || v2.Claims.Str("preferred_username") == "" {
		t.Errorf("v2 tid %q", v2.Claims.TenantID())
	}
	if v2.Claims.Issuer() != "https://login.microsoftonline.com/26039cce-489d-4002-8293-5b0c5134eacb/v2.0" {
		t.Errorf("iss %q", v2.Claims.Issuer())
	}
	// Request time inside the lifetime: no issues; a year later: expired.
	iat := *v2.Claims.IssuedAt()
	if is := CheckTimes(v2, iat.Add(time.Hour), 5*time.Minute); len(is) != 0 {
		t.Errorf("issues inside lifetime: %+v", is)
	}
	is := CheckTimes(v2, iat.Add(365*24*time.Hour), 5*time.Minute)
	if len(is) != 1 || is[0].Code != IssueExpired {
		t.Errorf("issues a year later: %+v", is)
	}
}

func TestParseTolerance(t *testing.T) {
	raw := strings.TrimSpace(string(readShared(t, "jwt", "msalnet_v2_token.jwt")))
	parts := strings.Split(raw, ".")
	pad := func(s string) string {
		for len(s)%4 != 0 {
			s += "="
		}
		return s
	}
	cases := map[string]string{
		"bearer":       "Bearer " + raw,
		"authz":        "Authorization: Bearer " + raw + "\r\n",
		"quoted":       `"` + raw + `"`,
		"wrapped":      raw[:50] + "\n  " + raw[50:200] + "\r\n" + raw[200:],
		"padded":       pad(parts[0]) + "." + pad(parts[1]) + "." + pad(parts[2]),
		"std-base64":   strings.NewReplacer("-", "+", "_", "/").Replace(raw),
		"lower-bearer": "bearer\t" + raw,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			tok, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Claims.Str("oid") != "13dd2c19-84cd-416a-ae7d-49573e425619" {
				t.Errorf("oid %q", tok.Claims.Str("oid"))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	h := b64(`{"alg":"RS256"}`)
	cases := []struct {
		name, in, part string
	}{
		{"empty", "   ", "token"},
		{"one part", "hello", "token"},
		{"four parts", "a.b.c.d", "token"},
		{"bad char in payload", h + ".ab$cd.", "payload"},
		{"header not base64", "e.e30.", "header"},
		{"header not json", b64("hello") + "." + b64("{}") + ".", "header"},
		{"header array", b64("[1]") + "." + b64("{}") + ".", "header"},
		{"no alg", b64(`{"typ":"JWT"}`) + "." + b64("{}") + ".", "header"},
		{"signature bad", h + "." + b64("{}") + ".a", "signature"},
		{"jwe without enc", b64(`{"alg":"RSA-OAEP"}`) + ".a.b.c.d", "header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not a ParseError", err)
			}
			if pe.Part != c.part || !errors.Is(err, ErrNotJWT) {
				t.Errorf("part %q, want %q (%v)", pe.Part, c.part, err)
			}
		})
	}
}

func TestParseJWEAndDuplicates(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok, err := Parse(b64(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k1"}`) + ".AAAA.BBBB.CCCC.DDDD")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Encrypted || tok.Header.Str("enc") != "A256GCM" || len(tok.Claims.Keys) != 0 {
		t.Errorf("JWE %+v", tok)
	}
	if v := Verify(tok, nil); v.Verified != nil {
		t.Errorf("JWE verified %v", *v.Verified)
	}
	tok, err = Parse(b64(`{"alg":"none"}`) + "." + b64(`{"sub":"a","sub":"b","aud":["x","y"],"exp":"1500000000"}`) + ".")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Subject() != "b" || !slices.Equal(tok.Claims.Duplicates, []string{"sub"}) {
		t.Errorf("dup %v sub %q", tok.Claims.Duplicates, tok.Claims.Subject())
	}
	if !slices.Equal(tok.Claims.Audience(), []string{"x", "y"}) || tok.Claims.Expiry().Unix() != 1500000000 {
		t.Errorf("aud %v exp %v", tok.Claims.Audience(), tok.Claims.Expiry())
	}
	if tok.HasSignature {
		t.Error("unsigned token has signature")
	}
}

func TestFind(t *testing.T) {
	raw := strings.TrimSpace(string(readShared(t, "jwt", "msalnet_v2_token.jwt")))
	v1 := strings.TrimSpace(string(readShared(t, "jwt", "identitymodel_aad_v1_line456.jwt")))
	jwe := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A128GCM"}`)) + "..iv_iv_iv.cipher-text.tag_tag"
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone"}`)) + "."
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"header", "Authorization: Bearer " + raw + "\r\nHost: x\r\n", []string{raw}},
		{"fragment", "https://app/cb#id_token=" + raw + "&state=abc&access_token=" + v1, []string{raw, v1}},
		{"json", `{"token_type":"Bearer","access_token":"` + v1 + `","id_token":"` + raw + `"}`, []string{v1, raw}},
		{"html", `<input type="hidden" name="id_token" value="` + raw + `"/>`, []string{raw}},
		{"sentence", "the token " + raw + ". Then", []string{raw}},
		{"jwe", "x=" + jwe + "&y", []string{jwe}},
		{"unsigned", "t=" + unsigned + " end", []string{unsigned}},
		{"inside base64 blob", "QUJD" + raw, nil},
		{"too short", "eyJh.eyJh.x", nil},
		{"no payload eyJ", "eyJhbGciOiJSUzI1NiJ9xx.abcdefghijklmnopq.sig", nil},
		{"nothing", strings.Repeat("eyJ", 1000), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := Find(c.text)
			var got []string
			for _, m := range ms {
				if c.text[m.Start:m.End] != m.Token {
					t.Errorf("offsets %d:%d do not match token", m.Start, m.End)
				}
				got = append(got, m.Token)
				if _, err := Parse(m.Token); err != nil {
					t.Errorf("found token does not parse: %v", err)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %d matches %q, want %d", len(got), got, len(c.want))
			}
			var fromBytes []string
			for m := range AllBytes([]byte(c.text)) {
				fromBytes = append(fromBytes, m.Token)
			}
			if !slices.Equal(fromBytes, c.want) {
				t.Errorf("AllBytes got %q", fromBytes)
			}
		})
	}
}

func TestFindAllocs(t *testing.T) {
	raw := strings.TrimSpace(string(readShared(t, "jwt", "msalnet_v2_token.jwt")))
	body := strings.Repeat(`{"x":"eyJ not a token", "access_token":"`+raw+`"} `, 50)
	n := 0
	allocs := testing.AllocsPerRun(10, func() {
		n = 0
		for range All(body) {
			n++
		}
	})
	if n != 50 {
		t.Fatalf("found %d, want 50", n)
	}
	if allocs > 2 {
		t.Errorf("All allocates %.0f times per scan", allocs)
	}
}

func BenchmarkFind(b *testing.B) {
	body := strings.Repeat("lorem ipsum dolor sit amet, eyJ consectetur &access_token=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln ", 10000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		for range All(body) {
		}
	}
}

func TestCheckTimes(t *testing.T) {
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	mk := func(claims map[string]any) *Token {
		t.Helper()
		b, _ := json.Marshal(claims)
		tok, err := Parse(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(b) + ".")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	u := func(d time.Duration) int64 { return base.Add(d).Unix() }
	cases := []struct {
		name   string
		claims map[string]any
		want   []string
	}{
		{"valid", map[string]any{"iat": u(-time.Hour), "nbf": u(-time.Hour), "exp": u(time.Minute)}, nil},
		{"expired", map[string]any{"iat": u(-2 * time.Hour), "exp": u(-time.Hour)}, []string{IssueExpired}},
		{"expired within skew", map[string]any{"iat": u(-time.Hour), "exp": u(-2 * time.Minute)}, nil},
		{"nbf future", map[string]any{"nbf": u(time.Hour), "exp": u(2 * time.Hour)}, []string{IssueNotYetValid}},
		{"iat future", map[string]any{"iat": u(10 * time.Minute), "exp": u(time.Hour)}, []string{IssueIssuedInFuture}},
		{"long", map[string]any{"iat": u(-time.Hour), "exp": u(90 * 24 * time.Hour)}, []string{IssueLongLifetime}},
		{"no exp", map[string]any{"iat": u(-time.Hour)}, []string{IssueNoExpiry}},
		{"exp not number", map[string]any{"exp": "soon"}, []string{IssueBadTimes}},
		{"exp before iat", map[string]any{"iat": u(-time.Minute), "exp": u(-time.Hour)}, []string{IssueExpired, IssueBadTimes}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, is := range CheckTimes(mk(c.claims), base, 5*time.Minute) {
				got = append(got, is.Code)
				if is.Detail == "" {
					t.Error("issue without detail")
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseJWKSShared(t *testing.T) {
	aad, err := ParseJWKS(readShared(t, "jwt", "identitymodel_JsonWebKeySet_aad.json"))
	if err != nil {
		t.Fatal(err)
	}
	if aad.Len() == 0 {
		t.Fatalf("no keys; skipped %v", aad.Skipped)
	}
	k := aad.Keys[0]
	if k.KeyID != "NGTFvdK-fythEuLwjpwAJOM9n-A" || k.Alg != "SHA256" || k.Certificate == nil {
		t.Errorf("aad key %+v", k)
	}
	if _, ok := k.Public.(*rsa.PublicKey); !ok {
		t.Errorf("aad key type %T", k.Public)
	}
	ec, err := ParseJWKS(readShared(t, "jwt", "identitymodel_JsonWebKeySet_EC.json"))
	if err != nil {
		t.Fatal(err)
	}
	var curves []string
	for _, k := range ec.Keys {
		curves = append(curves, k.Public.(*ecdsa.PublicKey).Curve.Params().Name)
	}
	if !slices.Equal(curves, []string{"P-256", "P-384", "P-521"}) || len(ec.Skipped) != 0 {
		t.Errorf("EC curves %v skipped %v", curves, ec.Skipped)
	}
	all := (&KeySet{}).Merge(aad, ec, aad)
	if all.Len() != aad.Len()+ec.Len() {
		t.Errorf("merge kept %d keys, want %d", all.Len(), aad.Len()+ec.Len())
	}
	if _, err := ParseJWKS([]byte(`{"issuer":"x"}`)); err == nil {
		t.Error("non-JWKS accepted")
	}
	ks, err := ParseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	if err != nil || ks.Len() != 1 || len(ks.Skipped) != 1 || string(ks.Keys[0].Secret) != "secret" {
		t.Errorf("bad keys: %v %d %v", err, ks.Len(), ks.Skipped)
	}
}

func TestParseDiscoveryShared(t *testing.T) {
	d, err := ParseDiscovery(readShared(t, "jwt", "msalnet_OpenidConfiguration.json"))
	if err != nil {
		t.Fatal(err)
	}
	// This tenant's v2.0 document names the v1 issuer (sts.windows.net).
	if d.Issuer != "https://sts.windows.net/6babcaad-604b-40ac-a9d7-9fd97c0b779f/" || !strings.HasSuffix(d.JWKSURI, "/discovery/keys") {
		t.Errorf("discovery %+v", d)
	}
	g, err := ParseDiscovery(readShared(t, "jwt", "identitymodel_google-openid-configuration.json"))
	if err != nil || g.Issuer != "accounts.google.com" {
		t.Errorf("google %v %+v", err, g)
	}
}

// signer makes test tokens with go-jose.
type testKey struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
	cert *x509.Certificate
}

func newRSAKey(t *testing.T, alg jose.SignatureAlgorithm, kid string) testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test signer (synthetic)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testKey{priv: k, alg: alg, kid: kid, cert: cert}
}

func (k testKey) sign(t *testing.T, claims map[string]any, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.kid != "" {
		opts = opts.WithHeader("kid", k.kid)
	}
	for hk, hv := range extra {
		opts = opts.WithHeader(hk, hv)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwks renders the public keys as a JWKS the way Entra does (x5c, x5t, kid).
func jwks(t *testing.T, keys ...testKey) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		jk := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Use: "sig", Algorithm: string(k.alg)}
		if k.cert != nil {
			jk.Certificates = []*x509.Certificate{k.cert}
		}
		set.Keys = append(set.Keys, jk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifySigned(t *testing.T) {
	rs := newRSAKey(t, jose.RS256, "rs-key")
	ps := newRSAKey(t, jose.PS256, "ps-key")
	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es := testKey{priv: ecPriv, alg: jose.ES256, kid: "es-key"}
	other := newRSAKey(t, jose.RS256, "rs-key") // same kid, different key
	x5tOnly := newRSAKey(t, jose.RS256, "")

	ks, err := ParseJWKSFrom(jwks(t, rs, ps, es, x5tOnly), "test-jwks")
	if err != nil || ks.Len() != 4 {
		t.Fatalf("jwks: %v %d %v", err, ks.Len(), ks.Skipped)
	}
	now := time.Now()
	claims := map[string]any{"iss": "https://issuer.example", "aud": "api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	x5t := ks.Keys[3].X5t

	// HS256 "signed" with the RSA public key (algorithm confusion).
	pubDER, _ := x509.MarshalPKIXPublicKey(rs.priv.Public())
	hsTok := hsSign(t, pubDER, claims)

	tamper := func(s string) string {
		p := strings.Split(s, ".")
		b, _ := base64.RawURLEncoding.DecodeString(p[1])
		b = []byte(strings.Replace(string(b), `"api"`, `"apj"`, 1))
		return p[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + p[2]
	}
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"api"}`)) + "."

	cases := []struct {
		name  string
		tok   string
		ks    *KeySet
		want  *bool
		inMsg string
	}{
		{"RS256", rs.sign(t, claims, nil), ks, ptr(true), "verified"},
		{"PS256", ps.sign(t, claims, nil), ks, ptr(true), "verified"},
		{"ES256", es.sign(t, claims, nil), ks, ptr(true), "verified"},
		{"x5t only (Entra v1)", x5tOnly.sign(t, claims, map[jose.HeaderKey]any{"x5t": x5t}), ks, ptr(true), "verified"},
		{"no kid, try all", x5tOnly.sign(t, claims, nil), ks, ptr(true), "verified"},
		{"tampered payload", tamper(rs.sign(t, claims, nil)), ks, ptr(false), "invalid (altered"},
		{"wrong key same kid", other.sign(t, claims, nil), ks, ptr(false), "invalid (altered"},
		{"unknown kid", newRSAKey(t, jose.RS256, "nobody").sign(t, claims, nil), ks, nil, "no key"},
		{"no keys", rs.sign(t, claims, nil), nil, nil, "no keys"},
		{"alg none", noneTok, ks, ptr(false), "none"},
		{"HS256 with public key", hsTok, ks, nil, "shared secret"},
		{"graph nonce", other.sign(t, claims, map[jose.HeaderKey]any{"nonce": "abc"}), ks, nil, "Graph"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.tok)
			if err != nil {
				t.Fatal(err)
			}
			v := Verify(tok, c.ks)
			if (v.Verified == nil) != (c.want == nil) || (v.Verified != nil && *v.Verified != *c.want) {
				t.Errorf("verified %v, want %v (%s)", fmtB(v.Verified), fmtB(c.want), v.Reason)
			}
			if !strings.Contains(v.Verdict().String(), c.inMsg) {
				t.Errorf("verdict %q lacks %q", v.Verdict(), c.inMsg)
			}
			if v.Verified != nil && *v.Verified && v.KeySource != "test-jwks" {
				t.Errorf("key source %q", v.KeySource)
			}
		})
	}

	// Expired and not-yet-valid tokens still verify (signature is fine)
	// but CheckTimes against the request time flags them.
	exp := rs.sign(t, map[string]any{"iat": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(-2 * time.Hour).Unix()}, nil)
	nbf := rs.sign(t, map[string]any{"nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}, nil)
	for _, c := range []struct{ tok, code string }{{exp, IssueExpired}, {nbf, IssueNotYetValid}} {
		tok, _ := Parse(c.tok)
		if v := Verify(tok, ks); v.Verified == nil || !*v.Verified {
			t.Errorf("%s: not verified: %s", c.code, v.Reason)
		}
		is := CheckTimes(tok, now, time.Minute)
		if len(is) != 1 || is[0].Code != c.code {
			t.Errorf("%s: issues %+v", c.code, is)
		}
	}
}

func TestVerifyRealTokens(t *testing.T) {
	aad, err := ParseJWKS(readShared(t, "jwt", "identitymodel_JsonWebKeySet_aad.json"))
	if err != nil {
		t.Fatal(err)
	}
	v1raw := strings.TrimSpace(string(readShared(t, "jwt", "identitymodel_aad_v1_line456.jwt")))
	p := strings.Split(v1raw, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(p[1])
	forged := p[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), `"scp":"UserProfile.Read"`, `"scp":"Directory.ReadWrite.All"`, 1))) + "." + p[2]
	cases := []struct {
		name, tok string
		want      *bool
		kid       string
		inReason  string
	}{
		// The 2014 Entra v1 token names its key by x5t only; the shared
		// Entra JWKS holds that key (kid == x5t), so the real signature verifies.
		{"v1 real", v1raw, ptr(true), "kriMPdmBvx68skT8-mPAB3BseeA", "verified"},
		{"v1 scope forged", forged, ptr(false), "kriMPdmBvx68skT8-mPAB3BseeA", "invalid (altered"},
		// The v2 id_token's key is not in that JWKS: not verified, never "invalid".
		{"v2 key absent", string(readShared(t, "jwt", "msalnet_v2_token.jwt")), nil, "-sxMJMLCIDWMTPvZyJ6tx-CDxw0", "none with kid/x5t"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.tok)
			if err != nil {
				t.Fatal(err)
			}
			v := Verify(tok, aad)
			if fmtB(v.Verified) != fmtB(c.want) || v.KeyID != c.kid || !strings.Contains(v.Verdict().String(), c.inReason) {
				t.Errorf("verified %s kid %q verdict %q", fmtB(v.Verified), v.KeyID, v.Verdict())
			}
		})
	}
}

func TestX5cOnlyKey(t *testing.T) {
	k := newRSAKey(t, jose.RS256, "x5c-only")
	doc := `{"keys":[{"kid":"x5c-only","use":"sig","key_ops":["signing"],"alg":"SHA256","x5c":["` + base64.StdEncoding.EncodeToString(k.cert.Raw) + `"]}]}`
	ks, err := ParseJWKS([]byte(doc))
	if err != nil || ks.Len() != 1 {
		t.Fatalf("%v %d %v", err, ks.Len(), ks.Skipped)
	}
	if ks.Keys[0].X5t == "" || ks.Keys[0].Certificate == nil {
		t.Errorf("key %+v", ks.Keys[0])
	}
	tok, _ := Parse(k.sign(t, map[string]any{"aud": "x"}, nil))
	if v := Verify(tok, ks); v.Verified == nil || !*v.Verified {
		t.Errorf("x5c-only: %s", v.Reason)
	}
	// A JWK whose members and x5c disagree is refused.
	other := newRSAKey(t, jose.RS256, "")
	bad, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "mix",
		"n": base64.RawURLEncoding.EncodeToString(other.priv.Public().(*rsa.PublicKey).N.Bytes()), "e": "AQAB",
		"x5c": []string{base64.StdEncoding.EncodeToString(k.cert.Raw)}}}})
	if ks, err := ParseJWKS(bad); err != nil || ks.Len() != 0 || len(ks.Skipped) != 1 {
		t.Errorf("mismatched x5c accepted: %v %d", err, ks.Len())
	}
}

func TestVerifyDiscoveryPair(t *testing.T) {
	rs := newRSAKey(t, jose.RS256, "k1")
	d, err := ParseDiscovery([]byte(`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys"}`))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := KeySetFromDiscovery(d, jwks(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	const tid = "26039cce-489d-4002-8293-5b0c5134eacb"
	cases := []struct {
		name   string
		claims map[string]any
		match  bool
	}{
		{"tenant issuer", map[string]any{"iss": "https://login.microsoftonline.com/" + tid + "/v2.0", "tid": tid}, true},
		{"v1 issuer on v2 keys", map[string]any{"iss": "https://sts.windows.net/" + tid + "/", "tid": tid}, false},
		{"tid differs from issuer", map[string]any{"iss": "https://login.microsoftonline.com/" + tid + "/v2.0", "tid": "00000000-0000-0000-0000-000000000000"}, false},
	}
	for _, c := range cases {
		tok, _ := Parse(rs.sign(t, c.claims, nil))
		v := Verify(tok, ks)
		if v.Verified == nil || !*v.Verified || v.KeyIssuer != d.Issuer || v.KeySource != d.JWKSURI {
			t.Errorf("%s: %+v", c.name, v)
		}
		if v.IssuerMatch == nil || *v.IssuerMatch != c.match {
			t.Errorf("%s: issuer match %s", c.name, fmtB(v.IssuerMatch))
		}
	}
}

func hsSign(t *testing.T, secret []byte, claims map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"rs-key"}`)) + "." + base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func fmtB(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}
