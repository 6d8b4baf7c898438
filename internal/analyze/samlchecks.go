package analyze

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/trace"
)

// samlSPChecks applies the checks a service provider makes beyond
// Conditions: the subject confirmation's window, Recipient and
// InResponseTo (against the Response and against the AuthnRequests of the
// trace), and the expected audience given with Options.SAMLAudience.
func (a *Analyzer) samlSPChecks(f *trace.Flow, s *signin, as *saml.Assertion, m *saml.Message) {
	if as.Encrypted {
		return
	}
	if len(m.Assertions) > 0 && as == &m.Assertions[0] {
		a.samlDestination(f, s, m)
	}
	one := &saml.Message{Kind: m.Kind, InResponseTo: m.InResponseTo, Destination: m.Destination, Assertions: []saml.Assertion{*as}}
	at := f.Started
	if !at.IsZero() {
		for _, is := range saml.CheckConditions(one, at, a.opts.Skew) {
			switch is.Code {
			case saml.IssueConfirmationExpired:
				s.fail("SAML subject confirmation expired")
				a.finding(s, Finding{Severity: SeverityError, Code: "saml_confirmation_expired", Title: "SAML subject confirmation expired",
					Detail: fmt.Sprintf("Assertion %s: %s (%s allowed for clock skew).", as.ID, is.Detail, a.opts.Skew),
					Hint:   "The app rejects a bearer assertion posted after SubjectConfirmationData/@NotOnOrAfter: check clocks and that the browser did not replay an old response.", FlowIDs: []int{f.ID}})
			case saml.IssueInResponseTo, saml.IssueRecipient:
				s.fail("SAML subject confirmation does not match the response")
				a.finding(s, Finding{Severity: SeverityError, Code: "saml_" + is.Code, Title: "SAML subject confirmation does not match the response",
					Detail: fmt.Sprintf("Assertion %s: %s.", as.ID, is.Detail),
					Hint:   "A service provider checks SubjectConfirmationData against the response it arrived in; a mismatch means the assertion was made for another request or endpoint (or moved between responses).", FlowIDs: []int{f.ID}})
			}
		}
		for _, sc := range as.SubjectConfirmations {
			if sc.NotOnOrAfter.IsZero() || at.Before(sc.NotOnOrAfter) || !at.Before(sc.NotOnOrAfter.Add(a.opts.Skew)) {
				continue
			}
			a.finding(s, Finding{Severity: SeverityInfo, Code: "saml_within_skew", Title: "SAML subject confirmation passed, within the clock skew",
				Detail: fmt.Sprintf("Assertion %s: subject confirmation expired %s before the request; within the %s skew.", as.ID, at.Sub(sc.NotOnOrAfter).Round(time.Second), a.opts.Skew),
				Hint:   "An app that allows less skew rejects it.", FlowIDs: []int{f.ID}})
		}
	}
	for _, sc := range as.SubjectConfirmations {
		if sc.InResponseTo != "" && m.InResponseTo == "" && a.byState["saml:"+sc.InResponseTo] == 0 {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "saml_unsolicited_or_unknown_request", Title: "SAML assertion answers a request not in the trace",
				Detail:  fmt.Sprintf("Assertion %s: SubjectConfirmationData/@InResponseTo %q matches no AuthnRequest in this trace.", as.ID, sc.InResponseTo),
				Hint:    "Capture from the start of the sign-in; if the app sent the request, a mismatch means it will reject the response.",
				FlowIDs: []int{f.ID}})
		}
	}
	if a.opts.SAMLAudience != "" {
		for _, is := range saml.CheckAudience(one, a.opts.SAMLAudience) {
			s.fail("SAML assertion for another audience")
			a.finding(s, Finding{Severity: SeverityError, Code: "saml_" + is.Code, Title: "SAML assertion not for the expected audience",
				Detail: fmt.Sprintf("Assertion %s: %s.", as.ID, is.Detail),
				Hint:   "Make the Identifier (Entity ID) of the IdP's app configuration equal the SP's entity ID exactly (scheme, trailing slash).", FlowIDs: []int{f.ID}})
		}
	}
}

// samlDestination compares a Response's Destination with the URL it was
// posted to, as a service provider does ("received at ... instead of").
func (a *Analyzer) samlDestination(f *trace.Flow, s *signin, m *saml.Message) {
	if f.Request == nil || f.Request.URL == "" || m.Destination == "" {
		return
	}
	u, err := url.Parse(f.Request.URL)
	if err != nil {
		return
	}
	u.RawQuery, u.Fragment = "", ""
	d, err := url.Parse(m.Destination)
	if err != nil {
		return
	}
	// Scheme and host compare without case, the path exactly.
	if strings.EqualFold(u.Scheme, d.Scheme) && strings.EqualFold(u.Host, d.Host) && u.Path == d.Path {
		return
	}
	s.fail("SAML response posted to another URL than its Destination")
	a.finding(s, Finding{Severity: SeverityError, Code: "saml_destination_differs", Title: "SAML response received at another URL than its Destination",
		Detail: fmt.Sprintf("Response %s is addressed to %s but was posted to %s.", m.ID, m.Destination, u.String()),
		Hint:   "The service provider rejects it: make the Reply URL (ACS) configured at the IdP equal the URL the app receives responses at (scheme, host, path, case).", FlowIDs: []int{f.ID}})
}
