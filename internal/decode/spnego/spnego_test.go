package spnego

import (
	"encoding/asn1"
	"testing"
)

// A tiny DER builder for synthetic tokens (shapes from RFC 4178 and RFC 4120).
func tlv(tag byte, parts ...[]byte) []byte {
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
	default:
		return append([]byte{tag, 0x82, byte(n >> 8), byte(n)}, c...)
	}
}

func oid(s asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(s); return b }
func integer(n int) []byte               { b, _ := asn1.Marshal(n); return b }
func gstr(s string) []byte               { return tlv(0x1b, []byte(s)) }

var (
	krb5   = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	mskrb5 = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
	ntlm   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	spn    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
)

func apReq(realm string, sname ...string) []byte {
	var names [][]byte
	for _, n := range sname {
		names = append(names, gstr(n))
	}
	ticket := tlv(0x61, tlv(0x30,
		tlv(0xa0, integer(5)),
		tlv(0xa1, gstr(realm)),
		tlv(0xa2, tlv(0x30, tlv(0xa0, integer(2)), tlv(0xa1, tlv(0x30, names...)))),
		tlv(0xa3, tlv(0x30, tlv(0xa0, integer(18)), tlv(0xa2, tlv(0x04, []byte("secret-ciphertext")))))))
	ap := tlv(0x6e, tlv(0x30, tlv(0xa0, integer(5)), tlv(0xa1, integer(14)), tlv(0xa2, tlv(0x03, []byte{0, 0, 0, 0, 0})), tlv(0xa3, ticket),
		tlv(0xa4, tlv(0x30, tlv(0xa0, integer(18)), tlv(0xa2, tlv(0x04, []byte("authenticator")))))))
	return tlv(0x60, oid(krb5), []byte{1, 0}, ap)
}

func negInit(mechToken []byte, mechs ...asn1.ObjectIdentifier) []byte {
	var list [][]byte
	for _, m := range mechs {
		list = append(list, oid(m))
	}
	body := [][]byte{tlv(0xa0, tlv(0x30, list...))}
	if mechToken != nil {
		body = append(body, tlv(0xa2, tlv(0x04, mechToken)))
	}
	return tlv(0x60, oid(spn), tlv(0xa0, tlv(0x30, body...)))
}

func TestKerberosInSPNEGO(t *testing.T) {
	tok, err := Parse(negInit(apReq("CONTOSO.COM", "HTTP", "sts.contoso.com"), mskrb5, krb5, ntlm))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Mech != MechKerberos || tok.KerberosMessage != "AP-REQ" || tok.Realm != "CONTOSO.COM" || tok.Service != "HTTP/sts.contoso.com" {
		t.Errorf("%+v", tok)
	}
	if len(tok.Offered) != 3 || tok.Offered[0] != MechKerberos || tok.Offered[2] != MechNTLM {
		t.Errorf("offered %v", tok.Offered)
	}
	// Raw GSS Kerberos (no SPNEGO wrapper).
	tok, err = Parse(apReq("CONTOSO.COM", "HTTP", "web"))
	if err != nil || tok.Mech != MechKerberos || tok.Service != "HTTP/web" {
		t.Errorf("%+v %v", tok, err)
	}
}

func TestNTLMInSPNEGO(t *testing.T) {
	msg := append([]byte("NTLMSSP\x00"), 1, 0, 0, 0, 7, 0x82, 8, 0xa2)
	tok, err := Parse(negInit(msg, ntlm))
	if err != nil || tok.Mech != MechNTLM || string(tok.NTLM[:7]) != "NTLMSSP" {
		t.Fatalf("%+v %v", tok, err)
	}
	resp := tlv(0xa1, tlv(0x30, tlv(0xa0, []byte{0x0a, 1, 1}), tlv(0xa1, oid(ntlm)), tlv(0xa2, tlv(0x04, msg))))
	tok, err = Parse(resp)
	if err != nil || tok.State != "accept-incomplete" || tok.Mech != MechNTLM || tok.NTLM == nil {
		t.Fatalf("%+v %v", tok, err)
	}
	tok, err = Parse(msg)
	if err != nil || tok.Mech != MechNTLM {
		t.Fatalf("raw NTLM: %+v %v", tok, err)
	}
}

func TestBad(t *testing.T) {
	for _, b := range [][]byte{nil, {0x60}, {0x30, 0}, []byte("hello"), tlv(0x60, oid(asn1.ObjectIdentifier{1, 2, 3}))} {
		if _, err := Parse(b); err == nil {
			t.Errorf("Parse(%x) accepted", b)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(negInit(apReq("R", "HTTP", "h"), krb5, ntlm))
	f.Add(tlv(0xa1, tlv(0x30, tlv(0xa0, []byte{0x0a, 1, 0}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}
