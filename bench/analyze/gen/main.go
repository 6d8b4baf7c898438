// Command gen writes a large synthetic HAR full of Entra-style sign-ins for
// the analyze benchmark (bench/analyze/run.sh). Everything in it is made up:
// tenants, users, apps and keys are generated; tokens are signed with a key
// generated at each run, published in the trace's own JWKS response.
//
//	go run ./bench/analyze/gen -size 200 -o big.har
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/trace"
)

const (
	tenant = "00000000-1111-2222-3333-444444444444"
	client = "4765445b-32c6-49b0-83e6-1d93765276ca" // a first-party app ID (public fact), so client_name resolves
	spa    = "https://app.example.test/"
)

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func main() {
	sizeMB := flag.Int("size", 200, "stop after writing this many MB")
	out := flag.String("o", "big.har", "output file")
	flag.Parse()
	if err := run(*sizeMB, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(sizeMB int, path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "bench-key"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return err
	}
	sign := func(claims map[string]any) string {
		b, _ := json.Marshal(claims)
		obj, err := signer.Sign(b)
		if err != nil {
			panic(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "bench-key", Use: "sig", Algorithm: "RS256"}}})

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &counter{w: bw}
	meta := &trace.Meta{Format: "har", Version: "1.2", Creator: trace.Software{Name: "idtrace-bench-gen", Version: "1"}}
	w := har.NewWriter(cw, meta)
	t := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	id := 0
	add := func(method, u string, reqH trace.Headers, reqBody string, status int, respH trace.Headers, mime, respBody string) error {
		id++
		t = t.Add(150 * time.Millisecond)
		fl := &trace.Flow{ID: id, Started: t, Time: 120, Timings: trace.Timings{Blocked: 1, DNS: -1, Connect: -1, SSL: -1, Send: 1, Wait: 100, Receive: 18},
			Request: &trace.Request{Method: method, URL: u, Proto: "HTTP/2", Headers: append(trace.Headers{{Name: "User-Agent", Value: "Mozilla/5.0 bench"}}, reqH...),
				Body: []byte(reqBody), HasBody: reqBody != "", HeadersSize: -1, BodySize: int64(len(reqBody))},
			Response: &trace.Response{Status: status, Proto: "HTTP/2", Headers: append(trace.Headers{{Name: "Content-Type", Value: mime}}, respH...),
				Body: []byte(respBody), MimeType: mime, Size: int64(len(respBody)), HeadersSize: -1, BodySize: int64(len(respBody))}}
		if reqBody != "" {
			fl.Request.MimeType = "application/x-www-form-urlencoded"
			fl.Request.Headers = append(fl.Request.Headers, trace.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"})
		}
		return w.WriteFlow(fl)
	}
	base := "https://login.microsoftonline.com/" + tenant
	if err := add("GET", base+"/v2.0/.well-known/openid-configuration", nil, "", 200, nil, "application/json",
		`{"issuer":"`+base+`/v2.0","authorization_endpoint":"`+base+`/oauth2/v2.0/authorize","token_endpoint":"`+base+`/oauth2/v2.0/token","jwks_uri":"`+base+`/discovery/v2.0/keys"}`); err != nil {
		return err
	}
	if err := add("GET", base+"/discovery/v2.0/keys", nil, "", 200, nil, "application/json", string(jwks)); err != nil {
		return err
	}
	// Page padding: script-like text of about 110 KB, different per sign-in.
	pad := func(n int) string {
		var b strings.Builder
		r, _ := rand.Int(rand.Reader, big.NewInt(1<<40))
		for b.Len() < 110_000 {
			fmt.Fprintf(&b, "function f%d_%d(a,b){return a.concat(b).map(function(x){return x*%d})};\n", n, b.Len(), r.Int64()%97)
		}
		return b.String()
	}
	for n := 0; cw.n < int64(sizeMB)<<20; n++ {
		user := fmt.Sprintf("user%05d@contoso.example", n)
		state, nonce := fmt.Sprintf("state-%d", n), fmt.Sprintf("nonce-%d", n)
		q := url.Values{"client_id": {client}, "response_type": {"code"}, "redirect_uri": {spa}, "scope": {"openid profile offline_access https://graph.microsoft.com/User.Read"},
			"state": {state}, "nonce": {nonce}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "login_hint": {user}}
		authURL := base + "/oauth2/v2.0/authorize?" + q.Encode()
		cfg := `{"pgid":"ConvergedSignIn","sPOST_Username":"` + user + `","correlationId":"c-` + fmt.Sprint(n) + `","urlPost":"/` + tenant + `/login"}`
		failCA := n%20 == 7
		if failCA {
			cfg = `{"pgid":"ConvergedError","iErrorCode":53003,"strServiceExceptionMessage":"AADSTS53003: Access has been blocked by Conditional Access policies.","correlationId":"c-` + fmt.Sprint(n) + `"}`
		}
		page := "<!DOCTYPE html><html><head><script>//<![CDATA[\n$Config=" + cfg + ";\n//]]></script><script>" + pad(n) + "</script></head><body></body></html>"
		if err := add("GET", authURL, nil, "", 200, nil, "text/html; charset=utf-8", page); err != nil {
			return err
		}
		if failCA {
			continue
		}
		code := fmt.Sprintf("0.A%040d", n)
		if err := add("POST", base+"/login", trace.Headers{{Name: "Referer", Value: authURL}, {Name: "Cookie", Value: "ESTSAUTHPERSISTENT=bench; buid=bench"}},
			"login="+url.QueryEscape(user)+"&passwd=bench-password&ctx=abc&flowToken=def", 302,
			trace.Headers{{Name: "Location", Value: spa + "?code=" + code + "&state=" + state + "&session_state=s"}}, "text/html", ""); err != nil {
			return err
		}
		if err := add("GET", spa+"?code="+code+"&state="+state+"&session_state=s", nil, "", 200, nil, "text/html", "<html>app</html>"); err != nil {
			return err
		}
		iat := t.Unix()
		oid := fmt.Sprintf("%08d-0000-0000-0000-000000000000", n)
		idt := sign(map[string]any{"aud": client, "iss": base + "/v2.0", "iat": iat, "nbf": iat, "exp": iat + 3600, "name": "User " + fmt.Sprint(n), "nonce": nonce,
			"oid": oid, "preferred_username": user, "sub": oid, "tid": tenant, "ver": "2.0"})
		at := sign(map[string]any{"aud": "00000003-0000-0000-c000-000000000000", "iss": "https://sts.windows.net/" + tenant + "/", "iat": iat, "nbf": iat, "exp": iat + 4000,
			"appid": client, "scp": "openid profile User.Read email", "tid": tenant, "upn": user, "oid": oid, "ver": "1.0"})
		var tokBody string
		if n%20 == 13 {
			tokBody = `{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.\r\nTrace ID: t\r\nCorrelation ID: c","error_codes":[50076],"timestamp":"2025-06-01 08:00:00Z","trace_id":"t","correlation_id":"c","suberror":"basic_action"}`
		} else {
			tokBody = `{"token_type":"Bearer","scope":"openid profile User.Read email","expires_in":3599,"ext_expires_in":3599,"access_token":"` + at + `","refresh_token":"0.AR` +
				base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(fmt.Sprint(n), 60))) + `","id_token":"` + idt + `","client_info":"` +
				base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"`+oid+`","utid":"`+tenant+`"}`)) + `"}`
		}
		status := 200
		if strings.HasPrefix(tokBody, `{"error"`) {
			status = 400
		}
		if err := add("POST", base+"/oauth2/v2.0/token", trace.Headers{{Name: "Origin", Value: "https://app.example.test"}},
			"client_id="+client+"&grant_type=authorization_code&code="+code+"&redirect_uri="+url.QueryEscape(spa)+"&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&scope=openid",
			status, nil, "application/json; charset=utf-8", tokBody); err != nil {
			return err
		}
		if status != 200 {
			continue
		}
		for k := 0; k < 5; k++ {
			if err := add("GET", fmt.Sprintf("https://graph.microsoft.com/v1.0/me/messages?$top=%d", k+10), trace.Headers{{Name: "Authorization", Value: "Bearer " + at}}, "", 200, nil,
				"application/json", `{"value":[`+strings.Repeat(`{"subject":"hello","bodyPreview":"lorem ipsum dolor sit amet"},`, 40)+`{}]}`); err != nil {
				return err
			}
		}
	}
	if err := w.Close(meta); err != nil {
		return err
	}
	return bw.Flush()
}
