package analyze

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
)

// decisiveClaims is a token's summary (see summary: the facts analyze
// reports show for each token) with each line tied to the claim it comes
// from and that claim's meaning, for `idtrace jwt`.
func decisiveClaims(tok *jwt.Token) []Explained {
	var out []Explained
	for _, kv := range summary(tok) {
		name := kv.Key
		switch {
		case name == "app" && tok.Claims.Has("appid"):
			name = "appid"
		case name == "app":
			name = "azp"
		}
		e := Explained{Claim: name, Value: kv.Value}
		if c, ok := lookupClaim(name); ok {
			e.Meaning = c.Meaning
		}
		out = append(out, e)
	}
	return out
}

// samlAttributeClaims maps the attribute names Entra ID (and AD FS) give
// the claims of a SAML assertion to the token claim with the same meaning,
// so that one glossary explains both.
var samlAttributeClaims = map[string]string{
	"http://schemas.microsoft.com/identity/claims/tenantid":                "tid",
	"http://schemas.microsoft.com/identity/claims/objectidentifier":        "oid",
	"http://schemas.microsoft.com/identity/claims/displayname":             "name",
	"http://schemas.microsoft.com/identity/claims/identityprovider":        "idp",
	"http://schemas.microsoft.com/claims/authnmethodsreferences":           "amr",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress":   "email",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname":      "given_name",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname":        "family_name",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name":           "upn",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":            "upn",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":       "groups",
	"http://schemas.microsoft.com/claims/groups.link":                      "hasgroups",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":         "roles",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/wids":         "wids",
	"http://schemas.microsoft.com/2012/01/devicecontext/claims/identifier": "deviceid",
	"http://schemas.microsoft.com/identity/claims/ipaddress":               "ipaddr",
}

// authnContexts explains the AuthnContextClassRef values sign-ins carry.
var authnContexts = map[string]string{
	"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport":              "a password, sent over TLS",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Password":                                "a password",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:X509":                                    "a certificate",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos":                                "Kerberos (Windows sign-in)",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified":                             "not said",
	"urn:federation:authentication:windows":                                          "Windows integrated authentication (Kerberos or NTLM)",
	"http://schemas.microsoft.com/claims/multipleauthn":                              "multifactor authentication",
	"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password": "a password",
}

// samlFacts lists what decides a SAML case, in reading order: the
// message, then for each assertion its subject, audience, validity, how
// the user authenticated and its attributes. Attributes Entra names after
// a token claim are rendered and explained as analyze renders that claim
// (apps and roles named, amr's factor count), the others listed as sent.
func samlFacts(m *saml.Message) []Explained {
	var out []Explained
	add := func(k, v, meaning string) {
		if v != "" {
			out = append(out, Explained{Claim: k, Value: v, Meaning: meaning})
		}
	}
	add("kind", m.Kind, samlKinds[m.Kind])
	add("issuer", m.Issuer, "Who sent the message: the IdP's entity ID (for Entra, https://sts.windows.net/{tenant}/), or the SP's in a request.")
	add("destination", m.Destination, "The URL the message was sent to; the receiver must reject it if that is not its own endpoint.")
	add("acs_url", m.AssertionConsumerServiceURL, "Where the SP wants the response posted: it must equal a Reply URL of the IdP's app configuration.")
	if m.ForceAuthn == "true" || m.ForceAuthn == "1" {
		add("force_authn", m.ForceAuthn, "The SP wants the user to sign in again, whatever session the IdP has.")
	}
	if m.IsPassive == "true" || m.IsPassive == "1" {
		add("is_passive", m.IsPassive, "The IdP must not show any page: without a session it answers with an error (NoPassive).")
	}
	add("nameid_policy", short(m.NameIDPolicyFormat), "The NameID format the SP asks for; an IdP that cannot give it refuses (InvalidNameIDPolicy).")
	if len(m.RequestedAuthnContext) > 0 {
		v := ""
		for i, c := range m.RequestedAuthnContext {
			if i > 0 {
				v += " "
			}
			v += c
			if w, ok := authnContexts[c]; ok {
				v += " (" + w + ")"
			}
		}
		if m.RequestedAuthnComparison != "" {
			v += ", comparison " + m.RequestedAuthnComparison
		}
		add("authn_context_asked", v, "How the SP wants the user to authenticate; when the IdP's authentication does not match, Entra refuses the sign-in (AADSTS75011).")
	}
	add("in_response_to", m.InResponseTo, "The ID of the AuthnRequest this answers; an SP that started the sign-in rejects a response to a request it never sent.")
	if m.Status != nil {
		v := strings.Join(append([]string{short(m.Status.Code)}, mapShort(m.Status.SubCodes)...), " / ")
		if m.Status.Message != "" {
			v += ": " + m.Status.Message
		}
		if m.Status.Detail != "" {
			v += " (" + oneLineText(m.Status.Detail) + ")"
		}
		meaning := "The IdP's answer: Success, or why it refused (Entra puts the AADSTS code in the message or detail)."
		add("status", v, meaning)
	}
	if m.NameID != nil {
		add("name_id", m.NameID.Value, "The subject the request is about.")
	}
	for i, as := range m.Assertions {
		p := ""
		if len(m.Assertions) > 1 {
			p = fmt.Sprintf("assertion[%d].", i+1)
		}
		if as.Encrypted {
			add(p+"assertion", "encrypted", "Only the SP's private key can read it (give it with --key).")
			continue
		}
		if as.Issuer != m.Issuer {
			add(p+"issuer", as.Issuer, "Who issued the assertion: the IdP the SP must trust.")
		}
		if s := as.Subject; s != nil {
			v := s.Value
			if s.Format != "" {
				v += " (format " + short(s.Format) + ")"
			}
			add(p+"name_id", v, "The user as the SP will know them: the NameID format and value must match what the SP looks users up by.")
		}
		if c := as.Conditions; c != nil {
			add(p+"audience", strings.Join(c.Audiences, " "), "Who the assertion is for: the SP's entity ID, exactly (scheme and trailing slash count).")
			add(p+"valid", window(c.NotBefore, c.NotOnOrAfter), "When the SP may accept it (NotBefore to NotOnOrAfter): outside this window, with a few minutes of clock skew, it must refuse it.")
		}
		for _, sc := range as.SubjectConfirmations {
			if sc.Recipient != "" || !sc.NotOnOrAfter.IsZero() {
				add(p+"confirmation", strings.TrimSpace(sc.Recipient+" until "+stamp(sc.NotOnOrAfter)), "The ACS URL the bearer may post it to, and until when.")
			}
		}
		for _, st := range as.AuthnStatements {
			v := st.ClassRef
			if w, ok := authnContexts[st.ClassRef]; ok {
				v += " (" + w + ")"
			}
			if !st.AuthnInstant.IsZero() {
				v += " at " + stamp(st.AuthnInstant)
			}
			add(p+"authn_context", v, "How and when the user authenticated to the IdP (AuthnContextClassRef and AuthnInstant).")
		}
		out = append(out, samlAttributeFacts(p, &as)...)
	}
	return out
}

var samlKinds = map[string]string{
	"AuthnRequest":   "The SP asks the IdP to sign the user in.",
	"Response":       "The IdP's answer to a sign-in, with the assertion when it succeeded.",
	"Assertion":      "The IdP's signed statement about the user.",
	"LogoutRequest":  "A request to end the user's session (single logout).",
	"LogoutResponse": "The answer to a logout request.",
}

// samlAttributeFacts renders an assertion's attributes: those that carry
// a token claim through decisionFacts (as analyze renders tokens), with
// the claim's meaning, then the others as they are.
func samlAttributeFacts(prefix string, as *saml.Assertion) []Explained {
	c := &jwt.Claims{Object: jwt.Object{Values: map[string]json.RawMessage{}}}
	claimOf := map[string]string{}
	for _, at := range as.Attributes {
		name, ok := samlAttributeClaims[at.Name]
		if !ok {
			continue
		}
		claimOf[at.Name] = name
		vals := at.Values
		if name == "amr" {
			vals = samlAMR(vals)
		}
		var raw []byte
		if len(vals) == 1 && name != "amr" && name != "groups" && name != "wids" && name != "roles" {
			raw, _ = json.Marshal(vals[0])
		} else {
			raw, _ = json.Marshal(vals)
		}
		if _, dup := c.Values[name]; !dup {
			c.Keys = append(c.Keys, name)
		}
		c.Values[name] = raw
	}
	rendered := map[string]string{}
	decisionFacts(c, func(k, v string) {
		if v != "" {
			rendered[k] = v
		}
	})
	var out []Explained
	for _, at := range as.Attributes {
		label := at.Name
		if at.FriendlyName != "" {
			label = at.FriendlyName
		}
		e := Explained{Claim: prefix + label, Value: strings.Join(at.Values, ", ")}
		if name, ok := claimOf[at.Name]; ok {
			e.Claim = prefix + name
			if v, ok := rendered[name]; ok {
				e.Value = v
			}
			if cl, ok := lookupClaim(name); ok {
				e.Meaning = cl.Meaning
			}
		}
		out = append(out, e)
	}
	return out
}

// samlAMR writes the authentication method URIs of a SAML assertion as
// the amr values of a token ("…/authenticationmethod/password" is pwd,
// "…/claims/multipleauthn" mfa), so both are read the same way.
func samlAMR(uris []string) []string {
	names := map[string]string{"password": "pwd", "multipleauthn": "mfa", "windows": "wia", "x509": "rsa", "kerberos": "wia"}
	out := make([]string, len(uris))
	for i, u := range uris {
		s := strings.ToLower(short(u))
		if n, ok := names[s]; ok {
			s = n
		}
		out[i] = s
	}
	return out
}

// short is a SAML URN's last part ("urn:...:status:Success" -> "Success").
func short(urn string) string {
	if i := strings.LastIndexAny(urn, ":/"); i >= 0 && i < len(urn)-1 {
		return urn[i+1:]
	}
	return urn
}

func mapShort(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = short(s)
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func window(from, to time.Time) string {
	if from.IsZero() && to.IsZero() {
		return ""
	}
	return stamp(from) + " to " + stamp(to)
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }
