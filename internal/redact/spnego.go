package redact

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
)

// Negotiate (SPNEGO, RFC 4178) tokens are redacted structurally too: the
// DER is rebuilt with every ciphertext and checksum filled with NTLMFill
// (cut to its original length, so the size of a ticket, a cause of
// "header too long" failures, stays visible), and everything else kept —
// the mechanisms offered, the negotiation state, and of a Kerberos AP-REQ
// (RFC 4120) the ticket's realm, service principal, encryption type and
// key version. Filled: the ticket's enc-part and the authenticator of an
// AP-REQ, the enc-part of an AP-REP, and the mechListMIC. An NTLM message
// inside is redacted as a bare one. A token this does not understand is
// replaced whole by a pseudonym.

var (
	oidSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	oidKrb5s  = []asn1.ObjectIdentifier{
		{1, 2, 840, 113554, 1, 2, 2}, {1, 2, 840, 48018, 1, 2, 2}, {1, 2, 840, 113554, 1, 2, 2, 3},
	}
)

// negotiateCred redacts the base64 credential of a Negotiate value that
// is not a bare NTLM message; ok is false when it is not understood.
func (r *Redactor) negotiateCred(cred, loc string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil || len(b) > 64<<10 {
		return "", false
	}
	nb, ok := r.spnegoToken(b, loc)
	if !ok {
		return "", false
	}
	if bytes.Equal(nb, b) {
		return cred, true
	}
	out := base64.StdEncoding.EncodeToString(nb)
	r.hit("auth", loc+" negotiate ticket")
	r.echoes.add(cred, out)
	return out, true
}

// derOne parses exactly one DER element.
func derOne(b []byte) (asn1.RawValue, bool) {
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(b, &v)
	return v, err == nil && len(rest) == 0
}

// derWrap encodes content under v's class and tag.
func derWrap(v asn1.RawValue, content []byte) ([]byte, bool) {
	out, err := asn1.Marshal(asn1.RawValue{Class: v.Class, Tag: v.Tag, IsCompound: v.IsCompound, Bytes: content})
	return out, err == nil
}

// derSeq rebuilds the SEQUENCE full: fn gets each context-tagged member's
// tag and the element inside it, and returns its replacement (nil keeps it).
func derSeq(full []byte, fn func(tag int, inner []byte) ([]byte, bool)) ([]byte, bool) {
	v, ok := derOne(full)
	if !ok || v.Class != asn1.ClassUniversal || v.Tag != asn1.TagSequence {
		return nil, false
	}
	var out []byte
	for rest := v.Bytes; len(rest) > 0; {
		var c asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &c); err != nil {
			return nil, false
		}
		if c.Class != asn1.ClassContextSpecific {
			out = append(out, c.FullBytes...)
			continue
		}
		nb, ok := fn(c.Tag, c.Bytes)
		if !ok {
			return nil, false
		}
		if nb == nil {
			out = append(out, c.FullBytes...)
			continue
		}
		w, ok := derWrap(c, nb)
		if !ok {
			return nil, false
		}
		out = append(out, w...)
	}
	return derWrap(v, out)
}

// derFill returns the OCTET STRING full with its content filled.
func derFill(full []byte) ([]byte, bool) {
	var os []byte
	if rest, err := asn1.Unmarshal(full, &os); err != nil || len(rest) > 0 {
		return nil, false
	}
	out, err := asn1.Marshal(ntlmFill(len(os)))
	return out, err == nil
}

func (r *Redactor) spnegoToken(b []byte, loc string) ([]byte, bool) {
	top, ok := derOne(b)
	if !ok {
		return nil, false
	}
	switch {
	case top.Class == asn1.ClassApplication && top.Tag == 0:
		// InitialContextToken: a mechanism OID, then its token.
		var oid asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(top.Bytes, &oid)
		if err != nil {
			return nil, false
		}
		if oid.Equal(oidSPNEGO) {
			init, ok := derOne(rest)
			if !ok || init.Class != asn1.ClassContextSpecific || init.Tag != 0 {
				return nil, false
			}
			// NegTokenInit (RFC 4178) or NegTokenInit2 (MS-SPNG): [2]
			// mechToken, and a mechListMIC at [3] or [4] (an OCTET
			// STRING; negHints at [3] is a SEQUENCE and is kept).
			seq, ok := derSeq(init.Bytes, func(tag int, inner []byte) ([]byte, bool) {
				switch {
				case tag == 2:
					return r.mechToken(inner, loc)
				case (tag == 3 || tag == 4) && len(inner) > 0 && inner[0] == 0x04:
					return derFill(inner)
				}
				return nil, true
			})
			if !ok {
				return nil, false
			}
			w, ok := derWrap(init, seq)
			if !ok {
				return nil, false
			}
			head := len(top.Bytes) - len(rest)
			return derWrap(top, append(append([]byte(nil), top.Bytes[:head]...), w...))
		}
		return r.gssKerberos(top, oid, rest)
	case top.Class == asn1.ClassContextSpecific && top.Tag == 1:
		// NegTokenResp: [2] responseToken, [3] mechListMIC.
		seq, ok := derSeq(top.Bytes, func(tag int, inner []byte) ([]byte, bool) {
			switch tag {
			case 2:
				return r.mechToken(inner, loc)
			case 3:
				return derFill(inner)
			}
			return nil, true
		})
		if !ok {
			return nil, false
		}
		return derWrap(top, seq)
	}
	return nil, false
}

// mechToken redacts the OCTET STRING of a mechToken or responseToken.
func (r *Redactor) mechToken(full []byte, loc string) ([]byte, bool) {
	var os []byte
	if rest, err := asn1.Unmarshal(full, &os); err != nil || len(rest) > 0 {
		return nil, false
	}
	var nb []byte
	if len(os) >= 12 && string(os[:8]) == "NTLMSSP\x00" {
		var ok bool
		if nb, ok = r.ntlmMessage(os, loc); !ok {
			return nil, false
		}
	} else {
		top, ok := derOne(os)
		if !ok || top.Class != asn1.ClassApplication || top.Tag != 0 {
			return nil, false
		}
		var oid asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(top.Bytes, &oid)
		if err != nil {
			return nil, false
		}
		if nb, ok = r.gssKerberos(top, oid, rest); !ok {
			return nil, false
		}
	}
	out, err := asn1.Marshal(nb)
	return out, err == nil
}

// gssKerberos redacts a GSS Kerberos token (RFC 1964): top is its
// [APPLICATION 0] element, rest what follows the OID: a 2-byte token ID
// and a Kerberos message.
func (r *Redactor) gssKerberos(top asn1.RawValue, oid asn1.ObjectIdentifier, rest []byte) ([]byte, bool) {
	krb := false
	for _, k := range oidKrb5s {
		krb = krb || oid.Equal(k)
	}
	if !krb || len(rest) < 2 {
		return nil, false
	}
	msg, ok := derOne(rest[2:])
	if !ok || msg.Class != asn1.ClassApplication {
		return nil, false
	}
	var seq []byte
	switch msg.Tag {
	case 14: // AP-REQ: [3] ticket, [4] authenticator
		seq, ok = derSeq(msg.Bytes, func(tag int, inner []byte) ([]byte, bool) {
			switch tag {
			case 3:
				return krbTicket(inner)
			case 4:
				return krbEncrypted(inner)
			}
			return nil, true
		})
	case 15: // AP-REP: [2] enc-part
		seq, ok = derSeq(msg.Bytes, func(tag int, inner []byte) ([]byte, bool) {
			if tag == 2 {
				return krbEncrypted(inner)
			}
			return nil, true
		})
	case 30: // KRB-ERROR: no secret
		return top.FullBytes, true
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	m, ok := derWrap(msg, seq)
	if !ok {
		return nil, false
	}
	head := len(top.Bytes) - len(rest)
	content := append(append(append([]byte(nil), top.Bytes[:head]...), rest[:2]...), m...)
	return derWrap(top, content)
}

// krbTicket fills the enc-part ([3]) of a Ticket ([APPLICATION 1]).
func krbTicket(full []byte) ([]byte, bool) {
	t, ok := derOne(full)
	if !ok || t.Class != asn1.ClassApplication || t.Tag != 1 {
		return nil, false
	}
	seq, ok := derSeq(t.Bytes, func(tag int, inner []byte) ([]byte, bool) {
		if tag == 3 {
			return krbEncrypted(inner)
		}
		return nil, true
	})
	if !ok {
		return nil, false
	}
	return derWrap(t, seq)
}

// krbEncrypted fills the cipher ([2]) of an EncryptedData, keeping its
// etype and kvno.
func krbEncrypted(full []byte) ([]byte, bool) {
	return derSeq(full, func(tag int, inner []byte) ([]byte, bool) {
		if tag == 2 {
			return derFill(inner)
		}
		return nil, true
	})
}
