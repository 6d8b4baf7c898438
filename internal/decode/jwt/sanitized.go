package jwt

import "strings"

// SanitizedSignature is the signature segment that `idtrace sanitize` puts
// in place of a JWT's real signature when it keeps the header and claims.
// It is valid base64url (so the token still parses) and cannot be a real
// RS/ES/PS signature, whose length it does not have.
const SanitizedSignature = "REDACTED_by_idtrace_sanitize"

// SanitizedReason is what Verify says about such a token.
const SanitizedReason = "signature removed by sanitize (the trace was sanitized before sharing; this is not a sign of tampering)"

// Sanitized reports whether tok's signature was removed by sanitize.
func (t *Token) Sanitized() bool {
	return t != nil && !t.Encrypted && strings.HasSuffix(t.Raw, "."+SanitizedSignature)
}
