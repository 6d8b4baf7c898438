package oauth

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

func TestClassifyURL(t *testing.T) {
	tests := []struct {
		url  string
		want Endpoint
	}{
		{"https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=x", Endpoint{Kind: KindAuthorize, Entra: true, Cloud: "global", Version: "v2", Tenant: "common"}},
		{"https://login.microsoftonline.com/039f6d49-43bb-4a53-b299-4fa0c7fc2276/oauth2/authorize", Endpoint{Kind: KindAuthorize, Entra: true, Cloud: "global", Version: "v1", Tenant: "039f6d49-43bb-4a53-b299-4fa0c7fc2276"}},
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token", Endpoint{Kind: KindToken, Entra: true, Cloud: "global", Version: "v1", Tenant: "contoso.onmicrosoft.com"}},
		{"https://login.microsoftonline.us/organizations/oauth2/v2.0/token", Endpoint{Kind: KindToken, Entra: true, Cloud: "usgov", Version: "v2", Tenant: "organizations"}},
		{"https://login.chinacloudapi.cn/consumers/oauth2/v2.0/devicecode", Endpoint{Kind: KindDeviceCode, Entra: true, Cloud: "china", Version: "v2", Tenant: "consumers"}},
		{"https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration", Endpoint{Kind: KindDiscovery, Entra: true, Cloud: "global", Version: "v2", Tenant: "common"}},
		{"https://login.microsoftonline.com/common/discovery/v2.0/keys", Endpoint{Kind: KindJWKS, Entra: true, Cloud: "global", Tenant: "common"}},
		{"https://login.microsoftonline.com/kmsi", Endpoint{Kind: KindKMSI, Entra: true, Cloud: "global"}},
		{"https://login.microsoftonline.com/common/SAS/BeginAuth", Endpoint{Kind: KindSAS, Entra: true, Cloud: "global", Tenant: "common"}},
		{"https://login.microsoftonline.com/common/GetCredentialType?mkt=en", Endpoint{Kind: KindGetCredentialType, Entra: true, Cloud: "global", Tenant: "common"}},
		{"https://login.microsoftonline.com/common/login", Endpoint{Kind: KindLogin, Entra: true, Cloud: "global", Tenant: "common"}},
		{"https://login.microsoftonline.com/039f6d49-43bb-4a53-b299-4fa0c7fc2276/reprocess?ctx=x", Endpoint{Kind: KindReprocess, Entra: true, Cloud: "global", Tenant: "039f6d49-43bb-4a53-b299-4fa0c7fc2276"}},
		{"https://login.microsoftonline.com/039f6d49-43bb-4a53-b299-4fa0c7fc2276/saml2", Endpoint{Kind: KindSAML, Entra: true, Cloud: "global", Tenant: "039f6d49-43bb-4a53-b299-4fa0c7fc2276"}},
		{"https://accounts.google.com/o/oauth2/v2/auth?x", Endpoint{Kind: KindAuthorize}},
		{"https://oauth2.googleapis.com/token", Endpoint{Kind: KindToken}},
		{"http://127.0.0.1:4000/.well-known/openid-configuration", Endpoint{Kind: KindDiscovery}},
		{"http://127.0.0.1:4000/jwks", Endpoint{Kind: KindJWKS}},
		{"http://127.0.0.1:4000/device/auth", Endpoint{Kind: KindDeviceCode}},
		{"https://example.com/index.html", Endpoint{}},
		{"%zz", Endpoint{}},
	}
	for _, tt := range tests {
		if got := ClassifyURL(tt.url); got != tt.want {
			t.Errorf("ClassifyURL(%q) = %+v, want %+v", tt.url, got, tt.want)
		}
	}
}

func TestAuthorizeRequest(t *testing.T) {
	v, _ := url.ParseQuery("client_id=abc&response_type=code+id_token&response_mode=form_post&redirect_uri=https%3A%2F%2Fapp%2Fcb&scope=openid+offline_access+https%3A%2F%2Fgraph.microsoft.com%2FUser.Read&state=s1&nonce=n1&prompt=login&login_hint=a%40b.c&domain_hint=b.c&code_challenge=xyz&code_challenge_method=S256")
	if !IsAuthorizeRequest(v) {
		t.Fatal("not recognised")
	}
	a := ParseAuthorizeRequest(v)
	want := AuthorizeRequest{ResponseType: "code id_token", ResponseMode: "form_post", ClientID: "abc", RedirectURI: "https://app/cb",
		Scope: "openid offline_access https://graph.microsoft.com/User.Read", Prompt: "login", LoginHint: "a@b.c", DomainHint: "b.c",
		CodeChallenge: "xyz", CodeChallengeMethod: "S256", State: "s1", Nonce: "n1"}
	if a != want {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
	if a.Flow() != "hybrid" || !a.IsOIDC() || !HasScope(a.Scope, "User.Read") || HasScope(a.Scope, "profile") {
		t.Errorf("flow %q oidc %v", a.Flow(), a.IsOIDC())
	}
	for rt, f := range map[string]string{"code": "code", "token": "implicit", "id_token token": "implicit", "code token": "hybrid", "none": ""} {
		if got := (AuthorizeRequest{ResponseType: rt}).Flow(); got != f {
			t.Errorf("Flow(%q) = %q, want %q", rt, got, f)
		}
	}
	if IsAuthorizeRequest(url.Values{"client_id": {"x"}}) {
		t.Error("client_id alone is not an authorize request")
	}
}

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		loc     string
		ok      bool
		mode    string
		code    string
		idtok   string
		errCode string
		aadsts  int
	}{
		{"https://app/cb?code=C1&state=s", true, "query", "C1", "", "", 0},
		{"https://app/cb#code=C2&id_token=a.b.c&state=s", true, "fragment", "C2", "a.b.c", "", 0},
		{"https://app/cb#error=invalid_request&error_description=AADSTS700054%3A+response_type+%27id_token%27+is+not+enabled", true, "fragment", "", "", "invalid_request", 700054},
		{"https://app/cb?error=access_denied", true, "query", "", "", "access_denied", 0},
		{"https://app/other?x=1", false, "query", "", "", "", 0},
		{"::", false, "", "", "", "", 0},
	}
	for _, tt := range tests {
		r, ok := ParseRedirect(tt.loc)
		if ok != tt.ok || (ok && (r.Mode != tt.mode || r.Code != tt.code || r.IDToken != tt.idtok)) {
			t.Errorf("ParseRedirect(%q) = %+v, %v", tt.loc, r, ok)
			continue
		}
		if tt.errCode != "" && (r.Error == nil || r.Error.Error != tt.errCode || r.Error.AADSTS != tt.aadsts) {
			t.Errorf("ParseRedirect(%q) error = %+v", tt.loc, r.Error)
		}
	}
}

func TestTokenRequest(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("app1:s3cr%21t"))
	tests := []struct {
		body, auth           string
		grant, client, cauth string
		secret, password     string
	}{
		{"grant_type=authorization_code&code=abc&redirect_uri=x&code_verifier=v&client_id=pub", "", GrantAuthorizationCode, "pub", AuthNone, "", ""},
		{"grant_type=authorization_code&code=abc", basic, GrantAuthorizationCode, "app1", AuthSecretBasic, "***(6 chars)", ""},
		{"grant_type=client_credentials&client_id=c&client_secret=supersecretvalue&scope=api%2F.default", "", GrantClientCredentials, "c", AuthSecretPost, "***(16 chars)", ""},
		{"grant_type=refresh_token&refresh_token=rt&client_id=c", "", GrantRefreshToken, "c", AuthNone, "", ""},
		{"grant_type=password&username=u%40x&password=hunter2&client_id=c", "", GrantPassword, "c", AuthNone, "", "***(7 chars)"},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc&client_id=c", "", GrantDeviceCode, "c", AuthNone, "", ""},
		{"grant_type=device_code&code=dc&client_id=c&resource=r", "", GrantDeviceCode, "c", AuthNone, "", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c&requested_token_use=on_behalf_of&client_id=c&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z", "", GrantOnBehalfOf, "c", AuthPrivateKeyJWT, "", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml1_1-bearer&assertion=PHNhbWw%2B&client_id=c", "", GrantSAMLBearer, "c", AuthNone, "", ""},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.body)
		if !IsTokenRequest(v) {
			t.Fatalf("%s: not a token request", tt.body)
		}
		r := ParseTokenRequest(v, tt.auth)
		if r.Grant != tt.grant || r.ClientID != tt.client || r.ClientAuth != tt.cauth || r.ClientSecret != tt.secret || r.Password != tt.password {
			t.Errorf("%s: got %+v", tt.body, r)
		}
		if r.Grant == GrantDeviceCode && (r.DeviceCode != "dc" || r.Code != "") {
			t.Errorf("%s: device code %q code %q", tt.body, r.DeviceCode, r.Code)
		}
		for _, s := range []string{"hunter2", "supersecretvalue", "s3cr!t"} {
			if strings.Contains(r.ClientSecret+r.Password, s) {
				t.Errorf("%s: secret %q leaked", tt.body, s)
			}
		}
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		body, kind string
		check      func(JSONDoc) bool
	}{
		{`{"token_type":"Bearer","scope":"openid","expires_in":3599,"access_token":"a.b.c","refresh_token":"r","id_token":"x.y.z","client_info":"e30"}`, "token",
			func(d JSONDoc) bool {
				return d.Token.ExpiresIn == 3599 && d.Token.RefreshToken == "r" && d.Token.IDToken == "x.y.z"
			}},
		{`{"token_type":"Bearer","expires_in":"3599","resource":"https://graph","access_token":"a"}`, "token",
			func(d JSONDoc) bool { return d.Token.ExpiresIn == 3599 && d.Token.Resource == "https://graph" }},
		{`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215],"timestamp":"2024-01-01 00:00:00Z","trace_id":"t","correlation_id":"c"}`, "error",
			func(d JSONDoc) bool {
				return d.Error.AADSTS == 7000215 && d.Error.TraceID == "t" && d.Error.CorrelationID == "c"
			}},
		{`{"error":"invalid_grant","error_description":"AADSTS70008: expired"}`, "error", func(d JSONDoc) bool { return d.Error.AADSTS == 70008 }},
		{`{"device_code":"d","user_code":"ABCD","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5}`, "device_code",
			func(d JSONDoc) bool { return d.Device.UserCode == "ABCD" && d.Device.Interval == 5 }},
		{`{"issuer":"https://i","jwks_uri":"https://i/jwks","token_endpoint":"https://i/token"}`, "discovery",
			func(d JSONDoc) bool { return d.Discovery.Endpoints()["https://i/jwks"] == KindJWKS }},
		{`{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}`, "jwks", func(JSONDoc) bool { return true }},
		{`{"hello":1}`, "", func(JSONDoc) bool { return true }},
		{`not json`, "", func(JSONDoc) bool { return true }},
	}
	for _, tt := range tests {
		d, err := ParseJSON([]byte(tt.body))
		if err != nil || d.Kind != tt.kind || !tt.check(d) {
			t.Errorf("ParseJSON(%s) = %+v, %v", tt.body, d, err)
		}
	}
	if _, err := ParseJSON(make([]byte, maxJSON+1)); err == nil {
		t.Error("no error over the cap")
	}
}

func TestSignInPageShared(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "other"), "saml2aws_aad_ConvergedSignIn.html")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := ParseSignInPage(b)
	if !ok || c.ErrorCode != 50058 || c.ErrorShown {
		t.Errorf("ParseSignInPage = %+v, %v; want error code 50058, not shown", c, ok)
	}
}

func TestSignInPage(t *testing.T) {
	tests := []struct {
		html string
		ok   bool
		code int
		msg  string
	}{
		{`<script>//<![CDATA[
$Config={"iErrorCode":53003,"strServiceExceptionMessage":"AADSTS53003: Access has been blocked by Conditional Access policies.","correlationId":"c-1","pgid":"ConvergedError"};
//]]></script>`, true, 53003, "AADSTS53003: Access has been blocked by Conditional Access policies."},
		{`$Config={"strServiceExceptionMessage":"AADSTS50126: Error validating credentials"}`, true, 50126, "AADSTS50126: Error validating credentials"},
		{`$Config={"sErrorCode":"0","pgid":"ConvergedSignIn"}`, true, 0, ""},
		{`<html>no config</html>`, false, 0, ""},
		{`$Config={broken`, false, 0, ""},
	}
	for _, tt := range tests {
		c, ok := ParseSignInPage([]byte(tt.html))
		if c.ErrorShown != (tt.msg != "") {
			t.Errorf("ParseSignInPage(%.40q): ErrorShown %v", tt.html, c.ErrorShown)
		}
		if ok != tt.ok || c.ErrorCode != tt.code || c.Message != tt.msg {
			t.Errorf("ParseSignInPage(%.40q) = %+v, %v", tt.html, c, ok)
		}
	}
}

func TestESTSCookiesAndClientInfo(t *testing.T) {
	got := ESTSCookies("ESTSAUTH=secret1; other=1; buid=x; esctx-abc=y; fpc=z")
	want := []string{"ESTSAUTH", "buid", "esctx-abc", "fpc"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ESTSCookies = %v", got)
	}
	ci := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u1","utid":"t1"}`))
	if c, ok := ParseClientInfo(ci); !ok || c.UID != "u1" || c.UTID != "t1" {
		t.Errorf("ParseClientInfo = %+v %v", c, ok)
	}
	if _, ok := ParseClientInfo("!!"); ok {
		t.Error("bad client_info accepted")
	}
	if Mask("abc") != "***(3 chars)" || Mask("") != "" || Short("0123456789abcdef") != "012345…(16 chars)" {
		t.Error("Mask/Short")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_client","error_codes":[7000215]}`))
	f.Add([]byte(`$Config={"iErrorCode":50058}`))
	f.Add([]byte(`grant_type=password&password=x&client_secret=y`))
	for _, name := range []string{"saml2aws_aad_ConvergedSignIn.html", "saml2aws_aad_BeginAuth.json", "saml2aws_aad_GetCredentialType_default.json"} {
		if b, err := os.ReadFile(filepath.Join(testutil.Root(), "..", "shared", "testdata", "other", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseJSON(b)
		_, _ = ParseSignInPage(b)
		if v, err := url.ParseQuery(string(b)); err == nil {
			tr := ParseTokenRequest(v, "Basic "+string(b))
			if p := v.Get("password"); len(p) > 3 && strings.Contains(tr.Password, p) {
				t.Fatalf("password leaked")
			}
			_ = ParseAuthorizeRequest(v)
		}
		_, _ = ParseRedirect(string(b))
		_ = ClassifyURL(string(b))
		_ = ESTSCookies(string(b))
	})
}
