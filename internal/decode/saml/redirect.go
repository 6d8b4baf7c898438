package saml

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// sigAlgs maps the SigAlg URIs of the HTTP-Redirect binding to x509
// signature algorithms.
var sigAlgs = map[string]x509.SignatureAlgorithm{
	"http://www.w3.org/2000/09/xmldsig#rsa-sha1":          x509.SHA1WithRSA,
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":   x509.SHA256WithRSA,
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384":   x509.SHA384WithRSA,
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512":   x509.SHA512WithRSA,
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": x509.ECDSAWithSHA256,
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": x509.ECDSAWithSHA384,
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": x509.ECDSAWithSHA512,
}

// VerifyRedirect checks the detached signature of an HTTP-Redirect binding
// message: rawQuery is the URL's query string exactly as sent (still
// percent-encoded), holding SAMLRequest or SAMLResponse, optional
// RelayState, SigAlg and Signature. The signed bytes are the original
// encoded parameters, so the query must not be re-encoded first.
// Verified is nil when the query carries no signature or no certificate is
// given; a redirect signature has no KeyInfo, so certs must come from
// metadata or the user.
func VerifyRedirect(rawQuery string, certs []*x509.Certificate) Verification {
	var v Verification
	raw := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, val, _ := strings.Cut(kv, "=")
		if _, dup := raw[k]; dup {
			v.Verified = ptrB(false)
			v.Reason = fmt.Sprintf("malformed: parameter %s appears twice", k)
			return v
		}
		raw[k] = val
	}
	msgKey := "SAMLRequest"
	if _, ok := raw[msgKey]; !ok {
		msgKey = "SAMLResponse"
	}
	if _, ok := raw[msgKey]; !ok {
		v.Reason = "no SAMLRequest or SAMLResponse parameter"
		return v
	}
	if raw["Signature"] == "" {
		v.Reason = "no signature: the redirect message carries no SigAlg/Signature (requests often go unsigned)"
		return v
	}
	signed := msgKey + "=" + raw[msgKey]
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	alg, err := url.QueryUnescape(raw["SigAlg"])
	if err != nil {
		v.Verified, v.Reason = ptrB(false), "malformed: bad SigAlg encoding"
		return v
	}
	xalg, ok := sigAlgs[alg]
	if !ok {
		v.Reason = fmt.Sprintf("unsupported signature algorithm %q", alg)
		return v
	}
	sigText, err := url.QueryUnescape(raw["Signature"])
	if err != nil {
		v.Verified, v.Reason = ptrB(false), "malformed: bad Signature encoding"
		return v
	}
	sig, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sigText), ""))
	if err != nil {
		v.Verified, v.Reason = ptrB(false), "malformed: Signature is not base64"
		return v
	}
	if len(certs) == 0 {
		v.Reason = "no certificate (redirect signatures carry none): " + NoCertHint
		return v
	}
	for _, c := range certs {
		if c.CheckSignature(xalg, []byte(signed), sig) == nil {
			v.Verified = ptrB(true)
			v.Covered = []string{"?" + msgKey}
			v.Signatures = []SignatureCheck{{Element: msgKey, Path: "?" + msgKey, Verified: ptrB(true), Certificate: c, Reason: "valid"}}
			v.Reason = "covers ?" + msgKey
			return v
		}
	}
	v.Verified = ptrB(false)
	v.Reason = fmt.Sprintf("altered or wrong key: none of the %d certificate(s) checks the redirect-binding signature", len(certs))
	return v
}
