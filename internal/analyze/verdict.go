package analyze

import "time"

// The signature verdict vocabulary, shared by every report format and by
// `idtrace jwt` and `idtrace saml`: the same three words as
// saml.Verdict and jwt.Verdict.
const (
	VerdictVerified   = "verified"
	VerdictInvalid    = "invalid"
	VerdictNotChecked = "not checked"
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

// setVerdicts fills the Verdict word of every token from Verified.
func (r *Report) setVerdicts() {
	for i := range r.Tokens {
		r.Tokens[i].Verdict = VerdictWord(r.Tokens[i].Verified)
	}
}
