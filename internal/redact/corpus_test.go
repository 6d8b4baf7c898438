package redact

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// planted is the corpus of secrets the tests hide in flows, one or more per
// rule. Values are generated, never real.
type planted struct {
	rnd     *rand.Rand
	secrets []plant
}

type plant struct {
	rule, name, value string
}

// secret returns a new high-entropy value and records it under rule/name.
func (p *planted) secret(rule, name string) string {
	const al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 40)
	for i := range b {
		b[i] = al[p.rnd.IntN(len(al))]
	}
	b[0], b[1], b[2] = 'Q', 'z', '7' // all three classes, whatever the draw
	v := string(b)
	p.secrets = append(p.secrets, plant{rule, name, v})
	return v
}

// jwt returns a signed-looking JWT whose signature is planted (and any
// extra claims given), plus the signature.
func (p *planted) jwt(name string, claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`))
	c := map[string]any{"iss": "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
		"aud": "00000003-0000-0000-c000-000000000000", "exp": 1700003600, "iat": 1700000000, "nbf": 1700000000,
		"upn": "alice@contoso.example", "oid": "99999999-8888-7777-6666-555555555555"}
	for k, v := range claims {
		c[k] = v
	}
	cb, _ := json.Marshal(c)
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(p.rnd.IntN(256))
	}
	s := base64.RawURLEncoding.EncodeToString(sig)
	p.secrets = append(p.secrets, plant{"jwt", name + " signature", s})
	return h + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + s
}

func ntlmType3(user, domain, ws string, nt []byte) string {
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range utf16.Encode([]rune(s)) {
			b = binary.LittleEndian.AppendUint16(b, r)
		}
		return b
	}
	fields := [][]byte{nil, nt, u16(domain), u16(user), u16(ws), nil}
	hdr := make([]byte, 64)
	copy(hdr, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(hdr[8:], 3)
	off := 64
	var payload []byte
	for i, f := range fields {
		p := 12 + 8*i
		binary.LittleEndian.PutUint16(hdr[p:], uint16(len(f)))
		binary.LittleEndian.PutUint16(hdr[p+2:], uint16(len(f)))
		binary.LittleEndian.PutUint32(hdr[p+4:], uint32(off))
		off += len(f)
		payload = append(payload, f...)
	}
	binary.LittleEndian.PutUint32(hdr[60:], 1) // unicode
	return base64.StdEncoding.EncodeToString(append(hdr, payload...))
}

func samlXML(sigValue, digest, cipher, nameID string) string {
	return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z">` +
		`<saml:Issuer>https://sts.windows.net/t/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion ID="_a1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>https://sts.windows.net/t/</saml:Issuer>` +
		`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference URI="#_a1"><ds:DigestValue>` + digest + `</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
		`<ds:SignatureValue>` + sigValue + `</ds:SignatureValue></ds:Signature>` +
		`<saml:Subject><saml:NameID>` + nameID + `</saml:NameID></saml:Subject>` +
		`<saml:Conditions NotBefore="2024-01-01T00:00:00Z" NotOnOrAfter="2024-01-01T01:00:00Z"/>` +
		`<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>` + cipher + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>` +
		`</saml:Assertion></samlp:Response>`
}

func deflateB64(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func req(method, u string, hs trace.Headers, body string) *trace.Request {
	q := &trace.Request{Method: method, URL: u, Proto: "HTTP/1.1", Headers: hs, HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	if body != "" {
		q.Body, q.HasBody = []byte(body), true
		q.Headers = append(q.Headers, trace.Header{Name: "Content-Length", Value: strconv.Itoa(len(body))})
		q.BodySize = int64(len(body))
	}
	return q
}

func resp(status int, hs trace.Headers, mime, body string) *trace.Response {
	s := &trace.Response{Status: status, Reason: "OK", Proto: "HTTP/1.1", Headers: hs, MimeType: mime, Body: []byte(body),
		Size: int64(len(body)), HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	if body != "" {
		s.Headers = append(s.Headers, trace.Header{Name: "Content-Type", Value: mime}, trace.Header{Name: "Content-Length", Value: strconv.Itoa(len(body))})
	}
	return s
}

// corpus builds flows that hold a planted secret for every rule.
func corpus() ([]*trace.Flow, *planted) {
	p := &planted{rnd: rand.New(rand.NewPCG(9, 9))}
	var flows []*trace.Flow
	add := func(q *trace.Request, s *trace.Response) *trace.Flow {
		f := &trace.Flow{ID: len(flows) + 1, Started: time.Date(2024, 1, 1, 0, 0, len(flows), 0, time.UTC), Time: 10,
			Request: q, Response: s, Timings: trace.NoTimings()}
		flows = append(flows, f)
		return f
	}
	estsauth := p.secret("cookie", "ESTSAUTH")
	buid := p.secret("cookie", "buid")
	// 1: authorize request: URL credentials, query code, fragment id_token, every header rule.
	bearer := p.jwt("bearer", map[string]any{"refresh_token": p.secret("jwt", "claim refresh_token")})
	basic := p.secret("auth", "basic password")
	add(req("GET", "https://user:"+p.secret("url-userinfo", "password")+"@login.example.com/common/oauth2/v2.0/authorize?client_id=11111111-2222-3333-4444-555555555555&code="+p.secret("param", "code")+"&response_type=code&state=abc#id_token="+p.jwt("fragment id_token", nil), trace.Headers{
		{Name: "Host", Value: "login.example.com"},
		{Name: "Authorization", Value: "Bearer " + bearer},
		{Name: "Proxy-Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+basic))},
		{Name: "Cookie", Value: "ESTSAUTH=" + estsauth + "; ESTSAUTHPERSISTENT=" + p.secret("cookie", "ESTSAUTHPERSISTENT") + "; lang=en-US; other=" + p.secret("cookie", "long unknown cookie")},
		{Name: "Ocp-Apim-Subscription-Key", Value: p.secret("header", "Ocp-Apim-Subscription-Key")},
		{Name: "X-Custom-Token", Value: p.secret("header", "X-Custom-Token")},
		{Name: "x-ms-RefreshTokenCredential", Value: p.jwt("prt", map[string]any{"refresh_token": p.secret("header", "prt refresh_token")})},
		{Name: "x-ms-DeviceCredential", Value: p.secret("header", "x-ms-DeviceCredential")},
		{Name: "X-ARR-ClientCert", Value: p.secret("header", "X-ARR-ClientCert")},
		{Name: "X-Unknown-Thing", Value: p.secret("entropy", "header X-Unknown-Thing")},
		{Name: "client-request-id", Value: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
	}, ""), resp(302, trace.Headers{
		{Name: "Location", Value: "https://app.example.com/cb#code=" + p.secret("param", "fragment code") + "&id_token=" + p.jwt("location id_token", nil) + "&state=abc"},
		{Name: "Set-Cookie", Value: "ESTSAUTH=" + estsauth + "; path=/; secure; HttpOnly"},
		{Name: "Set-Cookie", Value: "buid=" + buid + "; expires=Thu, 01 Feb 2024 00:00:00 GMT; path=/"},
		{Name: "set-cookie", Value: "a=1; path=/\nesctx=" + p.secret("cookie", "joined esctx") + "; path=/; secure"},
	}, "", ""))
	flows[0].Response.RedirectURL = flows[0].Response.Headers.Get("Location")
	flows[0].Request.Cookies = []trace.Cookie{{Name: "ESTSAUTH", Value: estsauth}}
	flows[0].Response.Cookies = []trace.Cookie{{Name: "buid", Value: buid}}

	// 2: token request (form) and gzip'd JSON response with a wire form.
	pw := p.secret("param", "password")
	form := "grant_type=authorization_code&client_id=11111111-2222-3333-4444-555555555555&code=" + p.secret("param", "form code") +
		"&client_secret=" + url.QueryEscape(p.secret("param", "client_secret")+"+/=") + "&code_verifier=" + p.secret("param", "code_verifier") +
		"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + p.jwt("client_assertion", nil) +
		"&password=" + pw + "&refresh_token=" + p.secret("param", "form refresh_token") +
		"&mystery=" + p.secret("entropy", "form mystery") + "&otc=" + p.secret("param", "otc")
	tokenJSON := `{"token_type":"Bearer","scope":"openid","access_token":"` + p.jwt("access_token", nil) + `","refresh_token":"` + p.secret("param", "json refresh_token") +
		`","id_token":"` + p.jwt("id_token", nil) + `","nested":{"client_secret":"` + p.secret("param", "nested client_secret") + `"},"list":["` + p.secret("entropy", "json array") +
		`"],"device_code":"` + p.secret("param", "device_code") + `","error":{"code":"Authorization_RequestDenied"},"correlation_id":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}`
	r2 := resp(200, trace.Headers{{Name: "Content-Encoding", Value: "gzip"}}, "application/json; charset=utf-8", tokenJSON)
	r2.Encoding, r2.Wire = "gzip", gz([]byte(tokenJSON))
	f2 := add(req("POST", "https://login.example.com/common/oauth2/v2.0/token", trace.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, form), r2)
	f2.Request.MimeType = "application/x-www-form-urlencoded"
	f2.Request.Params = []trace.Param{{Name: "password", Value: pw}}

	// 3: form_post page with code, id_token, SAMLResponse and the ESTS $Config.
	samlResp := base64.StdEncoding.EncodeToString([]byte(samlXML(p.secret("saml", "SignatureValue"), p.secret("saml", "DigestValue"), p.secret("saml", "CipherValue"), "alice@contoso.example")))
	page := `<html><head><title>Working...</title></head><body><form method="POST" action="https://app.example.com/signin-oidc">` +
		`<input type="hidden" name="code" value="` + p.secret("param", "input code") + `" />` +
		`<input type="hidden" name="id_token" value="` + p.jwt("input id_token", nil) + `" />` +
		`<input type="hidden" name="SAMLResponse" value="` + samlResp + `" />` +
		`<input type="hidden" name="state" value="abc" /></form>` +
		`<script>//<![CDATA[
$Config={"sFT":"` + p.secret("param", "sFT") + `","sCtx":"` + p.secret("param", "sCtx") + `","canary":"` + html.EscapeString(p.secret("param", "canary")) +
		`","apiCanary":"` + p.secret("param", "apiCanary") + `","iErrorCode":50126,"strServiceExceptionMessage":"AADSTS50126: Error validating credentials."};
//]]></script></body></html>`
	add(req("GET", "https://login.example.com/login", nil, ""), resp(200, nil, "text/html; charset=utf-8", page))

	// 4: WS-Fed result and SAML redirect binding with its detached signature.
	rstr := `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestedSecurityToken>` +
		samlXML(p.secret("saml", "wresult SignatureValue"), p.secret("saml", "wresult DigestValue"), p.secret("saml", "wresult CipherValue"), "bob") +
		`</t:RequestedSecurityToken><t:RequestedProofToken><t:BinarySecret>` + p.secret("saml", "BinarySecret") + `</t:BinarySecret></t:RequestedProofToken></t:RequestSecurityTokenResponse>`
	add(req("POST", "https://rp.example.com/", trace.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, "wa=wsignin1.0&wresult="+url.QueryEscape(rstr)+"&wctx=rm%3D0"), resp(200, nil, "text/plain", "ok"))
	authn := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_q1" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://rp.example.com</saml:Issuer>` +
		`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>` + p.secret("saml", "request SignatureValue") + `</ds:SignatureValue></ds:Signature></samlp:AuthnRequest>`
	add(req("GET", "https://login.example.com/t/saml2?SAMLRequest="+url.QueryEscape(deflateB64(authn))+"&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature="+url.QueryEscape(p.secret("param", "Signature")+"+/=="), nil, ""), nil)

	// 5: NTLM authenticate message and an API key in a header.
	nt := []byte(p.secret("auth", "ntlm response"))
	add(req("GET", "https://intranet.example.com/", trace.Headers{{Name: "Authorization", Value: "NTLM " + ntlmType3("alice", "CONTOSO", "WS01", nt)}}, ""),
		resp(200, trace.Headers{{Name: "WWW-Authenticate", Value: "Negotiate oYG2MIGzoAMKAQChCwYJKoZIgvcSAQICooGeBIGbYIGYBgkqhkiG9xIBAgICAG+BiDCBhaADAgEFoQMCAQ+ieTB3oAMCARKicARu"}}, "text/plain", "hello"))

	// 6: WebSocket text messages and a JWT in a cookie.
	f6 := add(req("GET", "https://ws.example.com/socket", trace.Headers{{Name: "Cookie", Value: "AppSession=" + p.jwt("cookie jwt", nil)}}, ""), resp(101, nil, "", ""))
	f6.WebSocket = []trace.WSMessage{
		{Type: "send", Opcode: 1, Time: 1, Data: `{"op":"auth","access_token":"` + p.secret("param", "ws access_token") + `"}`},
		{Type: "receive", Opcode: 1, Time: 2, Data: `{"token":"` + p.jwt("ws jwt", nil) + `"}`},
		{Type: "send", Opcode: 2, Time: 3, Data: base64.StdEncoding.EncodeToString([]byte(`{"refresh_token":"` + p.secret("param", "ws binary refresh_token") + `"}`))},
	}
	// 7: the ESTSAUTH value of flow 1 comes back base64-encoded inside a
	// later request's JSON, under a name no rule covers.
	blob := base64.StdEncoding.EncodeToString([]byte(`{"s":"` + estsauth + `","t":1}`))
	add(req("POST", "https://other.example.com/api", trace.Headers{{Name: "Content-Type", Value: "application/json"}}, `{"blobId":"`+blob+`"}`), resp(204, nil, "", ""))
	// 8: an NTLM AUTHENTICATE laid out as Windows sends it (version, MIC,
	// NTLMv2 response, session key), then echoed in a debug page's JSON.
	type3, _ := windowsType3(p)
	type3b64 := base64.StdEncoding.EncodeToString(type3)
	add(req("GET", "https://sut02.example.com/", trace.Headers{{Name: "Authorization", Value: "NTLM " + type3b64}}, ""), resp(200, nil, "text/plain", "ok"))
	// 9: Kerberos through SPNEGO with a mechListMIC, and NTLM through a
	// Negotiate NegTokenResp.
	add(req("GET", "https://sts.example.com/adfs/ls/wia", trace.Headers{{Name: "Authorization", Value: "Negotiate " +
		base64.StdEncoding.EncodeToString(negTokenInit(gssAPReq(p, "CONTOSO.EXAMPLE", "sts.example.com"), []byte(p.secret("auth", "mechListMIC")), oidMSKrb5, oidKrb5, oidNTLM))}}, ""),
		resp(200, nil, "text/plain", "ok"))
	type3n, _ := windowsType3(p)
	add(req("GET", "https://intranet2.example.com/", trace.Headers{{Name: "Authorization", Value: "Negotiate " +
		base64.StdEncoding.EncodeToString(negTokenResp(1, oidNTLM, type3n))}}, ""), resp(200, nil, "text/plain", "ok"))
	add(req("POST", "https://debug.example.com/echo", trace.Headers{{Name: "Content-Type", Value: "application/json"}}, `{"seen":"NTLM `+type3b64+`"}`), resp(204, nil, "", ""))
	return flows, p
}

// encodings returns the forms a value can take in an output file. For
// base64 it gives the part of the encoding that does not depend on the
// bytes around the value, at each of the three alignments.
func encodings(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v)}
	jb, _ := json.Marshal(v)
	out = append(out, string(jb[1:len(jb)-1]))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			e := enc.EncodeToString(append(make([]byte, k), v...))
			start, end := (k*8+5)/6, (k+len(v))*8/6
			if end-start >= 12 {
				out = append(out, strings.TrimRight(e[start:end], "="))
			}
		}
	}
	return out
}

// survivors returns, for each planted secret found in out (in any form),
// its rule and name — never the value.
func survivors(out []byte, p *planted) []string {
	var found []string
	for _, s := range p.secrets {
		for i, e := range encodings(s.value) {
			if bytes.Contains(out, []byte(e)) {
				found = append(found, fmt.Sprintf("%s/%s (encoding #%d)", s.rule, s.name, i))
				break
			}
		}
	}
	return found
}

// unzipAll concatenates every entry of a SAZ (so compressed entries can be searched).
func unzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&all, rc)
		rc.Close()
		all.WriteByte('\n')
	}
	return all.Bytes()
}

func writeHAR(t *testing.T, flows []*trace.Flow) []byte {
	t.Helper()
	var b bytes.Buffer
	w := har.NewWriter(&b, &trace.Meta{})
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&trace.Meta{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeSAZ(t *testing.T, flows []*trace.Flow) []byte {
	t.Helper()
	var b bytes.Buffer
	w := saz.NewWriter(&b, &trace.Meta{}, saz.WriterOptions{})
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&trace.Meta{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
