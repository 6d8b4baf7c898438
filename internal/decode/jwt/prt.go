package jwt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// PRTCookieName is the cookie Windows (the CloudAP plug-in, through the
// browser extension or WAM) sends to login.microsoftonline.com to sign the
// user in with the device's primary refresh token.
const PRTCookieName = "x-ms-RefreshTokenCredential"

// PRTLabel names the PRT cookie for people.
const PRTLabel = "Windows primary refresh token cookie"

// IsPRTCookieName reports whether a cookie name is the PRT cookie (Windows
// numbers extra ones: x-ms-RefreshTokenCredential1, 2, ...).
func IsPRTCookieName(name string) bool {
	return strings.EqualFold(strings.TrimRight(name, "0123456789"), PRTCookieName)
}

// IsPRT reports whether the token is a PRT cookie by its content: a
// "refresh_token" claim beside "is_primary", or a header "ctx" (the
// key-derivation context of the session key that signs it).
func (t *Token) IsPRT() bool {
	if t == nil || !t.Claims.Has("refresh_token") {
		return false
	}
	return t.Claims.Has("is_primary") || t.Header.Has("ctx")
}

// secretClaims are claims whose values are live credentials wherever they
// appear inside a token: a PRT cookie's refresh token, and the secrets
// some tokens embed.
var secretClaims = map[string]bool{
	"refresh_token": true, "access_token": true, "id_token": true, "client_secret": true,
	"password": true, "session_key": true, "prt": true,
}

// IsSecretClaim reports whether a claim's value is a credential that
// reports must mask (see Mask).
func IsSecretClaim(name string) bool { return secretClaims[strings.ToLower(name)] }

// Mask replaces a secret with a placeholder that tells its length and a
// short SHA-256 fingerprint (so two reports can be matched) and holds none
// of its characters.
func Mask(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return fmt.Sprintf("(masked: %d chars, sha256 %s)", len(secret), hex.EncodeToString(sum[:4]))
}

// maskSecretClaims replaces the value of every secret claim by Mask of it
// and returns the names masked.
func maskSecretClaims(o *Object) []string {
	var masked []string
	for _, k := range o.Keys {
		if !IsSecretClaim(k) {
			continue
		}
		raw := o.Values[k]
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		b, _ := json.Marshal(Mask(s))
		o.Values[k] = b
		masked = append(masked, k)
	}
	return masked
}
