package jwt

import (
	"fmt"
	"time"
)

// TimeIssue codes returned by CheckTimes.
const (
	IssueExpired        = "expired"          // exp is at or before the request time
	IssueNotYetValid    = "not_yet_valid"    // nbf is after the request time
	IssueIssuedInFuture = "issued_in_future" // iat is after the request time: clock skew
	IssueLongLifetime   = "long_lifetime"    // exp - iat (or nbf) is unusually long
	IssueBadTimes       = "bad_times"        // exp before nbf/iat, or a time claim that is not a number
	IssueNoExpiry       = "no_expiry"        // no exp claim at all
)

// LongLifetime is the token lifetime above which CheckTimes reports
// IssueLongLifetime. Entra access tokens live 60-90 minutes by default
// (up to about 28 hours with continuous access evaluation); ID tokens 1 hour.
const LongLifetime = 28 * time.Hour

// TimeIssue is one problem with a token's times, relative to the time of
// the request that carried it.
type TimeIssue struct {
	Code  string // one of the Issue* constants
	Claim string // "exp", "nbf", "iat"
	// At is the claim's time; By is how far it is from the request time
	// (positive: the request came after it), or the lifetime for IssueLongLifetime.
	At     time.Time
	By     time.Duration
	Detail string
}

// CheckTimes checks exp, nbf and iat against at, the time of the REQUEST
// that carried the token (not the time of analysis), allowing skew for
// clock differences (Entra allows 5 minutes). Encrypted tokens and
// payloads that are not a JSON object have no readable claims and give no
// issues.
func CheckTimes(tok *Token, at time.Time, skew time.Duration) []TimeIssue {
	if tok == nil || tok.Encrypted || tok.PayloadNotJSON {
		// A payload that is not a JSON object has no claims, so no times.
		return nil
	}
	c := &tok.Claims
	var out []TimeIssue
	for _, name := range []string{"exp", "nbf", "iat"} {
		if c.Has(name) && c.Time(name) == nil {
			out = append(out, TimeIssue{Code: IssueBadTimes, Claim: name,
				Detail: fmt.Sprintf("%s is not a number of seconds since 1970", name)})
		}
	}
	exp, nbf, iat := c.Expiry(), c.NotBefore(), c.IssuedAt()
	if exp == nil && !c.Has("exp") {
		out = append(out, TimeIssue{Code: IssueNoExpiry, Claim: "exp", Detail: "the token has no expiry"})
	}
	if exp != nil && !at.Before(exp.Add(skew)) {
		d := at.Sub(*exp)
		out = append(out, TimeIssue{Code: IssueExpired, Claim: "exp", At: *exp, By: d,
			Detail: fmt.Sprintf("expired %s before %s, the time checked (exp %s)", humanDur(d), at.UTC().Format(time.RFC3339), exp.Format(time.RFC3339))})
	}
	if nbf != nil && at.Add(skew).Before(*nbf) {
		d := at.Sub(*nbf)
		out = append(out, TimeIssue{Code: IssueNotYetValid, Claim: "nbf", At: *nbf, By: d,
			Detail: fmt.Sprintf("not valid until %s after %s, the time checked (nbf %s): clock skew between issuer and client?", humanDur(-d), at.UTC().Format(time.RFC3339), nbf.Format(time.RFC3339))})
	}
	if iat != nil && at.Add(skew).Before(*iat) {
		d := at.Sub(*iat)
		out = append(out, TimeIssue{Code: IssueIssuedInFuture, Claim: "iat", At: *iat, By: d,
			Detail: fmt.Sprintf("issued %s after %s, the time checked (the request that carried it, in a trace): the clocks of the issuer and of the capturing machine disagree", humanDur(-d), at.UTC().Format(time.RFC3339))})
	}
	start := iat
	if start == nil {
		start = nbf
	}
	if exp != nil && start != nil {
		life := exp.Sub(*start)
		switch {
		case life < 0:
			out = append(out, TimeIssue{Code: IssueBadTimes, Claim: "exp", At: *exp, By: life,
				Detail: "exp is before the token was issued or became valid"})
		case life > LongLifetime:
			out = append(out, TimeIssue{Code: IssueLongLifetime, Claim: "exp", At: *exp, By: life,
				Detail: fmt.Sprintf("lifetime of %s is unusually long", humanDur(life))})
		}
	}
	return out
}

// humanDur writes a duration the way a person reads it: seconds and minutes
// exactly, hours to the minute, and days past two days.
func humanDur(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.0f days", d.Hours()/24)
	case d >= 2*time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}
