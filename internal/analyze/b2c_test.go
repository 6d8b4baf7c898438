package analyze

import (
	"net/url"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// TestB2CEvidence: the documented shapes of B2C traffic on its own hosts
// and on custom domains are recognised; Entra, AD FS and other sign-ins are
// not.
func TestB2CEvidence(t *testing.T) {
	const tid = "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name, url     string
		cookie, setCk string
		policy, why   string
		tenant        string
	}{
		{"custom domain, tenant ID, custom policy", "https://login.contoso.example/" + tid + "/B2C_1A_signup_signin/oauth2/v2.0/authorize?client_id=x", "", "", "B2C_1A_signup_signin", "policy in the path", tid},
		{"custom domain, tenant name, user flow", "https://id.fabrikam.example/fabrikam.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/token", "", "", "b2c_1_susi", "policy in the path", "fabrikam.onmicrosoft.com"},
		{"custom domain, p parameter", "https://login.contoso.example/" + tid + "/oauth2/v2.0/authorize?p=B2C_1_signin&client_id=x", "", "", "B2C_1_signin", "policy parameter", tid},
		{"tfp authority with the policy", "https://login.contoso.example/tfp/" + tid + "/B2C_1A_signin/v2.0/.well-known/openid-configuration", "", "", "B2C_1A_signin", "policy in the path", tid},
		{"tfp authority, policy not prefixed", "https://login.contoso.example/tfp/contoso.onmicrosoft.com/custompolicy/oauth2/v2.0/authorize", "", "", "", "/tfp/ authority", "contoso.onmicrosoft.com"},
		{"old Entra host endpoint", "https://login.microsoftonline.com/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/authorize", "", "", "B2C_1_susi", "policy in the path", "contoso.onmicrosoft.com"},
		{"b2clogin host", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/oauth2/v2.0/logout", "", "", "", "b2clogin host", "contoso.onmicrosoft.com"},
		{"b2clogin host with port", "https://contoso.b2clogin.com:443/x/y", "", "", "", "b2clogin host", ""},
		{"cookies sent on a custom domain", "https://login.contoso.example/" + tid + "/client/perftrace", "fpc=1; x-ms-cpim-trans=T; x-ms-cpim-csrf=C", "", "", "x-ms-cpim cookies", tid},
		{"cookie set on a custom domain", "https://login.contoso.example/" + tid + "/oauth2/v2.0/logout", "", "x-ms-cpim-sso:" + tid + "_0=S; path=/; secure", "", "x-ms-cpim cookies", tid},

		{"Entra authorize", "https://login.microsoftonline.com/" + tid + "/oauth2/v2.0/authorize?client_id=x&p=1", "ESTSAUTH=a; esctx=b", "", "", "", ""},
		{"AD FS", "https://sts.contoso.example/adfs/ls/?wa=wsignin1.0&wctx=b2c_1_x", "MSISAuth=a", "", "", "", ""},
		{"word that only starts like a policy", "https://app.example/B2C_10/B2C_1/B2C_1A/b2c_1_", "", "", "", "", ""},
		{"cookie attribute is no cookie", "https://app.example/a", "", "sid=1; x-ms-cpim-fake=1", "", "", ""},
		{"cookie name only containing cpim", "https://app.example/a", "my-x-ms-cpim-trans=1", "", "", "", ""},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		f := &trace.Flow{Request: &trace.Request{Method: "GET", URL: tt.url}, Response: &trace.Response{Status: 200}}
		if tt.cookie != "" {
			f.Request.Headers = trace.Headers{{Name: "Cookie", Value: tt.cookie}}
		}
		if tt.setCk != "" {
			f.Response.Headers = trace.Headers{{Name: "Set-Cookie", Value: tt.setCk}}
		}
		policy, why := b2cEvidence(f, u, u.Query(), nil)
		if policy != tt.policy || why != tt.why {
			t.Errorf("%s: b2cEvidence = %q, %q; want %q, %q", tt.name, policy, why, tt.policy, tt.why)
		}
		if tt.why != "" {
			if got := b2cTenant(u.Path); got != tt.tenant {
				t.Errorf("%s: tenant %q, want %q", tt.name, got, tt.tenant)
			}
		}
	}
	form := url.Values{"p": {"B2C_1A_pwreset"}, "request_type": {"RESPONSE"}}
	if p, why := b2cEvidence(nil, &url.URL{Host: "login.contoso.example", Path: "/x/SelfAsserted"}, nil, form); p != "B2C_1A_pwreset" || why != "policy parameter" {
		t.Errorf("policy in a form: %q, %q", p, why)
	}
}

// TestB2CLabel: the report says when B2C answers on a custom domain.
func TestB2CLabel(t *testing.T) {
	for host, want := range map[string]string{
		"contoso.b2clogin.com":      "Azure AD B2C",
		"login.microsoftonline.com": "Azure AD B2C",
		"login.contoso.example":     "Azure AD B2C, custom domain",
	} {
		if got := b2cLabel(host); got != want {
			t.Errorf("b2cLabel(%s) = %q, want %q", host, got, want)
		}
	}
}

// TestNoB2CInEntraCases: none of the synthetic Entra, AD FS, Windows or
// SAML cases is taken for B2C, and the B2C ones all are.
func TestNoB2CInEntraCases(t *testing.T) {
	for name := range cases {
		r, _ := synthetic(t, name)
		for _, s := range r.Flows {
			if want := strings.HasPrefix(name, "b2c_"); s.B2C != want {
				t.Errorf("%s: sign-in %d b2c=%v, want %v", name, s.ID, s.B2C, want)
			}
		}
	}
}

// TestB2CFromToken: a token whose tfp or acr claim is a policy ID marks its
// sign-in as B2C even when no URL shows it, and names the user by emails.
func TestB2CFromToken(t *testing.T) {
	idt := fakeJWT(map[string]any{"iss": "https://auth.contoso.example/" + tenant + "/v2.0/", "aud": appID, "acr": "b2c_1_susi",
		"emails": []string{"gina@contoso.example"}, "iat": t0.Unix(), "exp": t0.Unix() + 3600})
	var b fb
	b.add("POST", "https://auth.contoso.example/token", nil, "grant_type=authorization_code&client_id="+appID+"&code=C1&redirect_uri="+url.QueryEscape(spa), 200, nil,
		`{"id_token":"`+idt+`","token_type":"Bearer"}`)
	r, err := Run(sliceSource(b.flows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Flows) != 1 || !r.Flows[0].B2C || r.Flows[0].Policy != "b2c_1_susi" || r.Flows[0].User != "gina@contoso.example" {
		t.Errorf("sign-ins %+v", r.Flows)
	}
	var b2 fb
	entraID := fakeJWT(map[string]any{"iss": "https://login.microsoftonline.com/" + tenant + "/v2.0", "aud": appID, "acr": "1", "tid": tenant, "iat": t0.Unix(), "exp": t0.Unix() + 3600})
	b2.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, "grant_type=authorization_code&client_id="+appID+"&code=C1", 200, nil, `{"id_token":"`+entraID+`","token_type":"Bearer"}`)
	if r, err := Run(sliceSource(b2.flows), Options{}); err != nil || len(r.Flows) != 1 || r.Flows[0].B2C {
		t.Errorf("an Entra token taken for B2C: %+v %v", r.Flows, err)
	}
}

func FuzzB2CEvidence(f *testing.F) {
	f.Add("https://login.contoso.example/tfp/t/B2C_1A_x/oauth2/v2.0/authorize?p=B2C_1_y", "x-ms-cpim-trans=1; a=b", "x-ms-cpim-sso:t_0=1; path=/", "p=B2C_1_z")
	f.Add("https://contoso.b2clogin.com:443/", "", "", "")
	f.Add("://%zz", "x-ms-cpim-", "=;=", "%")
	f.Fuzz(func(t *testing.T, raw, cookie, setCookie, body string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		form, _ := url.ParseQuery(body)
		fl := &trace.Flow{Request: &trace.Request{Method: "POST", URL: raw, Headers: trace.Headers{{Name: "Cookie", Value: cookie}}},
			Response: &trace.Response{Status: 200, Headers: trace.Headers{{Name: "Set-Cookie", Value: setCookie}}}}
		policy, why := b2cEvidence(fl, u, u.Query(), form)
		if policy != "" && (!isB2CPolicy(policy) || why == "") {
			t.Fatalf("policy %q (why %q) from %q", policy, why, raw)
		}
		_ = b2cTenant(u.Path)
		_ = b2cLabel(u.Host)
	})
}
