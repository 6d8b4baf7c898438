// Command jws times JWS signature verification: idtrace's jwt.Parse and
// jwt.Verify against go-jose's ParseSignedCompact and Verify, on the same
// tokens and keys, one implementation per process so that /usr/bin/time
// gives each its own CPU time and peak RSS.
//
//	go run ./bench/jws -gen FILE                     # keys and tokens, once
//	jws -in FILE -impl idtrace|go-jose -n N          # verify every token N times
//
// See bench/RESULTS-jws.md for the figures and bench/jws/run.sh for the runs.
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idtrace/idtrace/internal/decode/jwt"
)

// fixture is one signed token and the public JWK that verifies it.
type fixture struct {
	Alg   string          `json:"alg"`
	Token string          `json:"token"`
	JWK   json.RawMessage `json:"jwk"`
}

func main() {
	gen := flag.String("gen", "", "write keys and tokens to `FILE` and exit")
	in := flag.String("in", "", "read keys and tokens from `FILE`")
	impl := flag.String("impl", "idtrace", "verifier: idtrace or go-jose")
	n := flag.Int("n", 10000, "verifications per token")
	flag.Parse()
	if err := run(*gen, *in, *impl, *n); err != nil {
		fmt.Fprintln(os.Stderr, "jws:", err)
		os.Exit(1)
	}
}

func run(gen, in, impl string, n int) error {
	if gen != "" {
		return generate(gen)
	}
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var fx []fixture
	if err := json.Unmarshal(b, &fx); err != nil {
		return err
	}
	for _, f := range fx {
		ok := 0
		switch impl {
		case "idtrace":
			ks, err := jwt.ParseJWKS(f.JWK)
			if err != nil {
				return err
			}
			for range n {
				tok, err := jwt.Parse(f.Token)
				if err == nil && jwt.Verify(tok, ks).Verdict().Status == jwt.StatusVerified {
					ok++
				}
			}
		case "go-jose":
			var k jose.JSONWebKey
			if err := k.UnmarshalJSON(f.JWK); err != nil {
				return err
			}
			for range n {
				js, err := jose.ParseSignedCompact(f.Token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(f.Alg)})
				if err == nil {
					if _, err := js.Verify(k.Key); err == nil {
						ok++
					}
				}
			}
		default:
			return fmt.Errorf("-impl %q: want idtrace or go-jose", impl)
		}
		if ok != n {
			return fmt.Errorf("%s: %s verified %d of %d", f.Alg, impl, ok, n)
		}
	}
	return nil
}

func generate(path string) error {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	claims := []byte(`{"iss":"https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0","aud":"api://bench","sub":"alice","exp":4102444800}`)
	var out []fixture
	for _, c := range []struct {
		alg string
		key any
	}{{"RS256", rsaKey}, {"PS256", rsaKey}, {"ES256", ecKey}, {"EdDSA", edKey}, {"HS256", secret}} {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(c.alg), Key: jose.JSONWebKey{Key: c.key, KeyID: "k1"}}, nil)
		if err != nil {
			return err
		}
		obj, err := s.Sign(claims)
		if err != nil {
			return err
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			return err
		}
		full := jose.JSONWebKey{Key: c.key, KeyID: "k1"}
		pub := full
		if c.alg != "HS256" {
			pub = full.Public()
		}
		jwk, err := pub.MarshalJSON()
		if err != nil {
			return err
		}
		out = append(out, fixture{Alg: c.alg, Token: tok, JWK: jwk})
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
