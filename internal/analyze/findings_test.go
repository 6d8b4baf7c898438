package analyze

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// Synthetic flows (made here, not captured) for each finding.

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// fakeJWT builds an unsigned-looking JWT (random signature bytes) with the claims.
func fakeJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "RS256", "kid": "test-kid"})
	c, _ := json.Marshal(claims)
	e := base64.RawURLEncoding.EncodeToString
	return e(h) + "." + e(c) + "." + e([]byte("not-a-real-signature-not-a-real-signature"))
}

type fb struct{ flows []*trace.Flow }

func (b *fb) add(method, u string, reqH trace.Headers, reqBody string, status int, respH trace.Headers, respBody string) *trace.Flow {
	f := &trace.Flow{ID: len(b.flows) + 1, Started: t0.Add(time.Duration(len(b.flows)) * time.Second),
		Request: &trace.Request{Method: method, URL: u, Headers: reqH, Body: []byte(reqBody), HasBody: reqBody != ""}}
	if reqBody != "" && reqH.Get("Content-Type") == "" {
		f.Request.Headers = append(f.Request.Headers, trace.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"})
	}
	if status != 0 {
		f.Response = &trace.Response{Status: status, Headers: respH, Body: []byte(respBody)}
		if strings.HasPrefix(respBody, "{") {
			f.Response.MimeType = "application/json"
		} else if respBody != "" {
			f.Response.MimeType = "text/html"
		}
	}
	b.flows = append(b.flows, f)
	return f
}

type sliceSource []*trace.Flow

func (s sliceSource) Meta() *trace.Meta { return &trace.Meta{} }
func (s sliceSource) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		for _, f := range s {
			if !yield(f, nil) {
				return
			}
		}
	}
}

const (
	entra  = "https://login.microsoftonline.com/"
	tenant = "11111111-2222-3333-4444-555555555555"
	appID  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	spa    = "https://spa.example/"
)

func loc(u string) trace.Headers { return trace.Headers{{Name: "Location", Value: u}} }

func authz(extra string) string {
	return entra + tenant + "/oauth2/v2.0/authorize?client_id=" + appID + "&response_type=code&redirect_uri=" + url.QueryEscape(spa) +
		"&scope=openid+profile&state=S1&nonce=N1" + extra
}

func entraError(code int, err, desc string) string {
	return fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: %s\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[%d],"timestamp":"2025-03-01 10:00:00Z","trace_id":"t","correlation_id":"c"}`, err, code, desc, code)
}

func tokenReq(extra string) string {
	return "client_id=" + appID + "&grant_type=authorization_code&code=C1&redirect_uri=" + url.QueryEscape(spa) + extra
}

func samlDeflate(xml string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	_, _ = w.Write([]byte(xml))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func samlResponse(inResp, aud string, notBefore, notAfter time.Time, status string) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" Destination="https://sp.example/acs" InResponseTo="%s"><saml:Issuer>https://sts.windows.net/%s/</saml:Issuer><samlp:Status><samlp:StatusCode Value="%s"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>https://sts.windows.net/%s/</saml:Issuer><saml:Subject><saml:NameID>alice@contoso.example</saml:NameID></saml:Subject><saml:Conditions NotBefore="%s" NotOnOrAfter="%s"><saml:AudienceRestriction><saml:Audience>%s</saml:Audience></saml:AudienceRestriction></saml:Conditions></saml:Assertion></samlp:Response>`,
		inResp, tenant, status, tenant, notBefore.Format(time.RFC3339), notAfter.Format(time.RFC3339), aud)))
}

const authnRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" AssertionConsumerServiceURL="https://sp.example/acs"><saml:Issuer>https://sp.example/</saml:Issuer></samlp:AuthnRequest>`

func TestFindings(t *testing.T) {
	success := "urn:oasis:names:tc:SAML:2.0:status:Success"
	tests := []struct {
		name  string
		build func(b *fb)
		want  []string // finding codes that must appear (prefix match before ".aadsts")
		not   []string // codes that must not appear
		check func(t *testing.T, r *Report)
	}{
		{"AADSTS in token JSON: MFA interrupt", func(b *fb) {
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 400, nil, entraError(50076, "invalid_grant", "Due to a configuration change you must use multi-factor authentication"))
		}, []string{"mfa_required.aadsts50076"}, nil, nil},
		{"Conditional Access on the sign-in page HTML", func(b *fb) {
			b.add("GET", authz(""), nil, "", 200, nil, `<html><script>$Config={"iErrorCode":53003,"strServiceExceptionMessage":"AADSTS53003: Access has been blocked by Conditional Access policies.","correlationId":"c-1"};</script></html>`)
		}, []string{"conditional_access.aadsts53003"}, nil, func(t *testing.T, r *Report) {
			if r.Flows[0].Result != ResultError || r.Flows[0].ClientID != appID || r.Flows[0].Tenant != tenant || r.Flows[0].EndpointVersion != "v2" {
				t.Errorf("sign-in %+v", r.Flows[0])
			}
		}},
		{"AADSTS in the redirect URL: implicit grant disabled", func(b *fb) {
			b.add("GET", strings.Replace(authz(""), "response_type=code", "response_type=id_token", 1), nil, "", 302,
				loc(spa+"#error=unsupported_response_type&error_description=AADSTS700054%3a+response_type+%27id_token%27+is+not+enabled+for+the+application.&state=S1"), "")
		}, []string{"app_config.aadsts700054"}, nil, nil},
		{"sign-in page shown after a failed silent sign-in (no error displayed)", func(b *fb) {
			b.add("GET", authz(""), nil, "", 200, nil, `<script>$Config={"sErrorCode":"50058","pgid":"ConvergedSignIn","sErrTxt":""};</script>`)
		}, []string{"signin_page_reason.aadsts50058"}, []string{"interaction_required.aadsts50058"}, func(t *testing.T, r *Report) {
			if r.Flows[0].Result == ResultError || r.Findings[0].Severity != SeverityInfo {
				t.Errorf("a reason code made the sign-in fail: %+v %+v", r.Flows[0], r.Findings)
			}
		}},
		{"redirect_uri mismatch", func(b *fb) {
			b.add("GET", authz(""), nil, "", 200, nil, `<script>$Config={"iErrorCode":50011,"strServiceExceptionMessage":"AADSTS50011: The redirect URI specified in the request does not match."};</script>`)
		}, []string{"redirect_uri_mismatch.aadsts50011"}, nil, nil},
		{"consent required", func(b *fb) {
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?error=consent_required&error_description=AADSTS65001%3a+The+user+or+administrator+has+not+consented&state=S1"), "")
		}, []string{"consent_required.aadsts65001"}, nil, nil},
		{"expired client secret", func(b *fb) {
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, "grant_type=client_credentials&client_id="+appID+"&client_secret=Abc~VerySecretValue123&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", 401, nil,
				entraError(7000222, "invalid_client", "The provided client secret keys for app are expired."))
		}, []string{"invalid_client_secret.aadsts7000222"}, nil, func(t *testing.T, r *Report) {
			var js bytes.Buffer
			_ = WriteJSON(&js, r)
			if strings.Contains(js.String(), "VerySecretValue") {
				t.Error("client secret leaked")
			}
		}},
		{"wrong tenant: app not found", func(b *fb) {
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?error=unauthorized_client&error_description=AADSTS700016%3a+Application+not+found+in+the+directory&state=S1"), "")
		}, []string{"app_config.aadsts700016"}, nil, nil},
		{"state mismatch and nonce mismatch", func(b *fb) {
			b.add("GET", strings.Replace(authz("&response_mode=form_post"), "response_type=code", "response_type=id_token", 1), nil, "", 200, nil, "<html>login</html>")
			b.add("POST", spa, nil, "id_token="+fakeJWT(map[string]any{"aud": appID, "iss": entra + tenant + "/v2.0", "tid": tenant, "nonce": "OTHER", "ver": "2.0", "sub": "x",
				"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})+"&state=S2", 200, nil, "ok")
		}, []string{"nonce_mismatch", "state_mismatch"}, nil, func(t *testing.T, r *Report) {
			if len(r.Flows) != 1 || r.Flows[0].ResponseMode != "form_post" || r.Flows[0].Grant != "implicit" {
				t.Errorf("form_post not stitched: %+v", r.Flows)
			}
		}},
		{"form_post page from the IdP: the ID token in the form is named and checked", func(b *fb) {
			idt := fakeJWT(map[string]any{"aud": appID, "iss": entra + tenant + "/v2.0", "tid": tenant, "nonce": "WRONG", "ver": "2.0", "sub": "x", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
			b.add("GET", strings.Replace(authz("&response_mode=form_post"), "response_type=code", "response_type=code+id_token", 1), nil, "", 200, nil, "<html>login</html>")
			b.add("POST", entra+tenant+"/kmsi", nil, "LoginOptions=1", 200, nil,
				`<html><body onload="document.forms[0].submit()"><form method="POST" action="`+spa+`"><input type="hidden" name="code" value="C1" /><input type="hidden" name="id_token" value="`+idt+`" /><input type="hidden" name="state" value="S1" /></form></body></html>`)
			b.add("POST", spa, trace.Headers{{Name: "Referer", Value: "https://login.microsoftonline.com/"}}, "code=C1&id_token="+idt+"&state=S1", 302, loc(spa+"home"), "")
		}, []string{"nonce_mismatch"}, []string{"state_mismatch"}, func(t *testing.T, r *Report) {
			if len(r.Tokens) != 1 || r.Tokens[0].Where != "response.body.id_token" || r.Tokens[0].Seen != 2 || len(r.Flows) != 1 || len(r.Flows[0].Steps) != 3 {
				t.Errorf("tokens %+v flows %+v", r.Tokens, r.Flows)
			}
		}},
		{"state mismatch on a redirect", func(b *fb) {
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?code=C1&state=WRONG"), "")
		}, []string{"state_mismatch"}, nil, nil},
		{"PKCE missing for a SPA, no refresh token without offline_access", func(b *fb) {
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", trace.Headers{{Name: "Origin", Value: "https://spa.example"}}, tokenReq(""), 200, nil,
				`{"token_type":"Bearer","scope":"openid profile","expires_in":3599,"access_token":"`+fakeJWT(map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "scp": "openid profile", "ver": "1.0", "tid": tenant, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})+`"}`)
		}, []string{"pkce_missing", "no_refresh_token"}, nil, func(t *testing.T, r *Report) {
			s := r.Flows[0]
			if s.Grant != "authorization_code" || s.Result != ResultSuccess || len(s.Steps) != 2 || s.Steps[1].Kind != "token" {
				t.Errorf("sign-in %+v", s)
			}
		}},
		{"token version mismatch, groups overage, expired token on an API call", func(b *fb) {
			at := fakeJWT(map[string]any{"aud": "api://my-api", "iss": "https://sts.windows.net/" + tenant + "/", "ver": "1.0", "tid": tenant, "scp": "read",
				"hasgroups": true, "iat": t0.Add(-2 * time.Hour).Unix(), "exp": t0.Add(-10 * time.Minute).Unix()})
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 200, nil, `{"access_token":"`+at+`","refresh_token":"R1","scope":"api://my-api/read offline_access"}`)
			b.add("GET", "https://api.example/items", trace.Headers{{Name: "Authorization", Value: "Bearer " + at}}, "", 401, nil, "")
		}, []string{"token_version_mismatch", "groups_overage", "token_expired"}, []string{"pkce_missing", "no_refresh_token"}, func(t *testing.T, r *Report) {
			s := r.Flows[0]
			if s.Steps[len(s.Steps)-1].Kind != "api" {
				t.Errorf("API call not stitched: %+v", s.Steps)
			}
		}},
		{"clock skew: token issued in the future", func(b *fb) {
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 200, nil,
				`{"id_token":"`+fakeJWT(map[string]any{"aud": appID, "iat": t0.Add(time.Hour).Unix(), "nbf": t0.Add(time.Hour).Unix(), "exp": t0.Add(2 * time.Hour).Unix()})+`"}`)
		}, []string{"clock_skew"}, nil, nil},
		{"third-party cookies blocked in a silent iframe", func(b *fb) {
			b.add("GET", authz("&prompt=none"), trace.Headers{{Name: "Sec-Fetch-Dest", Value: "iframe"}, {Name: "Sec-Fetch-Site", Value: "cross-site"}}, "", 302,
				loc(spa+"#error=login_required&error_description=AADSTS50058%3a+A+silent+sign-in+request+was+sent+but+no+user+is+signed+in.&state=S1"), "")
		}, []string{"third_party_cookies_blocked", "interaction_required.aadsts50058"}, nil, nil},
		{"API claims challenge and an API error body not taken for a sign-in error", func(b *fb) {
			at := fakeJWT(map[string]any{"aud": "https://graph.microsoft.com", "scp": "User.Read", "ver": "1.0", "tid": tenant, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 200, nil, `{"access_token":"`+at+`","refresh_token":"r","scope":"User.Read offline_access"}`)
			b.add("GET", "https://graph.microsoft.com/v1.0/me", trace.Headers{{Name: "Authorization", Value: "Bearer " + at}}, "", 401,
				trace.Headers{{Name: "WWW-Authenticate", Value: `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="`}}, `{"error":"unauthorized"}`)
			b.add("GET", "https://api.example/items", trace.Headers{{Name: "Authorization", Value: "Bearer " + at}}, "", 401,
				trace.Headers{{Name: "WWW-Authenticate", Value: `Bearer error="invalid_token", error_description="The audience is invalid"`}}, "")
		}, []string{"api_claims_challenge", "api_invalid_token"}, []string{"oauth_error"}, func(t *testing.T, r *Report) {
			if r.Flows[0].Result != ResultSuccess || len(r.Flows[0].Steps) != 4 {
				t.Errorf("sign-in %+v", r.Flows[0])
			}
		}},
		{"on-behalf-of linked to the sign-in whose token it exchanges", func(b *fb) {
			at := fakeJWT(map[string]any{"aud": "api://middle", "scp": "access", "ver": "2.0", "tid": tenant, "preferred_username": "carol@contoso.example", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
			b.add("GET", authz(""), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 200, nil, `{"access_token":"`+at+`","refresh_token":"r","scope":"api://middle/access offline_access"}`)
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&requested_token_use=on_behalf_of&client_id=middle&client_secret=MiddleSecret99&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&assertion="+at, 400, nil,
				entraError(65001, "invalid_grant", "The user or administrator has not consented to use the application"))
		}, []string{"consent_required.aadsts65001"}, nil, func(t *testing.T, r *Report) {
			if len(r.Flows) != 2 || r.Flows[1].Grant != "on_behalf_of" || r.Flows[1].Parent != 1 || r.Flows[1].User != "carol@contoso.example" || r.Flows[1].ClientAuth != "client_secret_post" || r.Flows[1].Result != ResultError {
				t.Errorf("OBO sign-in %+v", r.Flows)
			}
		}},
		{"5xx from the token endpoint", func(b *fb) {
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq("&code_verifier=v"), 503, nil, "Service Unavailable")
		}, []string{"token_endpoint_http_error"}, nil, nil},
		{"SAML: request and expired response for the wrong audience", func(b *fb) {
			b.add("GET", entra+tenant+"/saml2?SAMLRequest="+url.QueryEscape(samlDeflate(authnRequest)), nil, "", 200, nil, "<html>login</html>")
			b.add("POST", "https://sp.example/acs", nil, "SAMLResponse="+url.QueryEscape(samlResponse("_req1", "https://other.example/", t0.Add(-time.Hour), t0.Add(-30*time.Minute), success)), 302, loc("https://sp.example/"), "")
		}, []string{"saml_conditions_expired", "saml_wrong_audience"}, nil, func(t *testing.T, r *Report) {
			if len(r.Flows) != 1 || r.Flows[0].Protocol != "saml" || len(r.Flows[0].Steps) != 2 || r.Flows[0].User != "alice@contoso.example" {
				t.Errorf("SAML sign-in not stitched: %+v", r.Flows)
			}
		}},
		{"wrong tenant in the ID token", func(b *fb) {
			b.add("GET", authz(""), nil, "", 302, loc(spa+"#id_token="+fakeJWT(map[string]any{"aud": appID, "tid": "99999999-2222-3333-4444-555555555555", "nonce": "N1", "ver": "2.0",
				"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})+"&state=S1"), "")
		}, []string{"wrong_tenant"}, []string{"nonce_mismatch", "wrong_audience", "state_mismatch"}, nil},
		{"PKCE verifier missing, plain method", func(b *fb) {
			b.add("GET", authz("&code_challenge=abc&code_challenge_method=plain"), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
			b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, tokenReq(""), 200, nil, `{"access_token":"opaque","refresh_token":"r","scope":"openid offline_access"}`)
		}, []string{"pkce_verifier_missing", "pkce_plain"}, []string{"pkce_missing"}, nil},
		{"WS-Fed: request and a token for another realm", func(b *fb) {
			b.add("GET", entra+tenant+"/wsfed?wa=wsignin1.0&wtrealm="+url.QueryEscape("https://rp.example/")+"&wctx=ctx1", nil, "", 200, nil, "<html>login</html>")
			rstr := `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://other.example/</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><t:RequestedSecurityToken>` +
				`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_w1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>https://sts.windows.net/` + tenant + `/</saml:Issuer><saml:Subject><saml:NameID>bob@contoso.example</saml:NameID></saml:Subject></saml:Assertion></t:RequestedSecurityToken></t:RequestSecurityTokenResponse>`
			b.add("POST", "https://rp.example/", nil, "wa=wsignin1.0&wctx=ctx1&wresult="+url.QueryEscape(rstr), 302, loc("https://rp.example/home"), "")
		}, []string{"wsfed_wrong_realm"}, nil, func(t *testing.T, r *Report) {
			if len(r.Flows) != 1 || r.Flows[0].Protocol != "wsfed" || len(r.Flows[0].Steps) != 2 || r.Flows[0].User != "bob@contoso.example" || r.Flows[0].Result != ResultError {
				t.Errorf("WS-Fed sign-in not stitched: %+v", r.Flows)
			}
		}},
		{"SAML: failed status", func(b *fb) {
			b.add("POST", "https://sp.example/acs", nil, "SAMLResponse="+url.QueryEscape(samlResponse("", "https://sp.example/", t0, t0.Add(time.Hour), "urn:oasis:names:tc:SAML:2.0:status:Requester")), 200, nil, "")
		}, []string{"saml_status_error"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fb{}
			tt.build(b)
			r, err := Run(sliceSource(b.flows), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
				if f.Title == "" || f.Detail == "" || f.Hint == "" || len(f.FlowIDs) == 0 || SeverityRank(f.Severity) == 0 {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(codes, w) {
					t.Errorf("missing finding %s; got %v", w, codes)
				}
			}
			for _, n := range tt.not {
				if slices.Contains(codes, n) {
					t.Errorf("unexpected finding %s; got %v", n, codes)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func FuzzAnalyzeFlow(f *testing.F) {
	f.Add("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=a&response_type=code&state=s", "", "https://app/#code=x&state=s", []byte(`$Config={"iErrorCode":50058}`))
	f.Add("https://x/token", "grant_type=authorization_code&code=x&client_secret=s", "", []byte(`{"error":"invalid_grant","error_codes":[70008]}`))
	f.Add("https://sp/acs", "SAMLResponse="+url.QueryEscape(samlResponse("_r", "a", t0, t0, "x")), "", []byte(fakeJWT(map[string]any{"aud": "x"})))
	f.Add("https://login.contoso.example/tfp/t/B2C_1A_x/oauth2/v2.0/token", "grant_type=authorization_code&code=c&p=B2C_1A_x", "", []byte(`{"id_token":"`+fakeJWT(map[string]any{"tfp": "B2C_1A_x", "emails": []string{"a@b"}})+`"}`))
	f.Add("https://login.microsoftonline.com/common/SAS/ProcessAuth", "mfaAuthMethod=PhoneAppNotification&mfaLastPollStart=1&mfaLastPollEnd=9&otc=1", "", []byte(`$Config={"pgid":"KmsiInterrupt"}`))
	f.Add("https://login.microsoftonline.com/kmsi", "LoginOptions=1&DontShowAgain=true", "", []byte("<html></html>"))
	for _, rel := range []string{"other/saml2aws_aad_ConvergedSignIn.html", "other/saml2aws_aad_SAMLResponse.html", "jwt/msalnet_v2_token.jwt", "jwt/msalnet_OpenidConfiguration.json"} {
		if b, err := os.ReadFile(filepath.Join(testutil.Root(), "..", "shared", "testdata", rel)); err == nil {
			f.Add("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=a&response_type=code+id_token&response_mode=form_post", "SAMLResponse=x", "https://app/#id_token=x", b)
		}
	}
	f.Fuzz(func(t *testing.T, u, body, location string, respBody []byte) {
		b := &fb{}
		b.add("POST", u, nil, body, 302, loc(location), string(respBody))
		b.add("GET", location, trace.Headers{{Name: "Authorization", Value: "Bearer " + string(respBody)}}, "", 200, nil, string(respBody))
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := WriteJSON(&out, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteText(&out, r); err != nil {
			t.Fatal(err)
		}
	})
}
