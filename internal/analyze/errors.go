package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// categoryFinding names the finding of an error code by its knowledge-base
// category: the category (and so the severity and next step) comes from
// kb/data/aadsts.csv, never from a list of codes here.
var categoryFinding = map[string]struct{ code, title string }{
	kb.CategoryMFA:               {"mfa_required", "Multi-factor authentication required"},
	kb.CategoryMFAFailure:        {"mfa_failed", "Multi-factor authentication failed"},
	kb.CategoryConditionalAccess: {"conditional_access", "Blocked or interrupted by Conditional Access"},
	kb.CategoryConsent:           {"consent_required", "Consent required"},
	kb.CategoryClientAuth:        {"invalid_client_secret", "Invalid or expired client credentials"},
	kb.CategoryClient:            {"app_config", "App registration or request does not fit"},
	kb.CategoryRedirect:          {"redirect_uri_mismatch", "Redirect URI does not match the app registration"},
	kb.CategoryUser:              {"user_account", "User account problem"},
	kb.CategoryCredentials:       {"credentials", "Wrong or expired credentials"},
	kb.CategoryTenant:            {"wrong_tenant_or_audience", "Tenant not found or not allowed"},
	kb.CategoryToken:             {"grant_refused", "Code, token or session no longer valid"},
	kb.CategoryRequest:           {"bad_request", "Malformed or invalid request"},
	kb.CategoryDevice:            {"device_required", "Device requirement not met"},
	kb.CategoryFederation:        {"federation_error", "Federated identity provider problem"},
	kb.CategoryThrottling:        {"throttled", "Throttled or looping"},
	kb.CategoryServer:            {"server_error", "Identity provider server error"},
	kb.CategoryInteraction:       {"interaction_required", "The user must interact"},
	kb.CategorySignal:            {"signal", "Normal step reported with a code"},
}

// CaseIDs are the identifiers Microsoft support asks for first.
type CaseIDs struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	// RequestID is x-ms-request-id, the error's trace_id or $Config.sessionId.
	RequestID string `json:"request_id,omitempty"`
	// Timestamp is the server's time of the error as it wrote it.
	Timestamp string `json:"timestamp,omitempty"`
	// ESTSServer is x-ms-ests-server (version and region of the Entra server),
	// or the $Config server details.
	ESTSServer string `json:"ests_server,omitempty"`
}

// caseIDs collects the case identifiers of flow f: headers first, then the
// error body and the sign-in page, which are more specific.
func caseIDs(f *trace.Flow, e *oauth.ErrorResponse, page *oauth.PageConfig) CaseIDs {
	var c CaseIDs
	if r := f.Response; r != nil {
		c.RequestID = r.Headers.Get("x-ms-request-id")
		c.ESTSServer = r.Headers.Get("x-ms-ests-server")
		c.CorrelationID = r.Headers.Get("client-request-id")
	}
	if c.CorrelationID == "" && f.Request != nil {
		c.CorrelationID = f.Request.Headers.Get("client-request-id")
	}
	if e != nil {
		c.CorrelationID = firstNonEmpty(e.CorrelationID, c.CorrelationID)
		c.RequestID = firstNonEmpty(e.TraceID, c.RequestID)
		c.Timestamp = e.Timestamp
	}
	if page != nil {
		if !strings.Contains(page.CorrelationID, "{{") {
			c.CorrelationID = firstNonEmpty(page.CorrelationID, c.CorrelationID)
		}
		if !strings.Contains(page.SessionID, "{{") {
			c.RequestID = firstNonEmpty(page.SessionID, c.RequestID)
		}
		if page.ServerTime != "" {
			c.Timestamp = page.ServerTime + "Z"
		}
		if c.ESTSServer == "" && page.DataCenter != "" {
			c.ESTSServer = strings.TrimSpace(page.DataCenter + " " + page.ServerInstance)
		}
	}
	if c.Timestamp == "" && !f.Started.IsZero() {
		c.Timestamp = f.Started.UTC().Format(time.RFC3339)
	}
	return c
}

// oauthError turns an OAuth error (authorize or token) into findings.
func (a *Analyzer) oauthError(f *trace.Flow, s *signin, e *oauth.ErrorResponse, where string) {
	if e.Error == "authorization_pending" || e.Error == "slow_down" {
		if s != nil {
			s.polls++
		}
		stepDetail(s, f, "waiting for the user to finish on the other device ("+e.Error+")")
		return // the device flow polling as designed
	}
	code := e.AADSTS
	desc := e.Description
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	short := e.Error
	if desc != "" {
		short += ": " + desc
	}
	if len(short) > 200 {
		short = short[:200] + "…"
	}
	if b2c := kb.FindB2CCode(e.Description); b2c != 0 {
		a.b2cError(f, s, b2c, short, caseIDs(f, e, nil))
		return
	}
	if s != nil {
		s.Error = short
		s.Result = ResultError
	}
	if s != nil && s.codeReused && e.Error == "invalid_grant" {
		return // already reported as code_reused
	}
	if s != nil && where == "token" && e.Error == "invalid_grant" && code == 0 && s.codeFlow != 0 &&
		(s.Grant == oauth.GrantAuthorizationCode || s.Grant == "hybrid") {
		age := f.Started.Sub(s.codeAt).Round(time.Second)
		a.finding(s, Finding{Severity: SeverityError, Code: "code_expired_or_reused", Title: "Authorization code refused",
			Detail:  fmt.Sprintf("%s: the code issued in flow %d was presented %s later and refused (expired, already used, or its redirect_uri / code_verifier does not match).", short, s.codeFlow, age),
			Hint:    "Redeem codes at once and only once (they live minutes at most); send the same redirect_uri as in the authorize request and the code_verifier that matches its code_challenge.",
			FlowIDs: []int{s.codeFlow, f.ID}})
		a.failure(f, s, "invalid_grant", "", "Authorization code refused", "the code was expired, already used, or did not match its redirect_uri / code_verifier", caseIDs(f, e, nil))
		return
	}
	detail := short
	if e.CorrelationID != "" || e.TraceID != "" {
		detail += fmt.Sprintf(" (correlation ID %s, trace ID %s, at %s)", e.CorrelationID, e.TraceID, e.Timestamp)
	}
	a.errorFindingIDs(f, s, code, e.Error, e.Description, detail, where, caseIDs(f, e, nil))
}

// errorFinding classifies an error by AADSTS code or OAuth error and adds the finding.
func (a *Analyzer) errorFinding(f *trace.Flow, s *signin, code int, oerr, desc, detail, where string) {
	a.errorFindingIDs(f, s, code, oerr, desc, detail, where, caseIDs(f, nil, nil))
}

// errorFindingIDs is errorFinding with the case identifiers already known.
// An AADSTS code is classified by its knowledge-base category (severity,
// title, next step); without a code, by the OAuth error and description.
func (a *Analyzer) errorFindingIDs(f *trace.Flow, s *signin, code int, oerr, desc, detail, where string, ids CaseIDs) {
	fd := Finding{Severity: SeverityError, Detail: detail, FlowIDs: []int{f.ID}}
	category, why, what := "", "", ""
	if code != 0 {
		if e, ok := kb.LookupError(code); ok {
			cf := categoryFinding[e.Category]
			fd.Code, fd.Title, fd.Severity, fd.Hint = cf.code, cf.title, e.Severity(), e.Action
			category, why = e.Category, e.Meaning
			name := ""
			if e.Name != "" {
				name = " " + e.Name
			}
			fd.Title += fmt.Sprintf(" (AADSTS%d%s)", code, name)
			what = cf.title + strings.Replace(name, " ", " — ", 1)
			fd.Detail = e.Meaning + " — " + fd.Detail
			if code == 50196 && s != nil {
				a.loops.code196[s.ID] = append(a.loops.code196[s.ID], f.ID)
			}
			if ctx := explainInContext(code, s); ctx != "" {
				if !strings.HasSuffix(fd.Detail, ".") {
					fd.Detail += "."
				}
				fd.Detail += ctx
			}
		} else {
			fd.Code, fd.Title = "oauth_error", fmt.Sprintf("Sign-in error (AADSTS%d, not in the knowledge base)", code)
			fd.Hint = "Look the code up at https://login.microsoftonline.com/error?code=" + fmt.Sprint(code) + " and in the Entra sign-in logs by correlation ID."
		}
		fd.Code = fmt.Sprintf("%s.aadsts%d", fd.Code, code)
	} else {
		oauthOnly(&fd, oerr, strings.ToLower(desc))
		why = desc
	}
	if where != "" {
		fd.Detail += " [" + where + "]"
	}
	a.finding(s, fd)
	if fd.Severity == SeverityError {
		c := oerr
		if code != 0 {
			c = fmt.Sprintf("AADSTS%d", code)
		}
		a.failure(f, s, c, category, firstNonEmpty(what, fd.Title), firstNonEmpty(why, firstLine(desc)), ids)
	}
}

// oauthOnly classifies an OAuth error that carries no AADSTS code (any
// provider) by its standard error and description.
func oauthOnly(fd *Finding, oerr, ld string) {
	switch {
	case oerr == "invalid_redirect_uri" || oerr == "redirect_uri_mismatch" || strings.Contains(ld, "redirect_uri") && strings.Contains(ld, "match"):
		fd.Code, fd.Title = "redirect_uri_mismatch", "Redirect URI does not match the app registration"
		fd.Hint = "Add the exact redirect_uri the app sent (scheme, host, port, path and trailing slash) to the app registration, or fix the app to send a registered one."
	case oerr == "consent_required":
		fd.Code, fd.Title = "consent_required", "Consent required"
		fd.Hint = "Have the user (or an administrator, for admin-only permissions) grant consent to the app's permissions, then retry."
	case oerr == "login_required" || oerr == "interaction_required":
		fd.Code, fd.Title = "interaction_required", "Silent sign-in needs the user"
		fd.Severity = SeverityWarning
		fd.Hint = "A prompt=none or silent request found no usable session; sign in interactively. If it happens in an iframe, the browser may be blocking third-party cookies."
	case oerr == "invalid_client":
		fd.Code, fd.Title = "invalid_client_secret", "Invalid or expired client credentials"
		fd.Hint = "Check that the app sends the secret's value (not its ID) and that it has not expired; create a new secret or certificate and update the app."
	case oerr == "invalid_grant" && strings.Contains(ld, "code"):
		fd.Code, fd.Title = "code_expired_or_reused", "Authorization code expired, already used or not valid"
		fd.Hint = "Redeem each code once and quickly (codes live a few minutes); if the app redeems it twice (retries, two tabs) fix that, otherwise restart the sign-in."
	case oerr == "invalid_grant":
		fd.Code, fd.Title = "invalid_grant", "Grant refused"
		fd.Hint = "The code, refresh token or assertion was not accepted; check that it was issued to this client and has not expired or been revoked."
	case oerr == "unsupported_response_type" || strings.Contains(ld, "is not enabled for the application"):
		fd.Code, fd.Title = "app_config", "App registration or request does not fit"
		fd.Hint = "Use a response_type the provider allows for this client (prefer the authorization code flow with PKCE)."
	case oerr == "access_denied":
		fd.Code, fd.Title = "access_denied", "Access denied"
		fd.Hint = "The user or the provider refused the request; read the description, and the provider's logs."
	default:
		fd.Code, fd.Title = "oauth_error", "Sign-in error"
		if oerr != "" {
			fd.Title += ": " + oerr
		}
		fd.Hint = "Read the error description; look up the correlation ID in the provider's sign-in logs."
	}
}

// explainInContext tells a code whose meaning depends on the request with
// the sign-in's own facts (which account, tenant, app, resource, redirect
// URI or scopes): " Here: ..." or "" when the trace does not hold them.
func explainInContext(code int, s *signin) string {
	if s == nil {
		return ""
	}
	var parts []string
	add := func(format, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf(format, v))
		}
	}
	app := appName(s.ClientID, s.ClientName)
	switch code {
	case 16000, 50020:
		add("the account %s", s.User)
		add("the tenant %s the app asked for", s.Tenant)
		return here(parts, " has no user object in ")
	case 50034, 51004:
		add("the account %s", s.User)
		add("the tenant %s", s.Tenant)
		return here(parts, " was not found in ")
	case 50105:
		add("the account %s", s.User)
		add("the app %s", app)
		return here(parts, " is not assigned to ")
	case 700016, 700011:
		add("the app %s", app)
		add("the tenant %s", s.Tenant)
		return here(parts, " is not registered nor provisioned in ")
	case 500011:
		add("the resource %s", firstNonEmpty(s.Resource, strings.Join(s.Scopes, " ")))
		add("the tenant %s", s.Tenant)
		return here(parts, " has no service principal in ")
	case 50011, 70004:
		add("the app %s", app)
		add("redirect_uri %s", s.RedirectURI)
		return here(parts, " sent ")
	case 65001:
		add("the app %s", app)
		add("%s", firstNonEmpty(strings.Join(s.Scopes, " "), s.Resource))
		return here(parts, " has no consent for ")
	}
	return ""
}

// here joins the two facts of a context sentence with link; with only one
// fact, it names it alone.
func here(parts []string, link string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return " Here: " + parts[0] + "."
	}
	return " Here: " + strings.Join(parts, link) + "."
}

// failure adds a row to the report's verdict (one per sign-in and code).
func (a *Analyzer) failure(f *trace.Flow, s *signin, code, category, what, why string, ids CaseIDs) {
	fl := Failure{FlowID: f.ID, Code: code, Category: category, What: what, Why: why, CaseIDs: ids}
	if !f.Started.IsZero() {
		fl.Time = f.Started.UTC()
	}
	if s != nil {
		fl.SignIn = s.ID
	}
	key := fmt.Sprintf("%d|%s", fl.SignIn, fl.Code)
	if i, ok := a.verdictKey[key]; ok {
		a.rep.Verdict[i].Seen++
		return
	}
	fl.Seen = 1
	a.verdictKey[key] = len(a.rep.Verdict)
	a.rep.Verdict = append(a.rep.Verdict, fl)
}

// finishVerdict fills each verdict row with its sign-in's user, tenant and
// app, known only once the whole trace is read.
func (a *Analyzer) finishVerdict() {
	for i := range a.rep.Verdict {
		v := &a.rep.Verdict[i]
		s := a.get(v.SignIn)
		if s == nil {
			continue
		}
		v.User, v.Tenant, v.App = s.User, s.Tenant, appName(s.ClientID, s.ClientName)
	}
}

// appName is how every client ID is named in reports: "ID (Name)" or the ID.
func appName(id, name string) string {
	if id == "" {
		return ""
	}
	if name == "" {
		if app, ok := kb.LookupApp(id); ok {
			name = app.Name
		}
	}
	if name == "" {
		return id
	}
	return id + " (" + name + ")"
}
