package analyze

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// isB2CHost reports whether host is an Azure AD B2C login host.
func isB2CHost(host string) bool {
	h := strings.ToLower(host)
	return strings.HasSuffix(h, ".b2clogin.com") || strings.HasSuffix(h, ".b2clogin.cn") || strings.HasSuffix(h, ".b2clogin.us")
}

// b2cPolicy returns the B2C policy a request names: the p parameter, or a
// B2C_1_ / B2C_1A_ path segment (custom domains included).
func b2cPolicy(u *url.URL, q url.Values) string {
	if u == nil {
		return ""
	}
	if p := q.Get("p"); strings.HasPrefix(strings.ToUpper(p), "B2C_1") {
		return p
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if strings.HasPrefix(strings.ToUpper(seg), "B2C_1") {
			return seg
		}
	}
	if isB2CHost(u.Host) {
		return q.Get("p")
	}
	return ""
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
