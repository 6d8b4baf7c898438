package analyze

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// The Entra sign-in service (ESTS) side of a sign-in: the page state in
// $Config, the MFA service's answers (SAS/BeginAuth, EndAuth, ProcessAuth).

// pageNames says in words what a $Config pgid screen is.
var pageNames = map[string]string{
	"ConvergedSignIn":          "sign-in page (user name / password)",
	"ConvergedTFA":             "MFA prompt",
	"ConvergedProofUpRedirect": "MFA registration required (proof-up)",
	"ConvergedProofUp":         "MFA registration",
	"KmsiInterrupt":            "'Stay signed in?' prompt",
	"ConvergedError":           "error page",
	"ConvergedChangePassword":  "password change required",
	"ConvergedConsent":         "consent prompt",
	"ConvergedRemoteConnect":   "device-code entry page",
	"ConvergedKmsi":            "'Stay signed in?' prompt",
	"CmsiInterrupt":            "app confirmation prompt",
	"ConvergedOidcConsent":     "consent prompt",
}

// stepDetail sets the detail of s's step for flow f (appending to what it has).
func stepDetail(s *signin, f *trace.Flow, detail string) {
	if s == nil || detail == "" {
		return
	}
	for i := len(s.Steps) - 1; i >= 0; i-- {
		if s.Steps[i].FlowID == f.ID {
			if s.Steps[i].Detail == "" {
				s.Steps[i].Detail = detail
			} else if !strings.Contains(s.Steps[i].Detail, detail) {
				s.Steps[i].Detail += "; " + detail
			}
			return
		}
	}
}

// signInPage reads the Entra sign-in page's $Config: which screen, for
// whom, the MFA methods offered, and the error it shows or records.
func (a *Analyzer) signInPage(f *trace.Flow, s *signin, body []byte) {
	c, ok := oauth.ParseSignInPage(body)
	if !ok {
		return
	}
	if s == nil {
		s = a.get(a.lastEntra)
	}
	if s != nil {
		if s.User == "" && c.Username != "" && !strings.Contains(c.Username, "{{") {
			s.User = c.Username
		}
		if c.ClientID != "" && !strings.Contains(c.ClientID, "{{") {
			a.setClient(s, c.ClientID)
		}
		if c.PageID != "" && !strings.Contains(c.PageID, "{{") {
			d := "page " + c.PageID
			if n := pageNames[c.PageID]; n != "" {
				d += " (" + n + ")"
			}
			if len(c.ProofMethods) > 0 {
				d += ", MFA methods " + strings.Join(c.ProofMethods, ", ")
			}
			stepDetail(s, f, d)
		}
	}
	switch c.PageID {
	case "ConvergedProofUpRedirect", "ConvergedProofUp":
		a.finding(s, Finding{Severity: SeverityWarning, Code: "mfa_registration_required", Title: "User must register MFA methods (proof-up)",
			Detail:  "Entra showed the security-info registration interrupt: the user has no (or not enough) registered methods for what a policy requires.",
			Hint:    "The user completes registration at https://aka.ms/mysecurityinfo; if registration itself is blocked, check the Conditional Access policy on 'Register security information' and the Temporary Access Pass options.",
			FlowIDs: []int{f.ID}})
	case "ConvergedChangePassword":
		a.finding(s, Finding{Severity: SeverityWarning, Code: "password_change_required", Title: "Password change required",
			Detail:  "Entra asked the user to change an expired or admin-reset password before continuing.",
			Hint:    "The user changes the password; for hybrid users, check that password writeback works if the change fails.",
			FlowIDs: []int{f.ID}})
	}
	if c.ErrorCode == 0 {
		return
	}
	if !c.ErrorShown {
		a.finding(s, Finding{Severity: SeverityInfo, Code: fmt.Sprintf("signin_page_reason.aadsts%d", c.ErrorCode),
			Title:   fmt.Sprintf("Sign-in page shown after AADSTS%d%s", c.ErrorCode, kbName(c.ErrorCode)),
			Detail:  fmt.Sprintf("The Entra sign-in page records error %d as the reason it asks the user to sign in; it displays no error. %s", c.ErrorCode, kbMeaning(c.ErrorCode)),
			Hint:    "Nothing to fix if the user then signs in; if a silent or single sign-on was expected, check why it did not happen (no session cookie, a different account, a policy).",
			FlowIDs: []int{f.ID}})
		return
	}
	detail := fmt.Sprintf("The Entra sign-in page shows error %d", c.ErrorCode)
	if c.Message != "" {
		detail += ": " + firstLine(c.Message)
	}
	if c.CorrelationID != "" && !strings.Contains(c.CorrelationID, "{{") {
		detail += " (correlation ID " + c.CorrelationID + ")"
	}
	stepDetail(s, f, fmt.Sprintf("shows AADSTS%d", c.ErrorCode))
	a.errorFindingIDs(f, s, c.ErrorCode, "", c.Message, detail, "sign-in page", caseIDs(f, nil, &c))
	if e, ok := kb.LookupError(c.ErrorCode); s != nil && (!ok || e.Severity() == kb.SeverityError) {
		s.Result = ResultError
		s.Error = firstLine(detail)
	}
}

// sasResults explains the outcomes of an MFA attempt the SAS service reports.
var sasResults = map[string]string{
	"PhoneAppDenied":                          "the user pressed Deny on the Authenticator notification",
	"PhoneAppNotificationTimeout":             "nobody answered the Authenticator notification in time",
	"PhoneAppFraudReported":                   "the user reported the notification as fraud",
	"FraudReported":                           "the user reported the MFA request as fraud",
	"UserVoiceAuthFailedCallWentToVoicemail":  "the phone call went to voicemail",
	"UserVoiceAuthFailedPhoneHungUp":          "the user hung up the verification call",
	"SMSAuthFailedWrongCodeEntered":           "the user typed a wrong SMS code",
	"InvalidOTP":                              "the one-time code entered was wrong",
	"OathCodeIncorrect":                       "the one-time code entered was wrong",
	"OathCodeDuplicate":                       "the one-time code had already been used",
	"AuthenticationThrottled":                 "too many MFA attempts: the service throttled the user",
	"SMSAuthFailedMaxAllowedCodeRetryReached": "too many wrong SMS codes",
	"PhoneAppNoResponse":                      "the Authenticator app did not respond",
	"UserIsBlocked":                           "the user is blocked from MFA (for example after a fraud report)",
	"AuthenticationPending":                   "waiting for the user to answer",
	"Success":                                 "the user completed MFA",
}

// sasAnswer reads a SAS/BeginAuth or SAS/EndAuth JSON answer: the MFA
// method and its outcome.
func (a *Analyzer) sasAnswer(f *trace.Flow, s *signin, body []byte) {
	r, ok := oauth.ParseSAS(body)
	if !ok || strings.Contains(r.ResultValue, "{{") {
		return
	}
	if s == nil {
		s = a.get(a.lastEntra)
	}
	step := "MFA"
	if p := f.Request.URL; strings.Contains(strings.ToLower(p), "/beginauth") {
		step = "MFA started"
	} else if strings.Contains(strings.ToLower(p), "/endauth") {
		step = "MFA result"
	}
	d := step
	if r.AuthMethodID != "" {
		d += " " + r.AuthMethodID
	}
	if r.ResultValue != "" {
		d += ": " + r.ResultValue
	}
	stepDetail(s, f, d)
	if r.Success || r.ResultValue == "AuthenticationPending" || r.ResultValue == "" && r.ErrCode == 0 {
		return
	}
	why := sasResults[r.ResultValue]
	if why == "" {
		why = "the MFA service answered " + r.ResultValue
	}
	detail := fmt.Sprintf("MFA by %s failed: %s (ResultValue %s", firstNonEmpty(r.AuthMethodID, "an unnamed method"), why, r.ResultValue)
	if r.ErrCode != 0 {
		detail += fmt.Sprintf(", ErrCode %d", r.ErrCode)
	}
	detail += ")."
	ids := caseIDs(f, &oauth.ErrorResponse{CorrelationID: r.CorrelationID, TraceID: r.SessionID, Timestamp: r.Timestamp}, nil)
	code := r.ErrCode
	if _, ok := kb.LookupError(code); !ok {
		code = 500121 // the code Entra gives a failed strong-authentication request
	}
	if r.ResultValue == "PhoneAppDenied" || strings.Contains(r.ResultValue, "Fraud") {
		detail += " If the user did not start this sign-in, this is what an MFA-fatigue attack looks like."
	}
	a.errorFindingIDs(f, s, code, "", why, detail, "SAS answer", ids)
	if s != nil {
		if i, ok := a.verdictKey[fmt.Sprintf("%d|AADSTS%d", s.ID, code)]; ok && a.rep.Verdict[i].FlowID == f.ID {
			a.rep.Verdict[i].Why = fmt.Sprintf("MFA by %s: %s (%s).", firstNonEmpty(r.AuthMethodID, "an unnamed method"), why, r.ResultValue)
		}
	}
	if s != nil {
		s.Result, s.Error = ResultError, firstLine(detail)
	}
}

// processAuth reads the form the sign-in page posts to SAS/ProcessAuth to
// finish an MFA attempt: the method and, for app notifications and calls,
// how long the page waited for the answer (mfaLastPollStart / End, in
// milliseconds since 1970). A one-time code the user typed (otc) is never
// shown. The response is a sign-in page that signInPage reads.
func (a *Analyzer) processAuth(f *trace.Flow, s *signin, form url.Values) {
	if s == nil || form == nil || !strings.HasSuffix(strings.ToLower(strings.TrimRight(stripURL(f.Request.URL), "/")), "/sas/processauth") {
		return
	}
	method := form.Get("mfaAuthMethod")
	if method == "" || strings.Contains(method, "{{") {
		return
	}
	d := "MFA finished with " + method
	start, err1 := strconv.ParseInt(form.Get("mfaLastPollStart"), 10, 64)
	end, err2 := strconv.ParseInt(form.Get("mfaLastPollEnd"), 10, 64)
	if err1 == nil && err2 == nil && end >= start && end-start < 3600*1000 {
		d += fmt.Sprintf(" after waiting %s for the answer", (time.Duration(end-start) * time.Millisecond).Round(100*time.Millisecond))
	}
	if form.Get("otc") != "" {
		d += " (one-time code entered)"
	}
	stepDetail(s, f, d)
}

// kmsiAnswer reads the user's answer to "Stay signed in?" from the form the
// page posts to /kmsi: LoginOptions 1 is yes (a persistent session cookie),
// 3 is no; DontShowAgain is the "Don't show this again" box.
func (a *Analyzer) kmsiAnswer(f *trace.Flow, s *signin, form url.Values) {
	if s == nil || form == nil {
		return
	}
	var d string
	switch form.Get("LoginOptions") {
	case "1":
		d = "'Stay signed in?': yes (persistent session)"
	case "3":
		d = "'Stay signed in?': no"
	default:
		return
	}
	if strings.EqualFold(form.Get("DontShowAgain"), "true") {
		d += ", don't show again"
	}
	stepDetail(s, f, d)
}

// estsSetCookies lists, by name and lifetime only, the cookies the Entra
// sign-in service sets (ESTSAUTH is the session, ESTSAUTHPERSISTENT the
// "stay signed in" session, esctx-* one per sign-in attempt).
func (a *Analyzer) estsSetCookies(f *trace.Flow, s *signin) {
	if s == nil || f.Response == nil {
		return
	}
	var parts []string
	for _, h := range f.Response.Headers.Values("Set-Cookie") {
		attrs := strings.Split(h, ";")
		name, _, _ := strings.Cut(strings.TrimSpace(attrs[0]), "=")
		if len(oauth.ESTSCookies(name+"=x")) == 0 {
			continue
		}
		life := "session"
		for _, at := range attrs[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(at), "=")
			switch strings.ToLower(k) {
			case "max-age":
				if v == "0" || strings.HasPrefix(v, "-") {
					life = "deleted"
				} else if n, err := time.ParseDuration(v + "s"); err == nil {
					life = lifetime(n)
				}
			case "expires":
				if t, ok := cookieTime(v); ok && life == "session" {
					switch {
					case f.Started.IsZero():
						life = "until " + t.UTC().Format("2006-01-02")
					case !t.After(f.Started):
						life = "deleted"
					default:
						life = lifetime(t.Sub(f.Started))
					}
				}
			}
		}
		if len(parts) < 12 {
			parts = append(parts, name+" ("+life+")")
		}
	}
	if len(parts) > 0 {
		stepDetail(s, f, "sets "+strings.Join(parts, ", "))
	}
}

func lifetime(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("for %d days", int(d.Hours()/24+0.5))
	case d >= 2*time.Hour:
		return "for " + plural(int(d.Hours()+0.5), "hour")
	case d >= 2*time.Minute:
		return "for " + plural(int(d.Minutes()+0.5), "minute")
	}
	return "for " + plural(int(d.Seconds()+0.5), "second")
}

// cookieTime parses a Set-Cookie expires date in the forms servers use.
func cookieTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC1123, "Mon, 02-Jan-2006 15:04:05 MST", time.RFC850, time.ANSIC} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
