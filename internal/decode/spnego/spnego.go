// Package spnego decodes the tokens of HTTP Negotiate authentication
// (RFC 4559): SPNEGO (RFC 4178) NegTokenInit / NegTokenResp wrappers and
// the Kerberos AP-REQ inside them, far enough to say which mechanism was
// used (Kerberos or NTLM), which mechanisms were offered, and for
// Kerberos the realm and the service principal the ticket is for. Tickets,
// authenticators and keys are never returned. A wrapped NTLM message is
// returned as bytes for the ntlm package. Pure: no I/O, imports nothing internal.
package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Mechanism names.
const (
	MechKerberos = "kerberos"
	MechNTLM     = "ntlm"
	MechNegoEx   = "negoex"
)

var oidNames = map[string]string{
	"1.2.840.113554.1.2.2":   MechKerberos,
	"1.2.840.48018.1.2.2":    MechKerberos, // Microsoft's (historical) Kerberos OID
	"1.2.840.113554.1.2.2.3": MechKerberos, // user-to-user
	"1.3.6.1.4.1.311.2.2.10": MechNTLM,
	"1.3.6.1.4.1.311.2.2.30": MechNegoEx,
}

const spnegoOID = "1.3.6.1.5.5.2"

// Token is a decoded Negotiate token.
type Token struct {
	// Mech is the mechanism of the token carried: "kerberos", "ntlm" or "".
	Mech string `json:"mech,omitempty"`
	// Offered lists the mechanisms a NegTokenInit proposes, in order.
	Offered []string `json:"offered,omitempty"`
	// State is a NegTokenResp's negState: "accept-completed",
	// "accept-incomplete", "reject" or "request-mic".
	State string `json:"state,omitempty"`
	// NTLM is the NTLM message carried, when Mech is "ntlm".
	NTLM []byte `json:"-"`
	// Realm and Service name the Kerberos ticket's realm and service
	// principal ("HTTP/sts.contoso.com") of an AP-REQ.
	Realm   string `json:"realm,omitempty"`
	Service string `json:"service,omitempty"`
	// KerberosMessage is "AP-REQ", "AP-REP" or "KRB-ERROR" for a Kerberos token.
	KerberosMessage string `json:"kerberos_message,omitempty"`
}

// ErrUnknown is returned for bytes that are neither SPNEGO, Kerberos nor NTLM.
var ErrUnknown = errors.New("spnego: not a Negotiate token")

// maxToken caps the size of a token this package decodes.
const maxToken = 64 << 10

// Parse decodes a Negotiate token (the base64-decoded bytes of the header).
func Parse(b []byte) (*Token, error) {
	if len(b) > maxToken {
		return nil, fmt.Errorf("spnego: token of %d bytes is too large", len(b))
	}
	if len(b) >= 8 && string(b[:8]) == "NTLMSSP\x00" {
		return &Token{Mech: MechNTLM, NTLM: b}, nil
	}
	var top asn1.RawValue
	if _, err := asn1.Unmarshal(b, &top); err != nil {
		return nil, ErrUnknown
	}
	t := &Token{}
	switch {
	case top.Class == asn1.ClassApplication && top.Tag == 0:
		// InitialContextToken: thisMech OID, then the inner token.
		oid, rest, err := readOID(top.Bytes)
		if err != nil {
			return nil, ErrUnknown
		}
		switch {
		case oid == spnegoOID:
			if err := t.negTokenInit(rest); err != nil {
				return nil, err
			}
		case oidNames[oid] == MechKerberos:
			t.Mech = MechKerberos
			t.kerberos(rest)
		default:
			return nil, fmt.Errorf("spnego: unknown mechanism %s", oid)
		}
	case top.Class == asn1.ClassContextSpecific && top.Tag == 1:
		if err := t.negTokenResp(top.Bytes); err != nil {
			return nil, err
		}
	default:
		return nil, ErrUnknown
	}
	return t, nil
}

func readOID(b []byte) (string, []byte, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(b, &oid)
	if err != nil {
		return "", nil, err
	}
	return oid.String(), rest, nil
}

// fields returns the context-tagged members of a DER SEQUENCE.
func fields(b []byte) (map[int]asn1.RawValue, error) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(b, &seq); err != nil || seq.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("spnego: malformed sequence")
	}
	out := map[int]asn1.RawValue{}
	rest := seq.Bytes
	for len(rest) > 0 {
		var v asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &v)
		if err != nil {
			return nil, fmt.Errorf("spnego: malformed member")
		}
		if v.Class == asn1.ClassContextSpecific {
			out[v.Tag] = v
		}
	}
	return out, nil
}

func (t *Token) negTokenInit(b []byte) error {
	var wrap asn1.RawValue
	if _, err := asn1.Unmarshal(b, &wrap); err != nil || wrap.Class != asn1.ClassContextSpecific || wrap.Tag != 0 {
		return fmt.Errorf("spnego: malformed NegTokenInit")
	}
	f, err := fields(wrap.Bytes)
	if err != nil {
		return err
	}
	if mt, ok := f[0]; ok {
		var oids []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(mt.Bytes, &oids); err == nil {
			for _, o := range oids {
				t.Offered = append(t.Offered, firstNonEmpty(oidNames[o.String()], o.String()))
			}
		}
	}
	if tok, ok := f[2]; ok {
		t.inner(tok.Bytes)
	} else if len(t.Offered) > 0 {
		t.Mech = t.Offered[0]
	}
	return nil
}

var negStates = map[int]string{0: "accept-completed", 1: "accept-incomplete", 2: "reject", 3: "request-mic"}

func (t *Token) negTokenResp(b []byte) error {
	f, err := fields(b)
	if err != nil {
		return err
	}
	if st, ok := f[0]; ok {
		var n asn1.Enumerated
		if _, err := asn1.Unmarshal(st.Bytes, &n); err == nil {
			t.State = firstNonEmpty(negStates[int(n)], fmt.Sprint(int(n)))
		}
	}
	if m, ok := f[1]; ok {
		if oid, _, err := readOID(m.Bytes); err == nil {
			t.Mech = firstNonEmpty(oidNames[oid], oid)
		}
	}
	if tok, ok := f[2]; ok {
		t.inner(tok.Bytes)
	}
	return nil
}

// inner reads the OCTET STRING of a mechToken / responseToken.
func (t *Token) inner(b []byte) {
	var os []byte
	if _, err := asn1.Unmarshal(b, &os); err != nil {
		return
	}
	if len(os) >= 8 && string(os[:8]) == "NTLMSSP\x00" {
		t.Mech, t.NTLM = MechNTLM, os
		return
	}
	var top asn1.RawValue
	if _, err := asn1.Unmarshal(os, &top); err != nil {
		return
	}
	if top.Class == asn1.ClassApplication && top.Tag == 0 {
		if oid, rest, err := readOID(top.Bytes); err == nil && oidNames[oid] == MechKerberos {
			t.Mech = MechKerberos
			t.kerberos(rest)
		}
	}
}

// kerberos reads a GSS Kerberos token: a 2-byte token ID, then the message.
func (t *Token) kerberos(b []byte) {
	if len(b) < 2 {
		return
	}
	var msg asn1.RawValue
	if _, err := asn1.Unmarshal(b[2:], &msg); err != nil || msg.Class != asn1.ClassApplication {
		return
	}
	switch msg.Tag {
	case 14:
		t.KerberosMessage = "AP-REQ"
		f, err := fields(msg.Bytes)
		if err != nil {
			return
		}
		tk, ok := f[3]
		if !ok {
			return
		}
		var ticket asn1.RawValue
		if _, err := asn1.Unmarshal(tk.Bytes, &ticket); err != nil || ticket.Class != asn1.ClassApplication || ticket.Tag != 1 {
			return
		}
		tf, err := fields(ticket.Bytes)
		if err != nil {
			return
		}
		if r, ok := tf[1]; ok {
			t.Realm = generalString(r.Bytes)
		}
		if sn, ok := tf[2]; ok {
			if pf, err := fields(sn.Bytes); err == nil {
				if names, ok := pf[1]; ok {
					var seq asn1.RawValue
					if _, err := asn1.Unmarshal(names.Bytes, &seq); err == nil {
						var parts []string
						rest := seq.Bytes
						for len(rest) > 0 && len(parts) < 8 {
							var v asn1.RawValue
							if rest, err = asn1.Unmarshal(rest, &v); err != nil {
								break
							}
							parts = append(parts, clean(string(v.Bytes)))
						}
						t.Service = strings.Join(parts, "/")
					}
				}
			}
		}
	case 15:
		t.KerberosMessage = "AP-REP"
	case 30:
		t.KerberosMessage = "KRB-ERROR"
	}
}

func generalString(b []byte) string {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(b, &v); err != nil {
		return ""
	}
	return clean(string(v.Bytes))
}

func clean(s string) string {
	if len(s) > 256 {
		s = s[:256]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, s)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
