package analyze

import (
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
)

// The signature verdict vocabulary, shared by every report format and by
// `idtrace jwt` and `idtrace saml`: the words of saml.Verdict and
// jwt.Verdict. "unsigned" is a message that carries no signature at all
// (a JWT with alg "none", a SAML response without one): never verified,
// whatever keys are given.
const (
	VerdictVerified   = "verified"
	VerdictInvalid    = "invalid"
	VerdictNotChecked = "not checked"
	VerdictUnsigned   = "unsigned"
)

// DefaultSkew is the clock skew allowed when none is given (--skew), for
// JWT and SAML times alike.
const DefaultSkew = 5 * time.Minute

// VerdictWord maps a tri-state verification result to its word: true is
// "verified", false "invalid", nil "not checked".
func VerdictWord(v *bool) string {
	switch {
	case v == nil:
		return VerdictNotChecked
	case *v:
		return VerdictVerified
	}
	return VerdictInvalid
}

// VerdictText renders a verdict and its reason as every format shows it:
// "verified (covers /Response)", "invalid (altered: ...)",
// "not checked (no keys: ...)".
func VerdictText(v *bool, why string) string {
	if why == "" {
		return VerdictWord(v)
	}
	return VerdictWord(v) + " (" + why + ")"
}

// SignatureWord is VerdictWord, or "unsigned" for a message without a
// signature.
func SignatureWord(v *bool, unsigned bool) string {
	if unsigned {
		return VerdictUnsigned
	}
	return VerdictWord(v)
}

// SignatureText is VerdictText, with "unsigned" for a message without a
// signature: `unsigned (alg "none": anyone could have written it)`.
func SignatureText(v *bool, unsigned bool, why string) string {
	if why == "" {
		return SignatureWord(v, unsigned)
	}
	return SignatureWord(v, unsigned) + " (" + why + ")"
}

// setVerdicts fills the Verdict word of every token from Verified.
func (r *Report) setVerdicts() {
	for i := range r.Tokens {
		r.Tokens[i].Verdict = SignatureWord(r.Tokens[i].Verified, r.Tokens[i].Unsigned)
	}
}

// SignatureVerdict is the verdict of one signature of a JWS that carries
// several.
type SignatureVerdict struct {
	// Index is the signature's 1-based position in "signatures".
	Index int    `json:"index"`
	Alg   string `json:"alg"`
	KeyID string `json:"kid,omitempty"`
	// Verdict is the word, VerifyDetail why.
	Verdict      string `json:"verdict"`
	VerifyDetail string `json:"verify_detail,omitempty"`
}

// signatureVerdicts turns jwt.Verification.Each into report rows.
func signatureVerdicts(each []jwt.Verification) []SignatureVerdict {
	var out []SignatureVerdict
	for _, e := range each {
		d := e.Verdict()
		out = append(out, SignatureVerdict{Index: e.Signature, Alg: e.Alg, KeyID: e.KeyID, Verdict: d.Status, VerifyDetail: d.Why})
	}
	return out
}

// decryptedSummary tells, for each assertion decrypted with the SP's key,
// where it came from and its own verdict, for the token's summary lines.
func decryptedSummary(ds []saml.Decrypted) []KV {
	var out []KV
	for _, d := range ds {
		out = append(out, KV{"assertion", "decrypted with --key from " + d.From + "; signature " + d.Verdict.String()})
	}
	return out
}
