package analyze

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/decode/wsfed"
	"github.com/idtrace/idtrace/internal/trace"
)

// samlFlow decodes SAMLRequest / SAMLResponse (redirect and POST bindings)
// and WS-Fed sign-in messages, and stitches them by request ID.
//
// Signatures are verified at Finish with saml.Verify against the
// certificates of Options.SAMLCerts and of federation metadata found in the
// trace; a signature that is only valid with the message's own certificate
// is reported as not verified (self-asserted). Conditions and audience are
// checked here against the time of the flow that carried the message.
func (a *Analyzer) samlFlow(f *trace.Flow, s *signin, q, form url.Values) {
	type msg struct {
		param, binding string
		val            string
	}
	var msgs []msg
	for _, p := range []string{"SAMLRequest", "SAMLResponse"} {
		if v := q.Get(p); v != "" {
			msgs = append(msgs, msg{p, "redirect", v})
		}
		if v := form.Get(p); v != "" {
			msgs = append(msgs, msg{p, "post", v})
		}
	}
	for _, m := range msgs {
		var xmlb []byte
		var err error
		if m.binding == "redirect" {
			xmlb, err = saml.DecodeRedirect(m.val)
		} else {
			xmlb, err = saml.DecodePost(m.val)
		}
		where := "request.url." + m.param
		if m.binding == "post" {
			where = "request.body." + m.param
		}
		var msgp *saml.Message
		if err == nil {
			msgp, err = saml.ParseWithKey(xmlb, a.opts.SAMLKey)
		}
		if err != nil {
			a.samlMalformed(f, s, where, err)
			continue
		}
		if m.binding == "post" {
			where = "request.body." + m.param
		}
		a.samlMessage(f, s, msgp, where, fp(m.val), xmlb)
	}
	// The IdP's auto-posting form in an HTML response (HTTP-POST binding).
	if r := f.Response; r != nil && len(r.Body) <= a.opts.MaxBody && bytes.Contains(r.Body, []byte("SAML")) {
		for _, m := range htmlSAMLRE.FindAllSubmatch(r.Body, 4) {
			val := html.UnescapeString(string(m[2]))
			where := "response.body." + string(m[1])
			xmlb, err := saml.DecodePost(val)
			var msgp *saml.Message
			if err == nil {
				msgp, err = saml.ParseWithKey(xmlb, a.opts.SAMLKey)
			}
			if err != nil {
				a.samlMalformed(f, s, where, err)
				continue
			}
			a.samlMessage(f, s, msgp, where, fp(val), xmlb)
		}
	}
	// WS-Fed: wa=wsignin1.0 to the IdP, then wresult posted to the app.
	if q.Get("wa") == "wsignin1.0" && q.Get("wtrealm") != "" && s == nil {
		s = a.newSignIn("wsfed", "passive")
		a.setClient(s, q.Get("wtrealm"))
		s.RedirectURI = q.Get("wreply")
		if u, err := url.Parse(f.Request.URL); err == nil {
			s.IdP = u.Host
		}
		ep := a.endpoint(f.Request.URL)
		a.fillFromEndpoint(s, ep, f.Request.URL)
		a.addStep(s, f, "wsfed")
		if q.Get("wctx") != "" {
			a.byState["wctx:"+q.Get("wctx")] = s.ID
		}
	}
	if wr := form.Get("wresult"); wr != "" {
		if fs := a.get(a.byState["wctx:"+form.Get("wctx")]); fs != nil && fs.Federation != nil {
			a.federationReturn(f, fs, form)
			return
		}
		ws := a.get(a.byState["wctx:"+form.Get("wctx")])
		if ws == nil {
			ws = s
		}
		if ws == nil || ws.Protocol != "wsfed" {
			ws = a.newSignIn("wsfed", "passive")
		}
		a.addStep(ws, f, "wsfed")
		ws.responded = true
		if m, err := wsfed.Parse(form); err == nil && m.Result != nil {
			r := m.Result
			if r.AppliesTo != "" && ws.ClientID != "" && r.AppliesTo != ws.ClientID {
				ws.fail("WS-Fed token for another realm")
				a.finding(ws, Finding{Severity: SeverityError, Code: "wsfed_wrong_realm", Title: "WS-Fed token for another realm",
					Detail: fmt.Sprintf("The app asked with wtrealm %s but the token applies to %s.", ws.ClientID, r.AppliesTo),
					Hint:   "Make the relying party identifier at the IdP equal the app's realm.", FlowIDs: []int{f.ID}})
			}
			if r.Token != nil {
				ws.gotToken = true
				a.samlMessage(f, ws, r.Token, "request.body.wresult", fp(wr), r.TokenXML)
			} else if r.Encrypted {
				ws.gotToken = true
			}
		}
	}
}

func (a *Analyzer) samlMessage(f *trace.Flow, s *signin, m *saml.Message, where, key string, xmlb []byte) {
	// With the SP's key, the assertion the IdP encrypted is what the report
	// shows and checks (a failure is reported with the verdict, at Finish).
	_ = saml.ShowDecrypted(m, xmlb, a.opts.SAMLKey)
	switch {
	case m.Kind == "AuthnRequest":
		if s == nil || s.Protocol != "saml" {
			s = a.newSignIn("saml", "sp-initiated")
			if u, err := url.Parse(f.Request.URL); err == nil {
				s.IdP = u.Host
			}
			a.fillFromEndpoint(s, a.endpoint(f.Request.URL), f.Request.URL)
		}
		a.setClient(s, m.Issuer)
		s.RedirectURI = m.AssertionConsumerServiceURL
		if m.ID != "" {
			a.byState["saml:"+m.ID] = s.ID
		}
		a.addStep(s, f, "saml_request")
		a.samlToken(f, s, m, "saml_request", where, key, nil)
	case m.Kind == "Response" || strings.HasSuffix(m.Kind, "RequestSecurityTokenResponse") || m.Kind == "Assertion" ||
		strings.Contains(m.Kind, "RequestSecurityTokenResponseCollection"):
		var rs *signin
		if m.InResponseTo != "" {
			rs = a.get(a.byState["saml:"+m.InResponseTo])
			if rs == nil {
				a.finding(s, Finding{Severity: SeverityWarning, Code: "saml_unsolicited_or_unknown_request", Title: "SAML response to a request not in the trace",
					Detail: fmt.Sprintf("InResponseTo %q matches no AuthnRequest in this trace.", m.InResponseTo),
					Hint:   "Capture from the start of the sign-in; if the app sent the request, a mismatch means the app lost its session (cookies) and will reject the response.", FlowIDs: []int{f.ID}})
			}
		}
		if rs == nil {
			rs = s
		}
		if rs == nil || (rs.Protocol != "saml" && rs.Protocol != "wsfed") {
			rs = a.newSignIn("saml", "idp-initiated")
		}
		s = rs
		if s.Protocol == "saml" {
			a.addStep(s, f, "saml_response")
		}
		s.responded = true
		if m.Status != nil && !m.Status.Success() && m.Kind == "Response" {
			codes := append([]string{m.Status.Code}, m.Status.SubCodes...)
			short := make([]string, len(codes))
			for i, c := range codes {
				short[i] = c[strings.LastIndex(c, ":")+1:]
			}
			s.Result = ResultError
			s.Error = "SAML status " + strings.Join(short, "/")
			if m.Status.Message != "" {
				s.Error += ": " + firstLine(m.Status.Message)
			}
			detail := s.Error
			if code := aadstsIn(m.Status.Message); code != 0 {
				a.errorFinding(f, s, code, "", m.Status.Message, detail, "SAML response")
			} else {
				a.finding(s, Finding{Severity: SeverityError, Code: "saml_status_error", Title: "SAML response reports failure",
					Detail: detail, Hint: "Read the nested status codes: Requester means the request was refused (NameID policy, unknown SP, no access); Responder means the IdP failed. The IdP's sign-in logs tell more.", FlowIDs: []int{f.ID}})
			}
		} else if len(m.Assertions) > 0 {
			s.gotToken = true
		}
		a.samlToken(f, s, m, "saml_response", where, key, xmlb)
		for i := range m.Assertions {
			a.samlAssertion(f, s, &m.Assertions[i], m)
		}
	default:
		if s != nil {
			a.samlToken(f, s, m, "saml_"+strings.ToLower(m.Kind), where, key, xmlb)
		}
	}
}

func aadstsIn(s string) int {
	i := strings.Index(s, "AADSTS")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range s[i+6:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func (a *Analyzer) samlAssertion(f *trace.Flow, s *signin, as *saml.Assertion, m *saml.Message) {
	if as.Subject != nil && s.User == "" {
		s.User = as.Subject.Value
	}
	if s.Tenant == "" {
		if v := as.Attribute("http://schemas.microsoft.com/identity/claims/tenantid"); len(v) > 0 {
			s.Tenant = v[0]
		}
	}
	at := f.Started
	if c := as.Conditions; c != nil && !at.IsZero() {
		skew := a.opts.Skew
		if !c.NotOnOrAfter.IsZero() && !at.Before(c.NotOnOrAfter.Add(skew)) {
			s.fail("SAML assertion expired")
			a.finding(s, Finding{Severity: SeverityError, Code: "saml_conditions_expired", Title: "SAML assertion expired",
				Detail: fmt.Sprintf("Assertion %s is valid until %s but was posted at %s.", as.ID, c.NotOnOrAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)),
				Hint:   "The app will reject it. Check clocks (IdP, app, client), and that the browser did not replay an old response (back button, bookmarked ACS URL).", FlowIDs: []int{f.ID}})
		}
		if !c.NotBefore.IsZero() && at.Add(skew).Before(c.NotBefore) {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "clock_skew", Title: "SAML assertion not yet valid: clock skew",
				Detail: fmt.Sprintf("Assertion %s is valid from %s but was posted at %s.", as.ID, c.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)),
				Hint:   "Synchronise the IdP's and the app's clocks, or allow a few minutes of skew in the app.", FlowIDs: []int{f.ID}})
		}
		if len(c.Audiences) > 0 && s.ClientID != "" && !slices.Contains(c.Audiences, s.ClientID) {
			s.fail("SAML assertion for another audience")
			a.finding(s, Finding{Severity: SeverityError, Code: "saml_wrong_audience", Title: "SAML assertion for another audience",
				Detail: fmt.Sprintf("The app (entity ID %s) asked for the sign-in, but the assertion's audience is %s.", s.ClientID, strings.Join(c.Audiences, ", ")),
				Hint:   "Make the Identifier (Entity ID) of the IdP's app configuration equal the SP's entity ID exactly (scheme, trailing slash).", FlowIDs: []int{f.ID}})
		}
	}
	a.samlSPChecks(f, s, as, m)
	if s.RedirectURI != "" && m.Destination != "" && m.Destination != s.RedirectURI {
		a.finding(s, Finding{Severity: SeverityWarning, Code: "saml_destination_mismatch", Title: "SAML response Destination differs from the ACS URL",
			Detail: fmt.Sprintf("The request asked for %s; the response is addressed to %s.", s.RedirectURI, m.Destination),
			Hint:   "Set the Reply URL (ACS) in the IdP's app configuration to the URL the SP requests.", FlowIDs: []int{f.ID}})
	}
}

// samlToken lists a SAML message as a token with a summary as its claims.
func (a *Analyzer) samlToken(f *trace.Flow, s *signin, m *saml.Message, kind, where, key string, xmlb []byte) {
	if i, ok := a.tokIndex[key]; ok {
		a.rep.Tokens[i].Seen++
		return
	}
	claims := map[string]any{"kind": m.Kind, "id": m.ID, "issuer": m.Issuer, "destination": m.Destination,
		"in_response_to": m.InResponseTo, "signed": m.Signed}
	if !m.IssueInstant.IsZero() {
		claims["issue_instant"] = m.IssueInstant.UTC().Format(time.RFC3339)
	}
	if m.Status != nil {
		claims["status"] = append([]string{m.Status.Code}, m.Status.SubCodes...)
	}
	if m.AssertionConsumerServiceURL != "" {
		claims["acs_url"] = m.AssertionConsumerServiceURL
	}
	if m.NameID != nil { // LogoutRequest, ManageNameIDRequest
		claims["name_id"] = m.NameID.Value
	}
	var as []map[string]any
	for _, x := range m.Assertions {
		am := map[string]any{"id": x.ID, "issuer": x.Issuer, "signed": x.Signed, "encrypted": x.Encrypted}
		if x.DecryptedFrom != "" {
			am["decrypted_from"] = x.DecryptedFrom
		}
		if x.Subject != nil {
			am["name_id"] = x.Subject.Value
		}
		if c := x.Conditions; c != nil {
			am["not_before"], am["not_on_or_after"], am["audiences"] = c.NotBefore.UTC().Format(time.RFC3339), c.NotOnOrAfter.UTC().Format(time.RFC3339), c.Audiences
		}
		attrs := map[string][]string{}
		for _, at := range x.Attributes {
			attrs[at.Name] = at.Values
		}
		am["attributes"] = attrs
		as = append(as, am)
	}
	if as != nil {
		claims["assertions"] = as
	}
	cj, _ := json.Marshal(claims)
	t := Token{FlowID: f.ID, Where: where, Kind: kind, Fingerprint: key[:12], Seen: 1, Header: json.RawMessage(`{}`), Claims: cj,
		VerifyDetail: "no certificate: " + saml.NoCertHint}
	if s != nil {
		t.SignIn = s.ID
	}
	t.Summary = []KV{{"issuer", m.Issuer}, {"kind", m.Kind}}
	if len(m.Assertions) > 0 && m.Assertions[0].Subject != nil {
		t.Summary = append(t.Summary, KV{"name_id", m.Assertions[0].Subject.Value})
	} else if m.NameID != nil {
		t.Summary = append(t.Summary, KV{"name_id", m.NameID.Value})
	}
	idx := len(a.rep.Tokens)
	a.tokIndex[key] = idx
	a.rep.Tokens = append(a.rep.Tokens, t)
	if s != nil {
		s.Tokens = append(s.Tokens, idx)
	}
	if len(xmlb) > 0 && (m.Signed || slices.ContainsFunc(m.Assertions, func(x saml.Assertion) bool { return x.Signed || x.Encrypted }) || len(m.Assertions) > 1) {
		if a.pendingBytes+len(xmlb) <= maxPendingSAML {
			// Verify at Finish, when every certificate of the trace is known.
			a.pendingSAML = append(a.pendingSAML, pendingSAML{idx, append([]byte(nil), xmlb...)})
			a.pendingBytes += len(xmlb)
		} else {
			a.verifySAML(idx, xmlb)
		}
	} else if len(xmlb) > 0 && kind == "saml_response" {
		f := false
		a.rep.Tokens[idx].Verified, a.rep.Tokens[idx].Unsigned = &f, true
		a.rep.Tokens[idx].VerifyDetail = "neither the response nor its assertions carry a signature"
		s.fail("unsigned SAML response")
		a.finding(s, Finding{Severity: SeverityError, Code: "saml_unsigned", Title: "Unsigned SAML response",
			Detail: fmt.Sprintf("SAML response %s carries no signature on the response or its assertions.", m.ID),
			Hint:   "A service provider must reject it; configure the IdP to sign the assertion (or the response).", FlowIDs: []int{a.rep.Tokens[idx].FlowID}})
	}
}

// samlMalformed reports a SAML message that could not be decoded.
func (a *Analyzer) samlMalformed(f *trace.Flow, s *signin, where string, err error) {
	a.finding(s, Finding{Severity: SeverityWarning, Code: "saml_malformed", Title: "SAML message cannot be read",
		Detail:  fmt.Sprintf("The SAML message in %s of flow %d does not decode: %v", where, f.ID, err),
		Hint:    "A service provider will reject it too; check that the binding's encoding (base64, DEFLATE for redirects, URL encoding) was not damaged, and that the XML is complete.",
		FlowIDs: []int{f.ID}})
}

var htmlSAMLRE = regexp.MustCompile(`(?i)name="(SAMLResponse|SAMLRequest)"\s+value="([^"]+)"`)

// maxPendingSAML caps the SAML XML kept for verification at Finish; past
// it, messages are verified at once with the certificates known so far.
const maxPendingSAML = 16 << 20

type pendingSAML struct {
	idx int
	xml []byte
}

// addSAMLCerts adds signing certificates (from metadata), without duplicates.
func (a *Analyzer) addSAMLCerts(certs []*x509.Certificate) {
	for _, c := range certs {
		if !slices.ContainsFunc(a.samlCerts, func(x *x509.Certificate) bool { return x.Equal(c) }) {
			a.samlCerts = append(a.samlCerts, c)
		}
	}
}

// metadataFlow collects signing certificates from federation metadata in the trace.
func (a *Analyzer) metadataFlow(f *trace.Flow) {
	r := f.Response
	if r == nil || len(r.Body) == 0 || len(r.Body) > a.opts.MaxBody || !bytes.Contains(r.Body, []byte("EntityDescriptor")) {
		return
	}
	if md, err := saml.ParseMetadata(r.Body); err == nil {
		a.addSAMLCerts(md.SigningCerts)
	}
}

func (a *Analyzer) verifySAML(idx int, xmlb []byte) {
	t := &a.rep.Tokens[idx]
	v, _, derr := saml.VerifyDecrypting(xmlb, a.samlCerts, a.opts.SAMLKey)
	t.Verified, t.VerifyDetail = v.Verified, v.Reason
	t.Summary = append(t.Summary, decryptedSummary(v.Decrypted)...)
	if derr != nil {
		a.finding(a.get(t.SignIn), Finding{Severity: SeverityWarning, Code: "saml_decrypt_failed", Title: "Encrypted SAML assertion cannot be decrypted with the given key",
			Detail: fmt.Sprintf("SAML message %s: %v", t.Fingerprint, derr), Hint: "Give the private key of the service provider's encryption certificate (the one in its metadata).", FlowIDs: []int{t.FlowID}})
	}
	if v.SelfAsserted && v.Verified != nil && *v.Verified {
		t.Verified = nil
		t.VerifyDetail = "no trusted certificate: valid with the certificate the message carries (" + saml.SelfAssertedNote + "); " + saml.NoCertHint
	}
	if t.VerifyDetail == "" && t.Verified == nil {
		t.VerifyDetail = "no certificate: " + saml.NoCertHint
	}
	if t.Verified != nil && !*t.Verified {
		a.get(t.SignIn).fail("SAML signature invalid")
		a.finding(a.get(t.SignIn), Finding{Severity: SeverityError, Code: "bad_signature", Title: "SAML signature does not verify",
			Detail: fmt.Sprintf("SAML message %s: %s", t.Fingerprint, v.Reason),
			Hint:   "The service provider must reject it: check that the message was not altered and that the IdP's current signing certificate is the one configured.", FlowIDs: []int{t.FlowID}})
	}
	for _, w := range v.Warnings {
		a.finding(a.get(t.SignIn), Finding{Severity: SeverityWarning, Code: "saml_structure_warning", Title: "Suspicious SAML structure",
			Detail: fmt.Sprintf("SAML message %s: %s", t.Fingerprint, w), Hint: "Possible signature wrapping: trust only the signed elements; compare with a known-good response.", FlowIDs: []int{t.FlowID}})
	}
}

// finishSAML verifies the SAML messages kept for the end.
func (a *Analyzer) finishSAML() {
	for _, p := range a.pendingSAML {
		a.verifySAML(p.idx, p.xml)
	}
	a.pendingSAML = nil
}

func fakeFlow(at time.Time) *trace.Flow {
	return &trace.Flow{Started: at, Request: &trace.Request{Method: "POST"}}
}
