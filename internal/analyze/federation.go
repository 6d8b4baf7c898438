package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/decode/wsfed"
	"github.com/idtrace/idtrace/internal/trace"
)

// Federation: Entra sends a federated user to the domain's identity
// provider (AD FS or another) with WS-Fed (wa=wsignin1.0, wctx carrying
// estsredirect), the IdP authenticates the user (forms, Windows
// authentication) and posts a token back to Entra's login.srf. The hop is
// one step of the Entra sign-in, not a sign-in of its own.

// federationHop returns the Entra sign-in a request to a federated IdP
// belongs to, or nil when the request is not such a hop.
func (a *Analyzer) federationHop(f *trace.Flow, q url.Values) *signin {
	if q.Get("wa") != "wsignin1.0" {
		return nil
	}
	wctx := q.Get("wctx")
	fromEntra := strings.Contains(strings.ToLower(wctx), "estsredirect") || strings.EqualFold(q.Get("wtrealm"), "urn:federation:MicrosoftOnline")
	if !fromEntra {
		return nil
	}
	u, err := url.Parse(f.Request.URL)
	if err != nil || oauthEntraHost(u.Host) {
		return nil
	}
	s := a.get(a.byState["wctx:"+wctx])
	if s == nil {
		s = a.get(a.lastEntra)
	}
	if s == nil {
		s = a.newSignIn("wsfed", "passive")
		s.IdP = u.Host
	}
	if s.Federation == nil {
		s.Federation = &Federation{Host: u.Host, Protocol: "wsfed", Flows: []int{}}
	}
	if len(s.Federation.Flows) < 50 && !slices.Contains(s.Federation.Flows, f.ID) {
		s.Federation.Flows = append(s.Federation.Flows, f.ID)
	}
	if s.User == "" {
		s.User = q.Get("username")
	}
	if wctx != "" {
		a.byState["wctx:"+wctx] = s.ID
	}
	return s
}

// federationReturn reads the token the federated IdP posted back to Entra
// (wresult): issuer, subject (the ImmutableID / NameID Entra matches the
// user on), whether the IdP did MFA.
func (a *Analyzer) federationReturn(f *trace.Flow, s *signin, form url.Values) {
	a.addStep(s, f, "federation_return")
	fed := s.Federation
	if len(fed.Flows) < 50 {
		fed.Flows = append(fed.Flows, f.ID)
	}
	m, err := wsfed.Parse(form)
	if err != nil || m.Result == nil {
		a.finding(s, Finding{Severity: SeverityWarning, Code: "federation_token_unreadable", Title: "Token from the federated IdP does not decode",
			Detail: fmt.Sprintf("The wresult %s posted to %s could not be read.", fed.Host, f.Request.Host()), Hint: "Check the IdP's token-signing and encryption settings for the Microsoft Online relying party.", FlowIDs: []int{f.ID}})
		return
	}
	r := m.Result
	if r.Token == nil {
		stepDetail(s, f, "encrypted or unknown token from "+fed.Host)
		return
	}
	a.samlToken(f, s, r.Token, "wsfed_token", "request.body.wresult", fp(form.Get("wresult")), r.TokenXML)
	for _, as := range r.Token.Assertions {
		fed.Issuer = firstNonEmpty(as.Issuer, fed.Issuer)
		if as.Subject != nil {
			fed.Subject = as.Subject.Value
		}
		for _, at := range as.Attributes {
			for _, v := range at.Values {
				if strings.HasSuffix(strings.ToLower(v), "/multipleauthn") {
					fed.MFA = true
				}
			}
		}
		if c := as.Conditions; c != nil && !c.NotOnOrAfter.IsZero() && !f.Started.IsZero() && !f.Started.Before(c.NotOnOrAfter.Add(a.opts.Skew)) {
			a.finding(s, Finding{Severity: SeverityError, Code: "federation_token_expired", Title: "Token from the federated IdP already expired",
				Detail: fmt.Sprintf("%s's token is valid until %s but reached Entra at %s.", fed.Host, c.NotOnOrAfter.UTC().Format(time.RFC3339), f.Started.UTC().Format(time.RFC3339)),
				Hint:   "Synchronise the federation server's clock (w32tm /query /status) and check the token lifetime of the Microsoft Online relying party trust.", FlowIDs: []int{f.ID}})
		}
	}
	d := "token from " + firstNonEmpty(fed.Issuer, fed.Host)
	if fed.Subject != "" {
		d += " for " + fed.Subject
	}
	if fed.MFA {
		d += ", MFA done at the IdP"
	}
	stepDetail(s, f, d)
}

// oauthEntraHost reports an Entra login host.
func oauthEntraHost(host string) bool {
	return oauth.EntraCloud(host) != ""
}

var soapFaultRE = regexp.MustCompile(`(?s)<(?:\w+:)?Fault\b.*?<(?:\w+:)?(?:Text|faultstring)[^>]*>([^<]{1,400})<`)

// wsTrustFault reports a SOAP fault from a WS-Trust endpoint (active
// federation: /adfs/services/trust/...), as rich clients sign in.
func (a *Analyzer) wsTrustFault(f *trace.Flow, s *signin) {
	if f.Response == nil || !strings.Contains(strings.ToLower(f.Request.URL), "/services/trust") {
		return
	}
	body := f.Response.Body
	if len(body) > a.opts.MaxBody {
		body = body[:a.opts.MaxBody]
	}
	if !bytes.Contains(body, []byte("Fault")) {
		return
	}
	msg := "a SOAP fault"
	if m := soapFaultRE.FindSubmatch(body); m != nil {
		msg = strings.TrimSpace(string(m[1]))
	}
	if s != nil && s.Federation != nil {
		s.Federation.Fault = msg
	}
	a.finding(s, Finding{Severity: SeverityError, Code: "wstrust_fault", Title: "WS-Trust request refused by the federation server",
		Detail: fmt.Sprintf("%s answered %s: %s", f.Request.Host(), stripURL(f.Request.URL), msg),
		Hint:   "For MSIS3127 / 'ID3242' the user name or password is wrong or the account is locked on-premises; check the AD FS Admin event log at this time and that the usernamemixed endpoint is enabled.", FlowIDs: []int{f.ID}})
	if s != nil {
		s.fail("WS-Trust fault: " + firstLine(msg))
	}
}

// credentialType reads Entra's GetCredentialType answer: does the account
// exist, and is its domain federated (and to where)?
func (a *Analyzer) credentialType(f *trace.Flow, s *signin, body []byte) {
	var ct struct {
		IfExistsResult *int
		Credentials    struct {
			FederationRedirectURL string `json:"FederationRedirectUrl"`
			HasPassword           bool
		}
		EstsProperties struct {
			DesktopSsoEnabled *bool
		}
	}
	if json.Unmarshal(body, &ct) != nil || ct.IfExistsResult == nil {
		return
	}
	words := map[int]string{0: "account exists", 1: "account not found", 5: "account exists in another identity provider", 6: "account exists here and as a personal account"}
	d := firstNonEmpty(words[*ct.IfExistsResult], fmt.Sprintf("IfExistsResult %d", *ct.IfExistsResult))
	if u, err := url.Parse(ct.Credentials.FederationRedirectURL); err == nil && u.Host != "" {
		d += ", federated to " + u.Host
	}
	if ct.EstsProperties.DesktopSsoEnabled != nil && *ct.EstsProperties.DesktopSsoEnabled {
		d += ", Seamless SSO enabled"
	}
	stepDetail(s, f, d)
	if *ct.IfExistsResult == 1 {
		a.finding(s, Finding{Severity: SeverityWarning, Code: "account_not_found", Title: "Entra does not know the user name typed",
			Detail: "GetCredentialType answered that the account does not exist (IfExistsResult 1).", Hint: "Check the spelling of the user name, or whether the user exists in this tenant (a guest must use the invited address).", FlowIDs: []int{f.ID}})
	}
}

// entraSAMLIssuer is the entity ID Entra uses when it federates a domain
// to an identity provider over SAML 2.0.
const entraSAMLIssuer = "urn:federation:MicrosoftOnline"

// samlFederation handles the SAML 2.0 form of the federation hop: an
// AuthnRequest issued by Entra to the domain's IdP, and the IdP's Response
// posted back to Entra. It reports whether it handled the flow (the
// generic SAML analysis then leaves it alone: the Entra app is not the
// audience of that assertion).
func (a *Analyzer) samlFederation(f *trace.Flow, s *signin, q, form url.Values) bool {
	u, err := url.Parse(f.Request.URL)
	if err != nil {
		return false
	}
	toEntra := oauthEntraHost(u.Host)
	if v, binding := firstParam("SAMLRequest", q, form); v != "" && !toEntra {
		xmlb, err := decodeSAML(v, binding)
		if err != nil {
			return false
		}
		m, err := saml.Parse(xmlb)
		if err != nil || m.Kind != "AuthnRequest" || m.Issuer != entraSAMLIssuer {
			return false
		}
		if s == nil || s.Federation == nil {
			if e := a.get(a.lastEntra); e != nil {
				s = e
			}
		}
		if s == nil {
			return false
		}
		if s.Federation == nil {
			s.Federation = &Federation{Host: u.Host, Protocol: "saml", Flows: []int{}}
		}
		s.Federation.Flows = appendCapped(s.Federation.Flows, f.ID)
		a.addStep(s, f, "federation")
		stepDetail(s, f, "SAML AuthnRequest from Entra to "+u.Host)
		if m.ID != "" {
			a.byState["saml:"+m.ID] = s.ID
		}
		a.samlToken(f, s, m, "saml_request", "request."+binding+".SAMLRequest", fp(v), nil)
		return true
	}
	if v := form.Get("SAMLResponse"); v != "" && toEntra {
		xmlb, err := saml.DecodePost(v)
		if err != nil {
			return false
		}
		m, err := saml.Parse(xmlb)
		if err != nil || m.InResponseTo == "" {
			return false
		}
		fs := a.get(a.byState["saml:"+m.InResponseTo])
		if fs == nil || fs.Federation == nil || fs.Federation.Protocol != "saml" {
			return false
		}
		fed := fs.Federation
		fed.Flows = appendCapped(fed.Flows, f.ID)
		a.addStep(fs, f, "federation_return")
		fed.Issuer = firstNonEmpty(m.Issuer, fed.Issuer)
		if m.Status != nil && !m.Status.Success() {
			fed.Fault = strings.TrimSpace(m.Status.Code + " " + m.Status.Message)
			a.finding(fs, Finding{Severity: SeverityError, Code: "federation_idp_error", Title: "The federated IdP answered with an error",
				Detail: fmt.Sprintf("%s's SAML response to Entra has status %s.", fed.Host, fed.Fault),
				Hint:   "Read the IdP's own logs at this time; a Requester status usually means the IdP does not know the Microsoft Online relying party or the user.", FlowIDs: []int{f.ID}})
			fs.fail("federated IdP error: " + firstLine(fed.Fault))
		}
		for _, as := range m.Assertions {
			fed.Issuer = firstNonEmpty(as.Issuer, fed.Issuer)
			if as.Subject != nil {
				fed.Subject = as.Subject.Value
			}
			for _, at := range as.Attributes {
				for _, val := range at.Values {
					if strings.HasSuffix(strings.ToLower(val), "/multipleauthn") {
						fed.MFA = true
					}
				}
			}
			for _, st := range as.AuthnStatements {
				if strings.Contains(strings.ToLower(st.ClassRef), "multifactor") || strings.HasSuffix(strings.ToLower(st.ClassRef), "/multipleauthn") {
					fed.MFA = true
				}
			}
		}
		a.samlToken(f, fs, m, "saml_response", "request.body.SAMLResponse", fp(v), xmlb)
		d := "SAML response from " + firstNonEmpty(fed.Issuer, fed.Host)
		if fed.Subject != "" {
			d += " for " + fed.Subject
		}
		if fed.MFA {
			d += ", MFA done at the IdP"
		}
		stepDetail(fs, f, d)
		return true
	}
	return false
}

func firstParam(name string, q, form url.Values) (string, string) {
	if v := q.Get(name); v != "" {
		return v, "url"
	}
	if v := form.Get(name); v != "" {
		return v, "body"
	}
	return "", ""
}

func decodeSAML(v, binding string) ([]byte, error) {
	if binding == "url" {
		return saml.DecodeRedirect(v)
	}
	return saml.DecodePost(v)
}

func appendCapped(ids []int, id int) []int {
	if len(ids) < 50 && !slices.Contains(ids, id) {
		ids = append(ids, id)
	}
	return ids
}
