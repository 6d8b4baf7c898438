package redact

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/ntlm"
	"github.com/idtrace/idtrace/internal/decode/spnego"
	"github.com/idtrace/idtrace/internal/trace"
)

// fuzzSecret is planted where the fuzzer cannot change its meaning.
const fuzzSecret = "Qz7fUZZsecretXk29pLmNv4RtY8wB3cD6"

// FuzzRedact redacts flows built from arbitrary bytes: it must never
// panic, never let the planted secret through, and a second pass over its
// output must find nothing left to remove.
func FuzzRedact(f *testing.F) {
	f.Add("a=b&c=d", "text/html", `<input name="code" value="x1234567890"> $Config={"sFT":"abc"}`, "x=1")
	f.Add("", "application/json", `{"refresh_token":"0.AXYAabc","list":["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"]}`, "lang=en")
	f.Add("SAMLResponse=PHNhbWw%2BPC9zYW1sPg%3D%3D", "application/x-www-form-urlencoded", "wresult=%3Cx%3E%3CSignatureValue%3Eabc%3C%2FSignatureValue%3E%3C%2Fx%3E", "")
	f.Add("#id_token=eyJhbGciOiJub25lIn0.eyJhIjoiYiJ9.", "text/xml", `<a:SignatureValue>zzz</a:SignatureValue><DigestValue/>`, "ESTSAUTH=")
	f.Add("q=\"", "", "{\"a\":\"\\u0026\\\"\",\"password\":\"p\"}", "x")
	f.Fuzz(func(t *testing.T, query, mime, body, cookies string) {
		if len(body) > 1<<16 {
			return
		}
		fl := &trace.Flow{ID: 1, Request: &trace.Request{
			Method: "POST",
			URL:    "https://login.example.com/p?" + query + "&code=" + fuzzSecret,
			Headers: trace.Headers{
				{Name: "Authorization", Value: "Bearer " + fuzzSecret},
				{Name: "Cookie", Value: "ESTSAUTH=" + fuzzSecret + "; " + cookies},
				{Name: "Content-Type", Value: mime},
				{Name: "X-Fuzz", Value: query},
			},
			Body: []byte(body), MimeType: mime, HasBody: true,
		}, Response: &trace.Response{Status: 200, Headers: trace.Headers{{Name: "Set-Cookie", Value: cookies}, {Name: "Location", Value: query}},
			Body: []byte(body), MimeType: mime},
			WebSocket: []trace.WSMessage{{Type: "send", Opcode: 1, Data: body}},
		}
		r := New(Options{Key: []byte("fuzz")})
		out := r.Flow(fl)
		for _, h := range out.Request.Headers[:2] {
			if strings.Contains(h.Value, fuzzSecret) {
				t.Fatalf("planted secret survives in %s", h.Name)
			}
		}
		if strings.Contains(out.Request.URL, fuzzSecret) && !strings.Contains(query, "#") {
			t.Fatalf("planted secret survives in the URL")
		}
		if !bytes.Equal(fl.Request.Body, []byte(body)) {
			t.Fatalf("Flow modified its input")
		}
		chk := New(Options{Key: []byte("fuzz")})
		var left []string
		chk.opts.OnRemove = func(m Removal) { left = append(left, m.Rule+" "+m.Where) }
		chk.Flow(out)
		if len(left) > 0 {
			t.Fatalf("a second pass still removes: %v", left)
		}
	})
}

// FuzzWindowsAuth redacts NTLM and Negotiate credentials made of arbitrary
// bytes: it must never panic, a rewritten NTLM or Negotiate message must
// still decode, and a second pass must find nothing left to remove.
func FuzzWindowsAuth(f *testing.F) {
	p := &planted{rnd: rand.New(rand.NewPCG(1, 2))}
	type3, _ := windowsType3(p)
	f.Add("NTLM", type3, false)
	f.Add("Negotiate", negTokenInit(gssAPReq(p, "R", "h"), []byte("0123456789abcdef"), oidKrb5, oidNTLM), false)
	f.Add("Negotiate", negTokenResp(1, oidNTLM, type3), true)
	f.Add("NTLM", []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2"), true)
	f.Fuzz(func(t *testing.T, scheme string, cred []byte, pii bool) {
		if len(cred) > 1<<14 || (scheme != "NTLM" && scheme != "Negotiate") {
			return
		}
		in := base64.StdEncoding.EncodeToString(cred)
		fl := &trace.Flow{ID: 1, Request: &trace.Request{Method: "GET", URL: "http://h/",
			Headers: trace.Headers{{Name: "Authorization", Value: scheme + " " + in}}}}
		out := New(Options{Key: []byte("fuzz"), PII: pii}).Flow(fl).Request.Headers.Get("Authorization")
		nc := strings.TrimPrefix(out, scheme+" ")
		if !strings.HasPrefix(nc, Prefix) && nc != in {
			raw, err := base64.StdEncoding.DecodeString(nc)
			if err != nil {
				t.Fatalf("rewritten credential is not base64: %v", err)
			}
			if _, err := spnego.Parse(raw); err != nil {
				t.Fatalf("rewritten credential does not decode: %v", err)
			}
			if ntlm.IsNTLM(raw) {
				if _, err := ntlm.Parse(raw); err != nil {
					t.Fatalf("rewritten NTLM message does not decode: %v", err)
				}
			}
		}
		chk := New(Options{Key: []byte("fuzz"), PII: pii})
		fl.Request.Headers[0].Value = out
		if chk.Flow(fl); chk.Total() != 0 {
			t.Fatalf("a second pass still removes %d values", chk.Total())
		}
	})
}
