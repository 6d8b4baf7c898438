// Command gen writes internal/sample/demo.har, the synthetic trace behind
// `idtrace demo`: a single-page app signing a user in to Entra ID with the
// authorization code flow and PKCE, an MFA step, a token redemption, a Graph
// call, and a second sign-in that fails for want of admin consent.
//
// Run from the repository root: go run ./internal/sample/gen
// Every identifier is made up; tokens are signed with a key generated on the
// spot whose private half is discarded.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/trace"
)

const (
	tenant   = "8e0f3b4c-5d6a-4b7c-9e1f-2a3b4c5d6e7f" // made up
	clientID = "5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d" // "Contoso Expenses" (made up)
	app      = "https://expenses.contoso.example"
	login    = "https://login.microsoftonline.com"
	kid      = "demo-key-1"
	user     = "adele@contoso.example"
)

var (
	t0  = time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("", 3600))
	key *rsa.PrivateKey
	seq int
	out []*trace.Flow
)

func main() {
	var err error
	if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		log.Fatal(err)
	}
	verifier := "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	state, nonce := "b3a7c1d2e4f5", "n-0S6_WzA2Mj"
	redirect := app + "/auth/callback"

	// 1. The app page.
	add("GET", app+"/", nil, nil, 200, hdr("Content-Type", "text/html; charset=utf-8"),
		`<!doctype html><title>Contoso Expenses</title><div id="root"></div><script src="/app.js"></script>`, 12, 35)
	// 2. Discovery and keys, fetched by MSAL.js.
	disc := fmt.Sprintf(`{"issuer":"%[1]s/%[2]s/v2.0","authorization_endpoint":"%[1]s/%[2]s/oauth2/v2.0/authorize","token_endpoint":"%[1]s/%[2]s/oauth2/v2.0/token","jwks_uri":"%[1]s/%[2]s/discovery/v2.0/keys","response_modes_supported":["query","fragment","form_post"],"id_token_signing_alg_values_supported":["RS256"]}`, login, tenant)
	add("GET", login+"/"+tenant+"/v2.0/.well-known/openid-configuration", hdr("Origin", app), nil, 200, hdr("Content-Type", "application/json; charset=utf-8", "Access-Control-Allow-Origin", "*"), disc, 20, 48)
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
	add("GET", login+"/"+tenant+"/discovery/v2.0/keys", hdr("Origin", app), nil, 200, hdr("Content-Type", "application/json; charset=utf-8"), string(jwks), 15, 40)

	// 3. Authorize: the user is not signed in, so the sign-in page answers.
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"openid profile offline_access User.Read"}, "response_mode": {"fragment"},
		"state": {state}, "nonce": {nonce}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"login_hint": {user}, "client_info": {"1"},
	}
	authz := login + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
	add("GET", authz, hdr("Referer", app+"/"), nil, 200,
		hdr("Content-Type", "text/html; charset=utf-8", "Set-Cookie", "buid=0.demo-buid; path=/; secure; HttpOnly; SameSite=None", "Set-Cookie", "esctx=demo-esctx; domain=.login.microsoftonline.com; path=/; secure; HttpOnly; SameSite=None"),
		`<!DOCTYPE html><html><head><title>Sign in to your account</title><script>//<![CDATA[
$Config={"sFT":"demo-flow-token","urlPost":"/`+tenant+`/login","sCtx":"demo-ctx","iErrorCode":0,"sPOST_Username":"`+user+`"};
//]]></script></head><body></body></html>`, 60, 180)
	// 4. The password is accepted; MFA is required (AADSTS50076 interrupt).
	add("POST", login+"/"+tenant+"/login", hdr("Content-Type", "application/x-www-form-urlencoded", "Origin", login, "Cookie", "buid=0.demo-buid; esctx=demo-esctx"),
		[]byte("login="+url.QueryEscape(user)+"&passwd=Demo-Passw0rd!&ctx=demo-ctx&flowToken=demo-flow-token"), 200,
		hdr("Content-Type", "text/html; charset=utf-8"),
		`<!DOCTYPE html><html><head><title>Verify your identity</title><script>//<![CDATA[
$Config={"sFT":"demo-flow-token-2","urlBeginAuth":"/common/SAS/BeginAuth","urlEndAuth":"/common/SAS/EndAuth","urlPost":"/common/SAS/ProcessAuth","iErrorCode":50076,"strServiceExceptionMessage":"AADSTS50076: Multi-factor authentication is required before this resource can be used (demo text).","arrUserProofs":[{"authMethodId":"PhoneAppNotification","isDefault":true,"display":"+X XXXXXXXX12"}]};
//]]></script></head><body></body></html>`, 90, 410)
	add("POST", login+"/common/SAS/BeginAuth", hdr("Content-Type", "application/json", "Origin", login),
		[]byte(`{"AuthMethodId":"PhoneAppNotification","Method":"BeginAuth","ctx":"demo-ctx","flowToken":"demo-flow-token-2"}`), 200,
		hdr("Content-Type", "application/json; charset=utf-8"), `{"Success":true,"ResultValue":"Success","Message":null,"AuthMethodId":"PhoneAppNotification","ErrCode":0,"SessionId":"demo-sas-session","FlowToken":"demo-flow-token-3"}`, 30, 220)
	add("POST", login+"/common/SAS/EndAuth", hdr("Content-Type", "application/json", "Origin", login),
		[]byte(`{"Method":"EndAuth","SessionId":"demo-sas-session","FlowToken":"demo-flow-token-3","Ctx":"demo-ctx","AuthMethodId":"PhoneAppNotification","PollCount":1}`), 200,
		hdr("Content-Type", "application/json; charset=utf-8"), `{"Success":true,"ResultValue":"Success","Message":null,"AuthMethodId":"PhoneAppNotification","ErrCode":0,"FlowToken":"demo-flow-token-4"}`, 4000, 240)
	code := "0.AXkA-demo-authorization-code-not-real"
	add("POST", login+"/common/SAS/ProcessAuth", hdr("Content-Type", "application/x-www-form-urlencoded", "Origin", login),
		[]byte("type=22&request=demo-ctx&mfaAuthMethod=PhoneAppNotification&flowToken=demo-flow-token-4"), 302,
		hdr("Location", redirect+"#code="+code+"&client_info=eyJ1aWQiOiJkZW1vIiwidXRpZCI6ImRlbW8ifQ&state="+state+"&session_state=demo-session",
			"Set-Cookie", "ESTSAUTH=demo-estsauth-not-a-real-cookie; path=/; secure; HttpOnly; SameSite=None",
			"Set-Cookie", "ESTSAUTHPERSISTENT=demo-persistent-not-real; expires=Sat, 13-Jun-2026 08:27:30 GMT; path=/; secure; HttpOnly; SameSite=None"), "", 40, 150)

	// 5. The SPA redeems the code with PKCE (a public client: no secret).
	now := at(0)
	idt := sign(map[string]any{"ver": "2.0", "iss": login + "/" + tenant + "/v2.0", "sub": "AAAAAAAAAAAAAAAAAAAAAAdemo-sub", "aud": clientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "name": "Adele Vance", "preferred_username": user,
		"oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": tenant, "nonce": nonce, "aio": "demo-aio", "rh": "0.demo-rh", "uti": "demo-uti-1"})
	access := sign(map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "iss": "https://sts.windows.net/" + tenant + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(75 * time.Minute).Unix(), "acr": "1", "amr": []string{"pwd", "mfa"},
		"app_displayname": "Contoso Expenses", "appid": clientID, "appidacr": "0", "idtyp": "user", "ipaddr": "203.0.113.7",
		"name": "Adele Vance", "oid": "00000000-0000-0000-66f3-3332eca7ea81", "scp": "openid profile User.Read email", "sub": "demo-sub-graph",
		"tid": tenant, "unique_name": user, "upn": user, "uti": "demo-uti-2", "ver": "1.0", "wids": []string{"b79fbf4d-3ef9-4689-8143-76b194e85509"}})
	tokenBody := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"openid profile offline_access User.Read"},
		"code": {code}, "code_verifier": {verifier}, "grant_type": {"authorization_code"}, "client_info": {"1"}}
	tokResp, _ := json.Marshal(map[string]any{"token_type": "Bearer", "scope": "openid profile User.Read email", "expires_in": 4499, "ext_expires_in": 4499,
		"access_token": access, "refresh_token": "1.AXkA-demo-refresh-token-not-real", "id_token": idt, "client_info": "eyJ1aWQiOiJkZW1vIiwidXRpZCI6ImRlbW8ifQ"})
	add("POST", login+"/"+tenant+"/oauth2/v2.0/token", hdr("Content-Type", "application/x-www-form-urlencoded;charset=utf-8", "Origin", app),
		[]byte(tokenBody.Encode()), 200, hdr("Content-Type", "application/json; charset=utf-8", "Access-Control-Allow-Origin", app), string(tokResp), 80, 210)
	// 6. The access token at work.
	add("GET", "https://graph.microsoft.com/v1.0/me", hdr("Authorization", "Bearer "+access, "Origin", app), nil, 200,
		hdr("Content-Type", "application/json;odata.metadata=minimal;charset=utf-8"),
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","displayName":"Adele Vance","mail":"`+user+`","userPrincipalName":"`+user+`","id":"00000000-0000-0000-66f3-3332eca7ea81"}`, 35, 120)

	// 7. A second sign-in, for an API the tenant admin never consented to.
	q2 := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"https://api.fabrikam.example/Expenses.ReadWrite.All"}, "response_mode": {"fragment"},
		"state": {"c9d8e7f6a5b4"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "prompt": {"none"}}
	add("GET", login+"/"+tenant+"/oauth2/v2.0/authorize?"+q2.Encode(), hdr("Cookie", "ESTSAUTH=demo-estsauth-not-a-real-cookie"), nil, 302,
		hdr("Location", redirect+"#error=consent_required&error_description="+url.QueryEscape("AADSTS65001: No consent has been given for application '"+clientID+"' (Contoso Expenses) to use this API (demo text).\r\nTrace ID: 0b6c0c07-demo-trace\r\nCorrelation ID: 4d2f8a10-demo-correlation\r\nTimestamp: 2026-03-14 08:28:10Z")+"&state=c9d8e7f6a5b4"), "", 45, 160)

	w := bufio.NewWriter(must(os.Create("internal/sample/demo.har")))
	meta := &trace.Meta{Creator: trace.Software{Name: "idtrace sample generator", Version: "1"}, Comment: "Synthetic sign-in made by idtrace (internal/sample/gen). Every name, ID, token and cookie in it is made up."}
	hw := har.NewWriter(w, meta)
	for _, f := range out {
		if err := hw.WriteFlow(f); err != nil {
			log.Fatal(err)
		}
	}
	if err := hw.Close(meta); err != nil {
		log.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
}

func must(f *os.File, err error) *os.File {
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func hdr(kv ...string) trace.Headers {
	var h trace.Headers
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, trace.Header{Name: kv[i], Value: kv[i+1]})
	}
	return h
}

// at is the time of the next flow plus d.
func at(d time.Duration) time.Time { return t0.Add(time.Duration(seq)*1200*time.Millisecond + d) }

func add(method, u string, reqH trace.Headers, body []byte, status int, respH trace.Headers, respBody string, wait, total float64) {
	seq++
	host := u[strings.Index(u, "://")+3:]
	host = host[:strings.IndexAny(host+"/", "/")]
	rh := append(trace.Headers{{Name: "Host", Value: host}, {Name: "User-Agent", Value: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0"}}, reqH...)
	f := &trace.Flow{ID: seq, Started: at(0), Time: total, PageRef: "page_1",
		Request:    &trace.Request{Method: method, URL: u, Proto: "HTTP/2", Headers: rh, Body: body, HasBody: body != nil, HeadersSize: trace.Unknown, BodySize: int64(len(body))},
		Timings:    trace.Timings{Blocked: 1, DNS: trace.NA, Connect: trace.NA, SSL: trace.NA, Send: 0.2, Wait: wait, Receive: total - wait - 1.2},
		ServerAddr: "20.190.160.1",
	}
	if body != nil {
		f.Request.MimeType = reqH.Get("Content-Type")
	}
	reason := map[int]string{200: "OK", 302: "Found"}[status]
	f.Response = &trace.Response{Status: status, Reason: reason, Proto: "HTTP/2", Headers: respH, Body: []byte(respBody),
		MimeType: respH.Get("Content-Type"), Size: int64(len(respBody)), RedirectURL: respH.Get("Location"), HeadersSize: trace.Unknown, BodySize: int64(len(respBody))}
	out = append(out, f)
}

func sign(claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		log.Fatal(err)
	}
	c, _ := obj.CompactSerialize()
	return c
}
