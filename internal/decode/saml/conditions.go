package saml

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Issue codes returned by CheckConditions and CheckAudience.
const (
	IssueExpired             = "expired"                // Conditions/@NotOnOrAfter is at or before the request time
	IssueNotYetValid         = "not_yet_valid"          // Conditions/@NotBefore is after the request time
	IssueConfirmationExpired = "confirmation_expired"   // SubjectConfirmationData/@NotOnOrAfter passed
	IssueIssuedInFuture      = "issued_in_future"       // IssueInstant after the request time: clock skew
	IssueStatusError         = "status_error"           // the Response status is not Success
	IssueNoAssertion         = "no_assertion"           // a successful Response without any assertion
	IssueEncrypted           = "encrypted_assertion"    // an assertion is encrypted: its content cannot be checked
	IssueInResponseTo        = "in_response_to_differs" // the confirmation answers another request than the Response
	IssueRecipient           = "recipient_differs"      // confirmation Recipient differs from the Response Destination
	IssueWrongAudience       = "wrong_audience"         // the expected audience is not among the assertion's audiences
	IssueNoAudience          = "no_audience"            // the assertion restricts no audience
	IssueBadValue            = "bad_value"              // a value could not be read (see Message.Problems)
)

// Issue is one problem found in a message, relative to the time of the
// request that carried it.
type Issue struct {
	Code string
	// AssertionID is the assertion the issue is about ("" for the message).
	AssertionID string
	// At is the time named by the failing condition, if any; By is how far
	// the request time is past it (positive) or before it (negative).
	At     time.Time
	By     time.Duration
	Detail string
}

// CheckConditions checks m against at, the time of the REQUEST that carried
// it (not the time of analysis), allowing skew: validity windows of each
// assertion's Conditions and SubjectConfirmationData, issue instants, the
// status, InResponseTo and Recipient consistency. Audience needs the
// expected value: see CheckAudience.
func CheckConditions(m *Message, at time.Time, skew time.Duration) []Issue {
	if m == nil {
		return nil
	}
	var out []Issue
	for _, p := range m.Problems {
		out = append(out, Issue{Code: IssueBadValue, Detail: p})
	}
	if m.Status != nil && !m.Status.Success() {
		d := "status " + short(m.Status.Code)
		for _, s := range m.Status.SubCodes {
			d += " / " + short(s)
		}
		if m.Status.Message != "" {
			d += ": " + m.Status.Message
		}
		out = append(out, Issue{Code: IssueStatusError, Detail: d})
	}
	if m.Kind == "Response" && m.Status.Success() && len(m.Assertions) == 0 {
		out = append(out, Issue{Code: IssueNoAssertion, Detail: "successful Response carries no assertion"})
	}
	if !m.IssueInstant.IsZero() && at.Add(skew).Before(m.IssueInstant) {
		out = append(out, Issue{Code: IssueIssuedInFuture, At: m.IssueInstant, By: at.Sub(m.IssueInstant),
			Detail: fmt.Sprintf("message issued %s after the request that carried it: clocks disagree", (-at.Sub(m.IssueInstant)).Round(time.Second))})
	}
	for _, a := range m.Assertions {
		if a.Encrypted {
			out = append(out, Issue{Code: IssueEncrypted, Detail: "encrypted assertion at " + a.Path + ": only the service provider can read and check it"})
			continue
		}
		if m.Kind != "Assertion" && !a.IssueInstant.IsZero() && at.Add(skew).Before(a.IssueInstant) {
			out = append(out, Issue{Code: IssueIssuedInFuture, AssertionID: a.ID, At: a.IssueInstant, By: at.Sub(a.IssueInstant),
				Detail: fmt.Sprintf("assertion issued %s after the request: clocks disagree", (-at.Sub(a.IssueInstant)).Round(time.Second))})
		}
		if c := a.Conditions; c != nil {
			if !c.NotOnOrAfter.IsZero() && !at.Before(c.NotOnOrAfter.Add(skew)) {
				out = append(out, Issue{Code: IssueExpired, AssertionID: a.ID, At: c.NotOnOrAfter, By: at.Sub(c.NotOnOrAfter),
					Detail: fmt.Sprintf("assertion expired %s before the request (NotOnOrAfter %s)", at.Sub(c.NotOnOrAfter).Round(time.Second), c.NotOnOrAfter.Format(time.RFC3339))})
			}
			if !c.NotBefore.IsZero() && at.Add(skew).Before(c.NotBefore) {
				out = append(out, Issue{Code: IssueNotYetValid, AssertionID: a.ID, At: c.NotBefore, By: at.Sub(c.NotBefore),
					Detail: fmt.Sprintf("assertion not valid until %s after the request (NotBefore %s): clock skew?", (-at.Sub(c.NotBefore)).Round(time.Second), c.NotBefore.Format(time.RFC3339))})
			}
		}
		for _, sc := range a.SubjectConfirmations {
			if !sc.NotOnOrAfter.IsZero() && !at.Before(sc.NotOnOrAfter.Add(skew)) {
				out = append(out, Issue{Code: IssueConfirmationExpired, AssertionID: a.ID, At: sc.NotOnOrAfter, By: at.Sub(sc.NotOnOrAfter),
					Detail: fmt.Sprintf("subject confirmation expired %s before the request", at.Sub(sc.NotOnOrAfter).Round(time.Second))})
			}
			if m.InResponseTo != "" && sc.InResponseTo != "" && sc.InResponseTo != m.InResponseTo {
				out = append(out, Issue{Code: IssueInResponseTo, AssertionID: a.ID,
					Detail: fmt.Sprintf("assertion answers request %q but the Response answers %q", sc.InResponseTo, m.InResponseTo)})
			}
			if m.Destination != "" && sc.Recipient != "" && sc.Recipient != m.Destination {
				out = append(out, Issue{Code: IssueRecipient, AssertionID: a.ID,
					Detail: fmt.Sprintf("assertion is for recipient %q but the Response goes to %q", sc.Recipient, m.Destination)})
			}
		}
	}
	return out
}

// CheckAudience reports assertions whose audience restriction does not
// include audience (the SP's entity ID, or for Entra "spn:<app id>").
// Values are compared exactly, except that a trailing slash is ignored.
func CheckAudience(m *Message, audience string) []Issue {
	if m == nil || audience == "" {
		return nil
	}
	var out []Issue
	norm := func(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), "/") }
	for _, a := range m.Assertions {
		if a.Encrypted {
			continue
		}
		if a.Conditions == nil || len(a.Conditions.Audiences) == 0 {
			out = append(out, Issue{Code: IssueNoAudience, AssertionID: a.ID, Detail: "assertion has no audience restriction"})
			continue
		}
		if !slices.ContainsFunc(a.Conditions.Audiences, func(x string) bool { return norm(x) == norm(audience) }) {
			out = append(out, Issue{Code: IssueWrongAudience, AssertionID: a.ID,
				Detail: fmt.Sprintf("assertion is for %s, not %q", strings.Join(quoteAll(a.Conditions.Audiences), ", "), audience)})
		}
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// short drops the common status URN prefix.
func short(code string) string {
	if i := strings.LastIndex(code, ":status:"); i >= 0 {
		return code[i+len(":status:"):]
	}
	return code
}
