package analyze

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/trace"
)

// Synthetic support cases. Each is built here by hand from the documented
// shapes of the messages (Entra's $Config, SAS answers, WS-Fed, MS-NLMP,
// SPNEGO, RFC 8628, RFC 6750, Azure AD B2C errors): none is a capture and
// every name, ID and address is made up. With -update they are written to
// testdata/synthetic/*.har (HAR creator "idtrace synthetic fixture"), so
// that `idtrace analyze` can be tried on them; the tests read those files.

const (
	azureCLI  = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" // Microsoft Azure CLI
	app       = "https://app.contoso.example/"
	adfs      = "https://sts.contoso.example/adfs/ls/"
	corrID    = "9b1f4e2a-0000-4000-8000-00000000c0de"
	requestID = "5d6e7f80-0000-4000-8000-0000000000aa"
)

var cases = map[string]func(b *fb){
	// A joined Windows device: the browser sends the PRT cookie; SSO succeeds.
	"prt_sso": func(b *fb) {
		prt := fakeJWT(map[string]any{"refresh_token": "SECRET-PRT-SHOULD-NEVER-SHOW", "is_primary": "true", "request_nonce": "n"})
		b.add("GET", authz("&response_mode=form_post"), trace.Headers{{Name: "Cookie", Value: "x-ms-RefreshTokenCredential=" + prt + "; fpc=abc"}}, "", 200, nil,
			`<html><body onload="document.forms[0].submit()"><form method="POST" action="`+spa+`"><input type="hidden" name="code" value="C1"/><input type="hidden" name="state" value="S1"/></form></body></html>`)
		b.add("POST", spa, nil, "code=C1&state=S1", 302, loc(spa+"home"), "")
		b.flows[0].Response.Headers = append(b.flows[0].Response.Headers,
			trace.Header{Name: "Set-Cookie", Value: "ESTSAUTH=SESSION-SECRET; path=/; secure; HttpOnly; SameSite=None"},
			trace.Header{Name: "Set-Cookie", Value: "ESTSAUTHPERSISTENT=PERSISTENT-SECRET; max-age=7776000; path=/; secure; HttpOnly; SameSite=None"})
	},
	// MFA by Authenticator push, denied by the user.
	"mfa_phoneappdenied": func(b *fb) {
		b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedTFA","correlationId":"`+corrID+`","sessionId":"`+requestID+`","sPOST_Username":"alice@contoso.example","arrUserProofs":[{"authMethodId":"PhoneAppNotification","isDefault":true},{"authMethodId":"OneWaySMS","isDefault":false}],"serverDetails":{"dc":"WEULR1","ri":"AM1XXXX","rt":"2025-03-01T10:00:00"}};</script>`)
		b.add("POST", entra+"common/SAS/BeginAuth", jsonCT(), `{"AuthMethodId":"PhoneAppNotification","Method":"BeginAuth"}`, 200, ests(),
			`{"Success":true,"ResultValue":"Success","AuthMethodId":"PhoneAppNotification","ErrCode":0,"FlowToken":"FT","SessionId":"`+requestID+`","CorrelationId":"`+corrID+`","Timestamp":"2025-03-01T10:00:01Z"}`)
		b.add("POST", entra+"common/SAS/EndAuth", jsonCT(), `{"AuthMethodId":"PhoneAppNotification","Method":"EndAuth"}`, 200, ests(),
			`{"Success":false,"ResultValue":"PhoneAppDenied","Message":null,"AuthMethodId":"PhoneAppNotification","ErrCode":500121,"Retry":false,"FlowToken":"FT","SessionId":"`+requestID+`","CorrelationId":"`+corrID+`","Timestamp":"2025-03-01T10:00:09Z"}`)
	},
	// The user must register MFA methods first (proof-up interrupt).
	"proofup": func(b *fb) {
		b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedProofUpRedirect","correlationId":"`+corrID+`","sessionId":"`+requestID+`","sPOST_Username":"bob@contoso.example"};</script>`)
	},
	// Azure CLI device-code sign-in, polling until the user finishes.
	"device_code_polling": func(b *fb) {
		b.add("POST", entra+"organizations/oauth2/v2.0/devicecode", nil, "client_id="+azureCLI+"&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default+offline_access+openid+profile", 200, nil,
			`{"user_code":"ABCD1234","device_code":"DEVICECODE-SECRET","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in, use a web browser..."}`)
		for i := 0; i < 3; i++ {
			b.add("POST", entra+"organizations/oauth2/v2.0/token", nil, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id="+azureCLI+"&device_code=DEVICECODE-SECRET", 400, nil,
				`{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.","error_codes":[70016]}`)
		}
		at := fakeJWT(map[string]any{"aud": "https://management.core.windows.net/", "iss": "https://sts.windows.net/" + tenant + "/", "appid": azureCLI, "appidacr": "0",
			"scp": "user_impersonation", "ver": "1.0", "tid": tenant, "upn": "carol@contoso.example", "amr": []string{"pwd", "mfa"}, "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
		b.add("POST", entra+"organizations/oauth2/v2.0/token", nil, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id="+azureCLI+"&device_code=DEVICECODE-SECRET", 200, nil,
			`{"token_type":"Bearer","scope":"https://management.core.windows.net//user_impersonation","expires_in":3599,"access_token":"`+at+`","refresh_token":"RT-SECRET"}`)
	},
	// Continuous access evaluation: the API refuses a token issued before a policy change.
	"cae_challenge": func(b *fb) {
		at := fakeJWT(map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "scp": "User.Read", "ver": "1.0", "tid": tenant, "xms_cc": []string{"CP1"}, "iat": t0.Unix(), "exp": t0.Add(24 * time.Hour).Unix()})
		claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"` + fmt.Sprint(t0.Add(30*time.Second).Unix()) + `"}}}`))
		b.add("GET", "https://graph.microsoft.com/v1.0/me", trace.Headers{{Name: "Authorization", Value: "Bearer " + at}}, "", 401,
			trace.Headers{{Name: "WWW-Authenticate", Value: `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="` + claims + `", error_description="Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenCreatedWithOutdatedPolicies"`}}, `{"error":{"code":"InvalidAuthenticationToken"}}`)
		dec, _ := base64.StdEncoding.DecodeString(claims)
		b.add("GET", authz("&claims="+url.QueryEscape(string(dec))), nil, "", 302, loc(spa+"?code=C1&state=S1"), "")
	},
	// Azure AD B2C: the user clicks "Forgot your password?".
	"b2c_forgot_password": func(b *fb) {
		b.add("GET", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin/oauth2/v2.0/authorize?client_id="+appID+"&response_type=code&redirect_uri="+url.QueryEscape(spa)+"&scope=openid&state=S1&nonce=N1", nil, "", 200, nil, "<html>B2C sign-in page</html>")
		b.add("POST", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin/api/CombinedSigninAndSignup/forgotPassword", nil, "x=1", 302,
			loc(spa+"?error=access_denied&error_description=AADB2C90118%3a+The+user+has+forgotten+their+password.%0d%0aCorrelation+ID%3a+"+corrID+"&state=S1"), "")
	},
	// Azure AD B2C behind a custom domain (Azure Front Door) with the tenant
	// ID in the path: nothing says b2clogin, the custom policy's ID and the
	// x-ms-cpim-* cookies do.
	"b2c_custom_domain": func(b *fb) {
		base := "https://login.contoso.example/" + tenant + "/B2C_1A_signup_signin/"
		b.add("GET", base+"oauth2/v2.0/authorize?client_id="+appID+"&response_type=code&redirect_uri="+url.QueryEscape(spa)+"&scope=openid+offline_access&state=S1&nonce=N1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", nil, "", 200,
			trace.Headers{{Name: "Set-Cookie", Value: "x-ms-cpim-csrf=CSRF-SECRET; domain=login.contoso.example; path=/; SameSite=None; secure"},
				{Name: "Set-Cookie", Value: "x-ms-cpim-trans=TRANS-SECRET; domain=login.contoso.example; path=/; SameSite=None; secure; HttpOnly"}}, "<html>sign-in page of the custom policy</html>")
		cpim := trace.Headers{{Name: "Cookie", Value: "x-ms-cpim-csrf=CSRF-SECRET; x-ms-cpim-trans=TRANS-SECRET"}}
		b.add("POST", base+"SelfAsserted?tx=StateProperties%3DeyJUSUQiOiJ0eDEifQ&p=B2C_1A_signup_signin", cpim,
			"request_type=RESPONSE&signInName=frank%40contoso.example&password=PASSWORD-SECRET", 200, nil, `{"status":"200"}`)
		b.add("GET", base+"api/CombinedSigninAndSignup/confirmed?rememberMe=false&csrf_token=CSRF-SECRET&tx=StateProperties%3DeyJUSUQiOiJ0eDEifQ&p=B2C_1A_signup_signin", cpim, "", 302,
			append(loc(spa+"?state=S1&code=C1"), trace.Header{Name: "Set-Cookie", Value: "x-ms-cpim-sso:" + tenant + "_0=SSO-SECRET; domain=login.contoso.example; path=/; SameSite=None; secure; HttpOnly"}), "")
		idt := fakeJWT(map[string]any{"iss": "https://login.contoso.example/" + tenant + "/v2.0/", "aud": appID, "sub": "f0000000-0000-4000-8000-00000000000f", "tfp": "B2C_1A_signup_signin",
			"name": "Frank", "emails": []string{"frank@contoso.example"}, "nonce": "N1", "ver": "1.0", "iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
		b.add("POST", base+"oauth2/v2.0/token", nil, "grant_type=authorization_code&client_id="+appID+"&code=C1&redirect_uri="+url.QueryEscape(spa)+"&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 200, nil,
			`{"id_token":"`+idt+`","token_type":"Bearer","not_before":`+fmt.Sprint(t0.Unix())+`,"id_token_expires_in":3600,"profile_info":"e30","scope":"openid offline_access","refresh_token":"RT-SECRET","refresh_token_expires_in":86400}`)
	},
	// The app bounces the user back to Entra six times in a few seconds.
	"redirect_loop": func(b *fb) {
		for i := 0; i < 6; i++ {
			st := fmt.Sprintf("L%d", i)
			u := entra + tenant + "/oauth2/authorize?client_id=" + appID + "&response_type=code+id_token&response_mode=form_post&redirect_uri=" + url.QueryEscape(app+"signin-oidc") + "&scope=openid&state=" + st + "&nonce=N" + st
			esctx := ""
			for j := 0; j <= i; j++ {
				esctx += fmt.Sprintf("; esctx-%d=x", j)
			}
			b.add("GET", u, trace.Headers{{Name: "Cookie", Value: "ESTSAUTH=secretsession" + esctx}}, "", 200, ests(),
				`<html><form method="POST" action="`+app+`signin-oidc"><input type="hidden" name="code" value="C`+st+`"/><input type="hidden" name="state" value="`+st+`"/></form></html>`)
			b.add("POST", app+"signin-oidc", nil, "code=C"+st+"&state="+st, 302, loc(app), "")
			b.add("GET", app, nil, "", 302, loc(u), "")
		}
	},
	// Seamless SSO: the browser answers Entra's Negotiate challenge with a Kerberos ticket.
	"seamless_sso": func(b *fb) {
		u := "https://autologon.microsoftazuread-sso.com/contoso.example/winauth/sso?client-request-id=" + corrID
		b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedSignIn","correlationId":"`+corrID+`","sessionId":"`+requestID+`"};</script>`)
		b.add("GET", u, nil, "", 401, trace.Headers{{Name: "WWW-Authenticate", Value: "Negotiate"}}, "")
		b.add("GET", u, trace.Headers{{Name: "Authorization", Value: "Negotiate " + base64.StdEncoding.EncodeToString(spnegoKerberos("CONTOSO.EXAMPLE", "HTTP", "autologon.microsoftazuread-sso.com"))}}, "", 200, nil, "DesktopSsoToken")
	},
	// Seamless SSO without a Kerberos ticket (site not in the intranet zone).
	"seamless_sso_no_ticket": func(b *fb) {
		u := "https://autologon.microsoftazuread-sso.com/contoso.example/winauth/sso?client-request-id=" + corrID
		b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedSignIn","correlationId":"`+corrID+`"};</script>`)
		b.add("GET", u, nil, "", 401, trace.Headers{{Name: "WWW-Authenticate", Value: "Negotiate"}}, "")
	},
	// Entra federates the user's domain to a third-party IdP over SAML 2.0.
	"saml_federation": func(b *fb) {
		req := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_ests1" Version="2.0" IssueInstant="2025-03-01T10:00:01Z" AssertionConsumerServiceURL="https://login.microsoftonline.com/login.srf"><saml:Issuer>urn:federation:MicrosoftOnline</saml:Issuer></samlp:AuthnRequest>`
		b.add("GET", authz("&response_mode=form_post"), nil, "", 302, loc("https://idp.fabrikam.example/sso/saml?SAMLRequest="+url.QueryEscape(samlDeflate(req))+"&RelayState=R"), "")
		b.add("GET", "https://idp.fabrikam.example/sso/saml?SAMLRequest="+url.QueryEscape(samlDeflate(req))+"&RelayState=R", nil, "", 200, nil, "<html>IdP login</html>")
		resp := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r9" Version="2.0" IssueInstant="2025-03-01T10:00:03Z" Destination="https://login.microsoftonline.com/login.srf" InResponseTo="_ests1"><saml:Issuer>https://idp.fabrikam.example/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
			`<saml:Assertion ID="_a9" Version="2.0" IssueInstant="2025-03-01T10:00:03Z"><saml:Issuer>https://idp.fabrikam.example/</saml:Issuer><saml:Subject><saml:NameID>erin@fabrikam.example</saml:NameID></saml:Subject>` +
			`<saml:Conditions NotBefore="2025-03-01T10:00:00Z" NotOnOrAfter="2025-03-01T11:00:00Z"><saml:AudienceRestriction><saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
			`<saml:AuthnStatement AuthnInstant="2025-03-01T10:00:02Z"><saml:AuthnContext><saml:AuthnContextClassRef>http://schemas.microsoft.com/claims/multipleauthn</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement></saml:Assertion></samlp:Response>`
		b.add("POST", entra+"login.srf", trace.Headers{{Name: "Referer", Value: "https://idp.fabrikam.example/"}}, "SAMLResponse="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(resp)))+"&RelayState=R", 200, nil,
			`<html><body onload="document.forms[0].submit()"><form method="POST" action="`+spa+`"><input type="hidden" name="code" value="C1"/><input type="hidden" name="state" value="S1"/></form></body></html>`)
		b.add("POST", spa, nil, "code=C1&state=S1", 302, loc(spa+"home"), "")
	},
	// Entra sends a federated user to AD FS, which signs them in with NTLM
	// (Kerberos unavailable) and posts a SAML 1.1 token back to login.srf.
	"adfs_ntlm": func(b *fb) {
		wctx := "estsredirect=2&estsrequest=rQQIARAAabc"
		b.add("GET", authz("&response_mode=form_post"), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedSignIn","correlationId":"`+corrID+`","sessionId":"`+requestID+`"};</script>`)
		b.add("POST", entra+"common/GetCredentialType", jsonCT(), `{"username":"dave@contoso.example"}`, 200, nil,
			`{"Username":"dave@contoso.example","IfExistsResult":0,"Credentials":{"HasPassword":true,"FederationRedirectUrl":"`+adfs+`?username=dave%40contoso.example&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=`+url.QueryEscape(wctx)+`"},"EstsProperties":{"DesktopSsoEnabled":false}}`)
		fedURL := adfs + "?username=dave%40contoso.example&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=" + url.QueryEscape(wctx)
		ref := trace.Headers{{Name: "Referer", Value: "https://login.microsoftonline.com/"}}
		b.add("GET", fedURL, ref, "", 401, trace.Headers{{Name: "WWW-Authenticate", Value: "Negotiate"}, {Name: "WWW-Authenticate", Value: "NTLM"}}, "")
		b.add("GET", fedURL, append(ref, trace.Header{Name: "Authorization", Value: "Negotiate " + base64.StdEncoding.EncodeToString(spnegoNTLM(ntlmNegotiate()))}), "", 401,
			trace.Headers{{Name: "WWW-Authenticate", Value: "Negotiate " + base64.StdEncoding.EncodeToString(ntlmChallenge())}}, "")
		b.add("GET", fedURL, append(ref, trace.Header{Name: "Authorization", Value: "Negotiate " + base64.StdEncoding.EncodeToString(ntlmAuthenticate("CONTOSO", "dave", "DAVE-PC"))}), "", 200, nil,
			`<html><form method="POST" action="https://login.microsoftonline.com/login.srf"><input type="hidden" name="wa" value="wsignin1.0"/></form></html>`)
		b.add("POST", entra+"login.srf", trace.Headers{{Name: "Referer", Value: "https://sts.contoso.example/"}},
			"wa=wsignin1.0&wresult="+url.QueryEscape(adfsRSTR())+"&wctx="+url.QueryEscape(wctx), 200, nil,
			`<html><body onload="document.forms[0].submit()"><form method="POST" action="`+spa+`"><input type="hidden" name="code" value="C1"/><input type="hidden" name="state" value="S1"/></form></body></html>`)
		b.add("POST", spa, trace.Headers{{Name: "Referer", Value: "https://login.microsoftonline.com/"}}, "code=C1&state=S1", 302, loc(spa+"home"), "")
	},
}

func jsonCT() trace.Headers {
	return trace.Headers{{Name: "Content-Type", Value: "application/json"}}
}

// ests returns the headers Entra puts on its answers.
func ests() trace.Headers {
	return trace.Headers{{Name: "x-ms-request-id", Value: requestID}, {Name: "x-ms-ests-server", Value: "2.1.20000.1 - WEULR1 ProdSlices"}}
}

func adfsRSTR() string {
	tok := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="_fed1" Issuer="http://sts.contoso.example/adfs/services/trust" IssueInstant="2025-03-01T10:00:04.000Z">` +
		`<saml:Conditions NotBefore="2025-03-01T10:00:04.000Z" NotOnOrAfter="2025-03-01T11:00:04.000Z"><saml:AudienceRestrictionCondition><saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>` +
		`<saml:AttributeStatement><saml:Subject><saml:NameIdentifier Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">Zm9vYmFyMTIzNA==</saml:NameIdentifier></saml:Subject>` +
		`<saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims"><saml:AttributeValue>dave@contoso.example</saml:AttributeValue></saml:Attribute>` +
		`<saml:Attribute AttributeName="authnmethodsreferences" AttributeNamespace="http://schemas.microsoft.com/claims"><saml:AttributeValue>http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/windows</saml:AttributeValue><saml:AttributeValue>http://schemas.microsoft.com/claims/multipleauthn</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
		`<saml:AuthenticationStatement AuthenticationMethod="urn:federation:authentication:windows" AuthenticationInstant="2025-03-01T10:00:03.000Z"><saml:Subject><saml:NameIdentifier>Zm9vYmFyMTIzNA==</saml:NameIdentifier></saml:Subject></saml:AuthenticationStatement></saml:Assertion>`
	return `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
		`<t:RequestedSecurityToken>` + tok + `</t:RequestedSecurityToken><t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType></t:RequestSecurityTokenResponse>`
}

// ---- NTLM and SPNEGO messages (MS-NLMP, RFC 4178 layouts) ----

func u16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

func ntlmNegotiate() []byte {
	b := append([]byte("NTLMSSP\x00"), 1, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 0xa2088207)
	return append(b, make([]byte, 16)...)
}

func ntlmChallenge() []byte {
	var ti []byte
	for _, av := range []struct {
		id uint16
		v  string
	}{{2, "CONTOSO"}, {1, "ADFS01"}, {4, "contoso.example"}, {3, "adfs01.contoso.example"}} {
		ti = binary.LittleEndian.AppendUint16(ti, av.id)
		ti = binary.LittleEndian.AppendUint16(ti, uint16(len(u16le(av.v))))
		ti = append(ti, u16le(av.v)...)
	}
	ti = append(ti, 0, 0, 0, 0)
	target := u16le("CONTOSO")
	c := make([]byte, 48)
	copy(c, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(c[8:], 2)
	binary.LittleEndian.PutUint16(c[12:], uint16(len(target)))
	binary.LittleEndian.PutUint32(c[16:], 48)
	binary.LittleEndian.PutUint32(c[20:], 0x00800001)
	binary.LittleEndian.PutUint16(c[40:], uint16(len(ti)))
	binary.LittleEndian.PutUint32(c[44:], uint32(48+len(target)))
	return append(append(c, target...), ti...)
}

func ntlmAuthenticate(domain, user, ws string) []byte {
	b := make([]byte, 64)
	copy(b, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(b[8:], 3)
	binary.LittleEndian.PutUint32(b[60:], 0x00080201)
	put := func(at int, v []byte) {
		binary.LittleEndian.PutUint16(b[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
		b = append(b, v...)
	}
	put(12, make([]byte, 24))
	put(20, bytes.Repeat([]byte{7}, 96))
	put(28, u16le(domain))
	put(36, u16le(user))
	put(44, u16le(ws))
	return b
}

func der(tag byte, parts ...[]byte) []byte {
	var c []byte
	for _, p := range parts {
		c = append(c, p...)
	}
	n := len(c)
	switch {
	case n < 128:
		return append([]byte{tag, byte(n)}, c...)
	case n < 256:
		return append([]byte{tag, 0x81, byte(n)}, c...)
	}
	return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, c...)
}

func derOID(o asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(o); return b }
func derInt(n int) []byte                   { b, _ := asn1.Marshal(n); return b }

var (
	oidSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	oidKRB5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	oidNTLM   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

func spnegoNTLM(msg []byte) []byte {
	return der(0x60, derOID(oidSPNEGO), der(0xa0, der(0x30, der(0xa0, der(0x30, derOID(oidNTLM))), der(0xa2, der(0x04, msg)))))
}

func spnegoKerberos(realm string, sname ...string) []byte {
	var names [][]byte
	for _, n := range sname {
		names = append(names, der(0x1b, []byte(n)))
	}
	ticket := der(0x61, der(0x30, der(0xa0, derInt(5)), der(0xa1, der(0x1b, []byte(realm))),
		der(0xa2, der(0x30, der(0xa0, derInt(2)), der(0xa1, der(0x30, names...)))),
		der(0xa3, der(0x30, der(0xa0, derInt(18)), der(0xa2, der(0x04, []byte("TICKET-CIPHERTEXT")))))))
	ap := der(0x6e, der(0x30, der(0xa0, derInt(5)), der(0xa1, derInt(14)), der(0xa2, der(0x03, []byte{0, 0, 0, 0, 0})), der(0xa3, ticket),
		der(0xa4, der(0x30, der(0xa0, derInt(18)), der(0xa2, der(0x04, []byte("AUTHENTICATOR")))))))
	krb := der(0x60, derOID(oidKRB5), []byte{1, 0}, ap)
	return der(0x60, derOID(oidSPNEGO), der(0xa0, der(0x30, der(0xa0, der(0x30, derOID(oidKRB5), derOID(oidNTLM))), der(0xa2, der(0x04, krb)))))
}

// ---- fixture files ----

func writeFixtureHAR(t *testing.T, path string, flows []*trace.Flow) {
	t.Helper()
	meta := &trace.Meta{Format: "har", Version: "1.2", Creator: trace.Software{Name: "idtrace synthetic fixture", Version: "1"},
		Comment: "Synthetic: built by hand from documented message shapes for idtrace's tests; not a capture. All names, IDs and addresses are made up."}
	var buf bytes.Buffer
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		f.Time, f.Timings = trace.NA, trace.NoTimings()
		f.Request.HeadersSize, f.Request.BodySize = -1, -1
		if f.Request.HasBody && f.Request.MimeType == "" {
			f.Request.MimeType = f.Request.Headers.Get("Content-Type")
		}
		if f.Response != nil {
			f.Response.Size, f.Response.HeadersSize, f.Response.BodySize = -1, -1, -1
		}
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthetic analyses testdata/synthetic/name.har (rewritten from cases
// with -update) and returns the report and its text and Markdown forms.
func synthetic(t *testing.T, name string) (*Report, string) {
	t.Helper()
	path := filepath.Join("testdata", "synthetic", name+".har")
	if *update {
		var b fb
		cases[name](&b)
		writeFixtureHAR(t, path, b.flows)
	}
	rep := analyzeFile(t, path)
	var txt, md, js bytes.Buffer
	if err := WriteTextWith(&txt, rep, RenderOptions{ExplainClaims: true}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	checkMarkdown(t, name, md.Bytes())
	all := txt.String() + md.String() + js.String()
	for _, secret := range []string{"SESSION-SECRET", "PERSISTENT-SECRET", "SECRET-PRT-SHOULD-NEVER-SHOW", "DEVICECODE-SECRET", "RT-SECRET", "secretsession", "TICKET-CIPHERTEXT", "AUTHENTICATOR", "PASSWORD-SECRET", "CSRF-SECRET", "TRANS-SECRET", "SSO-SECRET"} {
		if strings.Contains(all, secret) {
			t.Errorf("%s: a secret value of the trace is in the report", name)
		}
	}
	if m := rawTokenRE.FindString(all); m != "" {
		t.Errorf("%s: a raw token is in the report", name)
	}
	return rep, txt.String()
}

func findingCodes(r *Report) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range r.Findings {
		m[f.Code] = f
	}
	return m
}

func TestSyntheticCases(t *testing.T) {
	t.Run("prt_sso", func(t *testing.T) {
		r, _ := synthetic(t, "prt_sso")
		fc := findingCodes(r)
		if _, ok := fc["prt_cookie_sent"]; !ok {
			t.Errorf("no prt_cookie_sent finding: %v", fc)
		}
		if len(r.Tokens) != 1 || r.Tokens[0].Kind != "prt_cookie" || len(r.Flows) != 1 || r.Flows[0].Result != ResultSuccess {
			t.Errorf("tokens %+v flows %+v", r.Tokens, r.Flows)
		}
		if d := r.Flows[0].Steps[0].Detail; !strings.Contains(d, "ESTSAUTH (session)") || !strings.Contains(d, "ESTSAUTHPERSISTENT (for 90 days)") {
			t.Errorf("ESTS cookies: step detail %q", d)
		}
	})
	t.Run("mfa_phoneappdenied", func(t *testing.T) {
		r, txt := synthetic(t, "mfa_phoneappdenied")
		fc := findingCodes(r)
		f, ok := fc["mfa_failed.aadsts500121"]
		if !ok || f.Severity != SeverityError || !strings.Contains(f.Detail, "PhoneAppDenied") || !strings.Contains(f.Detail, "Deny") {
			t.Errorf("MFA denial not reported: %+v", r.Findings)
		}
		if len(r.Verdict) != 1 || r.Verdict[0].Code != "AADSTS500121" || r.Verdict[0].CorrelationID != corrID || r.Verdict[0].RequestID != requestID || r.Verdict[0].User != "alice@contoso.example" {
			t.Errorf("verdict %+v", r.Verdict)
		}
		if !strings.Contains(txt, "PhoneAppNotification, OneWaySMS") {
			t.Errorf("MFA methods of the page not shown")
		}
	})
	t.Run("proofup", func(t *testing.T) {
		r, _ := synthetic(t, "proofup")
		if _, ok := findingCodes(r)["mfa_registration_required"]; !ok {
			t.Errorf("findings %+v", r.Findings)
		}
	})
	t.Run("device_code_polling", func(t *testing.T) {
		r, _ := synthetic(t, "device_code_polling")
		if len(r.Flows) != 1 {
			t.Fatalf("sign-ins %+v", r.Flows)
		}
		s := r.Flows[0]
		if s.Grant != "device_code" || s.Result != ResultSuccess || s.ClientName != "Microsoft Azure CLI" || len(s.Steps) != 5 {
			t.Errorf("device-code sign-in %+v", s)
		}
		for _, st := range s.Steps[1:4] {
			if !strings.Contains(st.Detail, "waiting for the user") {
				t.Errorf("poll %d not told as waiting: %q", st.FlowID, st.Detail)
			}
		}
		for _, f := range r.Findings {
			if f.Severity != SeverityInfo {
				t.Errorf("polling reported as a problem: %+v", f)
			}
		}
		if len(r.Verdict) != 0 {
			t.Errorf("verdict %+v", r.Verdict)
		}
	})
	t.Run("cae_challenge", func(t *testing.T) {
		r, _ := synthetic(t, "cae_challenge")
		fc := findingCodes(r)
		f, ok := fc["api_claims_challenge"]
		if !ok || !strings.Contains(f.Detail, "changed") || !strings.Contains(f.Detail, "nbf") {
			t.Errorf("CAE challenge %+v", f)
		}
		if c, ok := fc["claims_requested"]; !ok || !strings.Contains(c.Detail, "nbf") {
			t.Errorf("the replayed claims parameter is not explained: %+v", fc)
		}
	})
	t.Run("b2c_forgot_password", func(t *testing.T) {
		r, _ := synthetic(t, "b2c_forgot_password")
		fc := findingCodes(r)
		f, ok := fc["b2c_user_signal.aadb2c90118"]
		if !ok || f.Severity != SeverityInfo {
			t.Errorf("findings %+v", r.Findings)
		}
		if len(r.Verdict) != 0 || len(r.Flows) != 1 || r.Flows[0].Policy != "B2C_1_signupsignin" || r.Flows[0].Result == ResultError {
			t.Errorf("verdict %+v flows %+v", r.Verdict, r.Flows)
		}
		if _, ok := fc["incomplete_signin"]; ok {
			t.Error("a user's choice reported as an incomplete sign-in")
		}
	})
	t.Run("b2c_custom_domain", func(t *testing.T) {
		r, txt := synthetic(t, "b2c_custom_domain")
		if len(r.Flows) != 1 {
			t.Fatalf("%d sign-ins, want one: %+v", len(r.Flows), r.Flows)
		}
		s := r.Flows[0]
		if !s.B2C || s.Policy != "B2C_1A_signup_signin" || s.IdP != "login.contoso.example" || s.Result != ResultSuccess || len(s.Steps) != 4 {
			t.Errorf("sign-in %+v", s)
		}
		if s.User != "frank@contoso.example" || len(r.Tokens) != 1 || !strings.Contains(fmt.Sprint(r.Tokens[0].Summary), "tfp B2C_1A_signup_signin") {
			t.Errorf("user %q from the B2C token's emails; token summary %v", s.User, r.Tokens)
		}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, r); err != nil || !strings.Contains(md.String(), "as login.contoso.example (Azure AD B2C identity provider)") {
			t.Errorf("the Mermaid diagram does not name B2C (%v):\n%s", err, md.String())
		}
		if !strings.Contains(txt, "login.contoso.example (Azure AD B2C, custom domain)") {
			t.Errorf("the text report does not name B2C behind the custom domain:\n%s", txt)
		}
		if len(r.Verdict) != 0 {
			t.Errorf("verdict %+v", r.Verdict)
		}
	})
	t.Run("redirect_loop", func(t *testing.T) {
		r, _ := synthetic(t, "redirect_loop")
		f, ok := findingCodes(r)["signin_loop"]
		if !ok || !strings.Contains(f.Title, "6 cycles") || !strings.Contains(f.Detail, "grew from 1 on the first cycle to 6 on the last, over 6 cycles") ||
			!strings.Contains(f.Detail, "One cycle: GET login.microsoftonline.com/"+tenant+"/oauth2/authorize (200) → POST app.contoso.example/signin-oidc (302) → GET app.contoso.example/ (302), then the next authorize request.") || len(f.FlowIDs) != 6 {
			t.Errorf("loop finding %+v", f)
		}
		if len(r.Verdict) != 1 || r.Verdict[0].Code != "loop" || r.Verdict[0].RequestID != requestID || r.Verdict[0].App != appID {
			t.Errorf("the loop is not in the verdict: %+v", r.Verdict)
		}
	})
	t.Run("seamless_sso", func(t *testing.T) {
		r, _ := synthetic(t, "seamless_sso")
		s := r.Flows[0]
		var kinds []string
		svc := ""
		for _, w := range s.WindowsAuth {
			kinds = append(kinds, w.Kind)
			for _, kv := range w.Facts {
				if kv.Key == "service" {
					svc = kv.Value
				}
			}
		}
		if len(r.Flows) != 1 || !strings.Contains(strings.Join(kinds, ","), "seamless_sso") || !strings.Contains(strings.Join(kinds, ","), "kerberos") || svc != "HTTP/autologon.microsoftazuread-sso.com" {
			t.Errorf("Seamless SSO %+v", s)
		}
		if _, ok := findingCodes(r)["seamless_sso_no_ticket"]; ok {
			t.Error("ticket sent but reported missing")
		}
		r, _ = synthetic(t, "seamless_sso_no_ticket")
		if _, ok := findingCodes(r)["seamless_sso_no_ticket"]; !ok {
			t.Errorf("findings %+v", r.Findings)
		}
	})
	t.Run("saml_federation", func(t *testing.T) {
		r, txt := synthetic(t, "saml_federation")
		if len(r.Flows) != 1 {
			t.Fatalf("the SAML federation hop made %d sign-ins: %s", len(r.Flows), txt)
		}
		s := r.Flows[0]
		if s.Federation == nil || s.Federation.Protocol != "saml" || s.Federation.Host != "idp.fabrikam.example" || s.Federation.Subject != "erin@fabrikam.example" ||
			!s.Federation.MFA || s.RedirectURI != spa || len(s.Steps) != 4 {
			t.Errorf("federation %+v sign-in %+v", s.Federation, s)
		}
		// The fixture's response is unsigned: its signature check still runs on the hop.
		if _, ok := findingCodes(r)["saml_unsigned"]; !ok || s.Result != ResultError {
			t.Errorf("the federated IdP's unsigned response was not checked: %+v", r.Findings)
		}
		for _, f := range r.Findings {
			if strings.HasPrefix(f.Code, "saml_wrong_audience") || strings.HasPrefix(f.Code, "saml_unsolicited") {
				t.Errorf("unexpected finding %+v", f)
			}
		}
	})
	t.Run("adfs_ntlm", func(t *testing.T) {
		r, txt := synthetic(t, "adfs_ntlm")
		if len(r.Flows) != 1 {
			t.Fatalf("the federation hop made %d sign-ins: %s", len(r.Flows), txt)
		}
		s := r.Flows[0]
		if s.Federation == nil || s.Federation.Host != "sts.contoso.example" || s.Federation.Subject != "Zm9vYmFyMTIzNA==" || !s.Federation.MFA ||
			!strings.Contains(s.Federation.Issuer, "sts.contoso.example") || s.Result != ResultSuccess {
			t.Errorf("federation %+v result %s", s.Federation, s.Result)
		}
		fc := findingCodes(r)
		if _, ok := fc["negotiate_fell_back_to_ntlm"]; !ok {
			t.Errorf("NTLM fallback not reported: %v", fc)
		}
		for code := range fc {
			if strings.HasPrefix(code, "incomplete") || strings.HasPrefix(code, "saml_wrong_audience") {
				t.Errorf("unexpected finding %s", code)
			}
		}
		if !strings.Contains(txt, `CONTOSO\dave`) || !strings.Contains(txt, "adfs01.contoso.example") {
			t.Errorf("NTLM user or server not shown:\n%s", txt)
		}
	})
}

// FuzzAnalyzeEntraPieces feeds hostile Windows-auth headers, MFA answers,
// claims parameters and sign-in pages through the analyzer and checks that
// every report renders and that the Markdown stays well formed.
func FuzzAnalyzeEntraPieces(f *testing.F) {
	f.Add("NTLM "+base64.StdEncoding.EncodeToString(ntlmAuthenticate("D", "u", "w")), "Negotiate "+base64.StdEncoding.EncodeToString(ntlmChallenge()),
		`{"Success":false,"ResultValue":"PhoneAppDenied","ErrCode":500121}`, `{"id_token":{"xms_rp_ipaddr":{"value":"1.2.3.4"}}}`, `<script>$Config={"pgid":"ConvergedTFA","sErrorCode":"50196","sErrTxt":"x"};</script>`)
	f.Add("Negotiate "+base64.StdEncoding.EncodeToString(spnegoKerberos("R", "HTTP", "h")), "Negotiate", `{}`, `!!`, `<b>|</b>`)
	f.Fuzz(func(t *testing.T, authz, wwwAuth, sas, claims, page string) {
		b := &fb{}
		b.add("GET", authz2(claims), trace.Headers{{Name: "Cookie", Value: "esctx-1=a; x-ms-RefreshTokenCredential=" + page}}, "", 200, ests(), page)
		b.add("POST", entra+"common/SAS/EndAuth", jsonCT(), "{}", 200, nil, sas)
		b.add("GET", "https://sts.contoso.example/adfs/ls/?wa=wsignin1.0&wctx=estsredirect%3d2", trace.Headers{{Name: "Authorization", Value: authz}}, "", 401,
			trace.Headers{{Name: "WWW-Authenticate", Value: wwwAuth}}, "")
		b.add("GET", "https://autologon.microsoftazuread-sso.com/x/winauth/sso", trace.Headers{{Name: "Authorization", Value: authz}}, "", 401,
			trace.Headers{{Name: "WWW-Authenticate", Value: wwwAuth}}, page)
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out, md bytes.Buffer
		if err := WriteJSON(&out, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteTextWith(&out, r, RenderOptions{ExplainClaims: true}); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		checkMarkdown(t, "fuzz", md.Bytes())
	})
}

func authz2(claims string) string { return authz("&claims=" + url.QueryEscape(claims)) }
