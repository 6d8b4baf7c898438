package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzMask feeds hostile URLs, headers and bodies to the inspector's view:
// it must never panic, and a secret parameter's value never comes back whole.
func FuzzMask(f *testing.F) {
	f.Add("https://a.test/cb?code=SECRETSECRETSECRET&state=x", "Cookie", "ESTSAUTH=SECRETSECRETSECRET; a=b", `{"access_token":"SECRETSECRETSECRET"}`)
	f.Add("https://a.test/#id_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Authorization", "Bearer SECRETSECRETSECRET", "password=SECRETSECRETSECRET&x=1")
	f.Add("%zz?&&=#", "Set-Cookie", "=;;", `<input name="SAMLResponse" value="SECRETSECRETSECRET">`)
	f.Fuzz(func(t *testing.T, u, hn, hv, body string) {
		fl := &trace.Flow{ID: 1, Request: &trace.Request{Method: "POST", URL: u, Body: []byte(body),
			Headers: trace.Headers{{Name: hn, Value: hv}, {Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}},
			Response: &trace.Response{Status: 200, Body: []byte(body), Headers: trace.Headers{{Name: hn, Value: hv}}}}
		v := flowView(&Trace{}, fl, false)
		const secret = "SECRETSECRETSECRET"
		if strings.Contains(u, "code="+secret) && !strings.Contains(u, "#") {
			if q, err := url.ParseQuery(strings.SplitN(u, "?", 2)[len(strings.SplitN(u, "?", 2))-1]); err == nil && q.Get("code") == secret {
				if strings.Contains(v.Request.Line, "code="+secret) {
					t.Fatalf("code shown whole in %q", v.Request.Line)
				}
			}
		}
		if strings.EqualFold(hn, "authorization") && strings.Contains(hv, secret) {
			for _, h := range v.Request.Headers {
				if strings.Contains(h.Value, secret) {
					t.Fatalf("authorization shown whole: %q", h.Value)
				}
			}
		}
	})
}
