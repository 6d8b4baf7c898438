package analyze

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// isB2CHost reports whether host is an Azure AD B2C login host.
func isB2CHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.HasSuffix(h, ".b2clogin.com") || strings.HasSuffix(h, ".b2clogin.cn") || strings.HasSuffix(h, ".b2clogin.us")
}

// isB2CPolicy reports whether name is a B2C policy ID: a user flow
// (B2C_1_...) or a custom policy (B2C_1A_...), the prefixes B2C gives every
// policy, whatever the case.
func isB2CPolicy(name string) bool {
	n := strings.ToUpper(name)
	return (strings.HasPrefix(n, "B2C_1_") && len(n) > 6) || (strings.HasPrefix(n, "B2C_1A_") && len(n) > 7)
}

// b2cEvidence says whether a flow is Azure AD B2C traffic, and the policy it
// names. B2C answers on its b2clogin hosts, on the old
// login.microsoftonline.com/<tenant>/<policy>/ endpoints and on any custom
// domain (login.contoso.com/<tenant name or ID>/...) fronted by Azure Front
// Door; what gives a custom domain away is a policy ID in the path or in the
// p parameter (query or form), the /tfp/<tenant>/<policy>/ authority form, or
// B2C's x-ms-cpim-* cookies sent or set. why is empty when nothing does.
func b2cEvidence(f *trace.Flow, u *url.URL, q, form url.Values) (policy, why string) {
	if u == nil {
		return "", ""
	}
	for _, v := range []url.Values{q, form} {
		if p := v.Get("p"); isB2CPolicy(p) {
			return p, "policy parameter"
		}
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for _, seg := range segs {
		if isB2CPolicy(seg) {
			return seg, "policy in the path"
		}
	}
	if len(segs) >= 3 && strings.EqualFold(segs[0], "tfp") {
		return "", "/tfp/ authority"
	}
	if isB2CHost(u.Host) {
		return "", "b2clogin host"
	}
	if f != nil && (cpimCookie(f.Request.Headers, "Cookie") || (f.Response != nil && cpimCookie(f.Response.Headers, "Set-Cookie"))) {
		return "", "x-ms-cpim cookies"
	}
	return "", ""
}

// cpimCookie reports whether a Cookie or Set-Cookie header (by name) of hs
// names an x-ms-cpim-* cookie (B2C's session, transaction, CSRF and routing
// cookies).
func cpimCookie(hs trace.Headers, header string) bool {
	for _, h := range hs {
		if !strings.EqualFold(h.Name, header) {
			continue
		}
		parts := strings.Split(h.Value, ";")
		if header == "Set-Cookie" {
			parts = parts[:1] // the attributes after the first ';' are not cookies
		}
		for _, c := range parts {
			name, _, _ := strings.Cut(strings.TrimSpace(c), "=")
			if len(name) > 10 && strings.EqualFold(name[:10], "x-ms-cpim-") {
				return true
			}
		}
	}
	return false
}

// noteB2C marks s as an Azure AD B2C sign-in when the flow shows B2C, and
// takes the first policy it names.
func (a *Analyzer) noteB2C(f *trace.Flow, s *signin, u *url.URL, q, form url.Values) {
	if s == nil {
		return
	}
	policy, why := b2cEvidence(f, u, q, form)
	if why == "" {
		return
	}
	s.B2C = true
	if s.Policy == "" {
		s.Policy = policy
	}
	if s.Tenant == "" {
		s.Tenant = b2cTenant(u.Path)
	}
	if policy != "" {
		a.byPolicy[policyKey(u.Host, policy)] = s.ID
	}
}

// b2cTokenPolicy returns the B2C policy a token names: its tfp claim, or an
// acr claim that is a policy ID (newer B2C tokens); "" for other tokens.
func b2cTokenPolicy(c *jwt.Claims) string {
	for _, k := range []string{"tfp", "acr"} {
		if v := c.Str(k); isB2CPolicy(v) {
			return v
		}
	}
	return ""
}

func policyKey(host, policy string) string { return strings.ToLower(host + "|" + policy) }

// b2cTenant returns the tenant a B2C path names: the segment before the
// policy ID (/contoso.onmicrosoft.com/B2C_1_x/..., /<tenant ID>/B2C_1A_x/...),
// the one after /tfp/, or a first segment that is a tenant ID or a domain.
func b2cTenant(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "tfp") {
		return segs[1]
	}
	for i, seg := range segs {
		if isB2CPolicy(seg) {
			if i > 0 {
				return segs[i-1]
			}
			return ""
		}
	}
	if len(segs) >= 2 && (oauth.IsGUID(segs[0]) || strings.HasSuffix(strings.ToLower(segs[0]), ".onmicrosoft.com")) {
		return segs[0]
	}
	return ""
}

// b2cLabel names the B2C service for a sign-in's identity provider host:
// "Azure AD B2C", or "Azure AD B2C, custom domain" when the host is neither a
// b2clogin host nor an Entra login host.
func b2cLabel(host string) string {
	if isB2CHost(host) || oauth.EntraCloud(host) != "" {
		return "Azure AD B2C"
	}
	return "Azure AD B2C, custom domain"
}

// b2cError reports an AADB2C code: signals (the user chose "Forgot your
// password?", cancelled) as information, errors by their kb category.
func (a *Analyzer) b2cError(f *trace.Flow, s *signin, code int, short string, ids CaseIDs) {
	e, ok := kb.LookupB2CError(code)
	fd := Finding{FlowIDs: []int{f.ID}, Code: fmt.Sprintf("b2c_error.aadb2c%d", code), Severity: SeverityError,
		Title: fmt.Sprintf("Azure AD B2C error AADB2C%d", code), Detail: short,
		Hint: "Read the policy's trace in Application Insights for this correlation ID."}
	if ok {
		fd.Severity, fd.Hint = e.Severity(), e.Action
		fd.Detail = e.Meaning + " — " + short
		if e.Category == kb.CategorySignal {
			fd.Code = fmt.Sprintf("b2c_user_signal.aadb2c%d", code)
			fd.Title = fmt.Sprintf("User choice reported by B2C (AADB2C%d)", code)
		} else {
			fd.Title = fmt.Sprintf("%s (AADB2C%d)", categoryFinding[e.Category].title, code)
		}
	}
	a.finding(s, fd)
	if s != nil {
		s.Error = short
		if fd.Severity == SeverityError {
			s.Result = ResultError
		} else {
			s.signal = true
			s.Result = ResultIncomplete
		}
	}
	if fd.Severity == SeverityError {
		a.failure(f, s, fmt.Sprintf("AADB2C%d", code), e.Category, fd.Title, firstNonEmpty(e.Meaning, short), ids)
	}
}
