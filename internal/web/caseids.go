package web

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// CaseIDs are the identifiers a support case asks for, per sign-in.
type CaseIDs struct {
	SignIn int  `json:"signin"`
	Items  []KV `json:"items"`
}

var (
	caseBodyRE = regexp.MustCompile(`(?i)(Correlation ID|Trace ID|Request ID|Timestamp)["']?\s*[:=]?\s*["']?([0-9A-Za-z:.\-TZ ]{8,40}?)["'<\s,)]`)
	// Entra's sign-in page keeps them in its JavaScript config.
	caseJSONRE = regexp.MustCompile(`"(correlationId|correlation_id|traceId|trace_id|sessionId)"\s*:\s*"([0-9a-fA-F-]{36})"`)
	guidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// caseHeaders are response and request headers that carry request or
// correlation IDs a provider's support can look up.
var caseHeaders = []string{"x-ms-request-id", "client-request-id", "x-ms-correlation-id", "request-id", "x-ms-ests-server", "x-correlation-id"}

func (s *Server) caseIDs(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.traceParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	out := []CaseIDs{}
	if t.Report == nil {
		writeJSON(w, out)
		return
	}
	for _, si := range t.Report.Flows {
		c := CaseIDs{SignIn: si.ID, Items: []KV{}}
		add := func(label, v string) {
			v = strings.TrimSpace(v)
			if v == "" || len(v) > 80 {
				return
			}
			for _, it := range c.Items {
				if it.Name == label && it.Value == v {
					return
				}
			}
			c.Items = append(c.Items, KV{Name: label, Value: v})
		}
		for _, m := range caseBodyRE.FindAllStringSubmatch(si.Error+" ", 4) {
			if guidRE.MatchString(strings.TrimSpace(m[2])) {
				add(strings.ToLower(m[1]), m[2])
			}
		}
		add("tenant", si.Tenant)
		add("client_id", si.ClientID)
		add("user", si.User)
		for _, st := range si.Steps {
			f, err := t.Index.Flow(st.FlowID)
			if err != nil || f.Request == nil {
				continue
			}
			for _, h := range caseHeaders {
				add(h, f.Request.Headers.Get(h))
				if f.Response != nil {
					add(h, f.Response.Headers.Get(h))
				}
			}
			if f.Response != nil && (f.Response.Status >= 400 || st.Kind == "login" || st.Kind == "authorize" || st.Kind == "token") {
				b := f.Response.Body
				if len(b) > 1<<20 {
					b = b[:1<<20]
				}
				if utf8.Valid(b) {
					for _, m := range caseBodyRE.FindAllStringSubmatch(string(b), 20) {
						v := strings.TrimSpace(m[2])
						label := strings.ToLower(m[1])
						if label != "timestamp" && !guidRE.MatchString(v) {
							continue
						}
						add(label, v)
					}
					for _, m := range caseJSONRE.FindAllStringSubmatch(string(b), 10) {
						label := map[string]string{"correlationid": "correlation id", "correlation_id": "correlation id", "traceid": "trace id", "trace_id": "trace id", "sessionid": "session id"}[strings.ToLower(m[1])]
						add(label, m[2])
					}
				}
			}
			if !st.Time.IsZero() && st == si.Steps[len(si.Steps)-1] {
				add("last step time (UTC)", st.Time.UTC().Format("2006-01-02T15:04:05Z"))
			}
		}
		slices.SortStableFunc(c.Items, func(a, b KV) int { return rank(a.Name) - rank(b.Name) })
		out = append(out, c)
	}
	writeJSON(w, out)
}

func rank(label string) int {
	switch label {
	case "correlation id":
		return 0
	case "trace id":
		return 1
	case "timestamp":
		return 2
	}
	return 3
}
