package analyze

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
)

// RFC 7520 §4.4's HS256 signature entry and key, and a second entry by
// another key whose signature is wrong.
const (
	multiPayload   = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	multiGoodEntry = `{"protected":"eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9","signature":"s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"}`
	multiBadEntry  = `{"protected":"eyJhbGciOiJIUzI1NiJ9","header":{"kid":"other"},"signature":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`
	multiKeys      = `{"keys":[{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"},{"kty":"oct","kid":"other","k":"c2Vjb25kLXNlY3JldA"}]}`
)

// TestJWTReportMultipleSignatures: the jwt report of a general JWS lists
// every signature's verdict, and the overall verdict follows the rule of
// docs/signatures.md in the JSON and in the words the text shows.
func TestJWTReportMultipleSignatures(t *testing.T) {
	ks, err := jwt.ParseJWKS([]byte(multiKeys))
	if err != nil {
		t.Fatal(err)
	}
	only1, _ := jwt.ParseJWKS([]byte(strings.Replace(multiKeys, `"kid":"other"`, `"kid":"unrelated"`, 1)))
	in := `{"payload":"` + multiPayload + `","signatures":[` + multiGoodEntry + `,` + multiBadEntry + `]}`
	cases := []struct {
		name    string
		ks      *jwt.KeySet
		overall string
		each    []string
		why     string
	}{
		{"both keys: one verified, one invalid", ks, VerdictInvalid, []string{VerdictVerified, VerdictInvalid}, "signature 2 of 2 (HS256, kid other) is invalid"},
		{"only the first key", only1, VerdictVerified, []string{VerdictVerified, VerdictNotChecked}, "signature 1 of 2 (HS256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ExplainJWT(in, c.ks, time.Time{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != c.overall || !strings.Contains(r.VerifyDetail, c.why) {
				t.Errorf("overall %s (%s), want %s with %q", r.Verdict, r.VerifyDetail, c.overall, c.why)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var j struct {
				Verdict    string `json:"verdict"`
				Signatures []struct {
					Index   int    `json:"index"`
					Verdict string `json:"verdict"`
				} `json:"signatures"`
			}
			if err := json.Unmarshal(b, &j); err != nil {
				t.Fatal(err)
			}
			if j.Verdict != c.overall || len(j.Signatures) != len(c.each) {
				t.Fatalf("json: %s", b)
			}
			for i, s := range j.Signatures {
				if s.Index != i+1 || s.Verdict != c.each[i] {
					t.Errorf("json signature %d: #%d %s, want %s", i+1, s.Index, s.Verdict, c.each[i])
				}
			}
			if txt := SignatureText(r.Verified, r.Unsigned, r.VerifyDetail); !strings.HasPrefix(txt, c.overall+" (") {
				t.Errorf("text %q", txt)
			}
		})
	}
}
