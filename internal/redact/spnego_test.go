package redact

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/ntlm"
	"github.com/idtrace/idtrace/internal/decode/spnego"
	"github.com/idtrace/idtrace/internal/trace"
)

// A small DER builder for Negotiate tokens shaped as RFC 4178 (SPNEGO),
// RFC 1964 (GSS Kerberos) and RFC 4120 (AP-REQ) lay them out.
func tlv(tag byte, parts ...[]byte) []byte {
	c := bytes.Join(parts, nil)
	n := len(c)
	switch {
	case n < 128:
		return append([]byte{tag, byte(n)}, c...)
	case n < 256:
		return append([]byte{tag, 0x81, byte(n)}, c...)
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, c...)
	}
}

func derOID(o asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(o); return b }
func derInt(n int) []byte                   { b, _ := asn1.Marshal(n); return b }
func derGStr(s string) []byte               { return tlv(0x1b, []byte(s)) }

var (
	oidKrb5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	oidMSKrb5 = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	oidNTLM   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
)

// gssAPReq is a GSS Kerberos AP-REQ for HTTP/host in realm whose ticket
// and authenticator ciphertexts are planted secrets (AES256, kvno 3).
func gssAPReq(p *planted, realm, host string) []byte {
	ticketCipher := []byte(p.secret("auth", "kerberos ticket") + p.secret("auth", "kerberos ticket 2"))
	authCipher := []byte(p.secret("auth", "kerberos authenticator"))
	enc := func(c []byte) []byte {
		return tlv(0x30, tlv(0xa0, derInt(18)), tlv(0xa1, derInt(3)), tlv(0xa2, tlv(0x04, c)))
	}
	ticket := tlv(0x61, tlv(0x30,
		tlv(0xa0, derInt(5)),
		tlv(0xa1, derGStr(realm)),
		tlv(0xa2, tlv(0x30, tlv(0xa0, derInt(2)), tlv(0xa1, tlv(0x30, derGStr("HTTP"), derGStr(host))))),
		tlv(0xa3, enc(ticketCipher))))
	ap := tlv(0x6e, tlv(0x30, tlv(0xa0, derInt(5)), tlv(0xa1, derInt(14)), tlv(0xa2, tlv(0x03, []byte{0, 0x20, 0, 0, 0})),
		tlv(0xa3, ticket), tlv(0xa4, enc(authCipher))))
	return tlv(0x60, derOID(oidKrb5), []byte{1, 0}, ap)
}

// negTokenInit wraps a mechanism token with the mechanisms offered and,
// when mic is set, a mechListMIC.
func negTokenInit(mechToken, mic []byte, mechs ...asn1.ObjectIdentifier) []byte {
	var list [][]byte
	for _, m := range mechs {
		list = append(list, derOID(m))
	}
	body := [][]byte{tlv(0xa0, tlv(0x30, list...)), tlv(0xa2, tlv(0x04, mechToken))}
	if mic != nil {
		body = append(body, tlv(0xa3, tlv(0x04, mic)))
	}
	return tlv(0x60, derOID(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}), tlv(0xa0, tlv(0x30, body...)))
}

func negTokenResp(state byte, mech asn1.ObjectIdentifier, token []byte) []byte {
	return tlv(0xa1, tlv(0x30, tlv(0xa0, []byte{0x0a, 1, state}), tlv(0xa1, derOID(mech)), tlv(0xa2, tlv(0x04, token))))
}

func negotiateFlow(cred []byte) *trace.Flow {
	return &trace.Flow{ID: 1, Request: req("GET", "https://sts.contoso.example/adfs/ls/wia", trace.Headers{
		{Name: "Authorization", Value: "Negotiate " + base64.StdEncoding.EncodeToString(cred)}}, "")}
}

// TestNegotiateStructural: Kerberos and NTLM inside Negotiate tokens keep
// what spnego and ntlm decode (mechanisms, realm, service, NTLM names and
// version), lose every ciphertext, MIC and response in every encoding,
// and are left alone when sanitized again.
func TestNegotiateStructural(t *testing.T) {
	p := &planted{rnd: rand.New(rand.NewPCG(5, 6))}
	mic := []byte(p.secret("auth", "mechListMIC"))
	type3, _ := windowsType3(p)
	tokens := map[string][]byte{
		"SPNEGO NegTokenInit with a Kerberos AP-REQ": negTokenInit(gssAPReq(p, "CONTOSO.EXAMPLE", "sts.contoso.example"), mic, oidMSKrb5, oidKrb5, oidNTLM),
		"bare GSS Kerberos AP-REQ":                   gssAPReq(p, "CONTOSO.EXAMPLE", "web01.contoso.example"),
		"SPNEGO NegTokenResp with NTLM AUTHENTICATE": negTokenResp(1, oidNTLM, type3),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			before, err := spnego.Parse(tok)
			if err != nil {
				t.Fatalf("test token: %v", err)
			}
			r := New(Options{})
			out := r.Flow(negotiateFlow(tok)).Request.Headers.Get("Authorization")
			_, raw, err := ntlm.DecodeHeader(out)
			if err != nil || strings.HasPrefix(strings.TrimPrefix(out, "Negotiate "), Prefix) {
				t.Fatalf("the token was replaced whole or does not decode (%v)", err)
			}
			after, err := spnego.Parse(raw)
			if err != nil {
				t.Fatalf("sanitized token: %v", err)
			}
			if before.Mech != after.Mech || before.Realm != after.Realm || before.Service != after.Service ||
				before.KerberosMessage != after.KerberosMessage || strings.Join(before.Offered, ",") != strings.Join(after.Offered, ",") || before.State != after.State {
				t.Errorf("sanitized token reads %+v, want %+v", after, before)
			}
			if before.NTLM != nil {
				mb, _ := ntlm.Parse(before.NTLM)
				ma, err := ntlm.Parse(after.NTLM)
				if err != nil || ma.Describe() != mb.Describe() {
					t.Errorf("inner NTLM reads %q (%v), want %q", ma.Describe(), err, mb.Describe())
				}
			}
			if r.Total() != 1 {
				t.Errorf("removals = %d, want 1", r.Total())
			}
			for _, s := range p.secrets {
				if !bytes.Contains(tok, []byte(s.value)) {
					continue
				}
				if bytes.Contains(raw, []byte(s.value)) {
					t.Errorf("%s survived in the token", s.name)
				}
				for _, e := range encodings(s.value) {
					if strings.Contains(out, e) {
						t.Errorf("%s survived in the header", s.name)
					}
				}
			}
			r2 := New(Options{})
			if again := r2.Flow(negotiateFlow(raw)).Request.Headers.Get("Authorization"); again != out || r2.Total() != 0 {
				t.Errorf("sanitizing the sanitized token again removed %d values", r2.Total())
			}
		})
	}
	// A token that is not understood is replaced whole.
	out := New(Options{}).Flow(negotiateFlow([]byte(p.secret("auth", "opaque")))).Request.Headers.Get("Authorization")
	if !strings.HasPrefix(out, "Negotiate "+Prefix) {
		t.Errorf("an opaque Negotiate token was kept")
	}
}
