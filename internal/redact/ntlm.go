package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"unicode/utf16"
)

// NTLM messages (MS-NLMP) are redacted structurally, not replaced whole:
// the output is still a valid message that the ntlm decoder reads, with
// the same protocol version (it follows from the NT response's length),
// flags, Windows version and, unless --pii, the same user, domain and
// workstation. What could be replayed or cracked offline is overwritten
// with NTLMFill: in an AUTHENTICATE (type 3) message the LM and NT
// challenge responses, the encrypted session key, the MIC and any bytes
// of the payload that no name covers. NEGOTIATE (type 1) and CHALLENGE
// (type 2) messages carry no secret and are kept (see docs/sanitize.md).

// NTLMFill is the pattern written, repeated and cut to length, over the
// secret parts of an NTLM AUTHENTICATE message.
const NTLMFill = "REDACTED"

func ntlmFill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = NTLMFill[i%len(NTLMFill)]
	}
	return b
}

// ntlmCred redacts the base64 credential of an NTLM or Negotiate
// Authorization value that holds a raw NTLM message. ok is false when
// cred is not one this can rewrite (the caller then replaces it whole).
func (r *Redactor) ntlmCred(cred, loc string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil || len(b) < 12 || string(b[:8]) != "NTLMSSP\x00" {
		return "", false
	}
	nb, ok := r.ntlmMessage(b, loc)
	if !ok {
		return "", false
	}
	if bytes.Equal(nb, b) {
		return cred, true
	}
	out := base64.StdEncoding.EncodeToString(nb)
	r.hit("auth", loc+" ntlm responses")
	r.echoes.add(cred, out)
	return out, true
}

// ntlmMessage returns the redacted form of one NTLM message (b itself
// when nothing is secret), or ok false for a message it cannot rewrite.
func (r *Redactor) ntlmMessage(b []byte, loc string) ([]byte, bool) {
	switch binary.LittleEndian.Uint32(b[8:12]) {
	case 1:
		// NEGOTIATE: flags, and at most an OEM domain and workstation name.
		if r.opts.PII && len(b) >= 32 && (ntlmLen(b, 16) > 0 || ntlmLen(b, 24) > 0) {
			return nil, false
		}
		return b, true
	case 2:
		// CHALLENGE: the server's nonce and names.
		return b, true
	case 3:
		return r.ntlmAuthenticate(b, loc)
	}
	return nil, false
}

func ntlmLen(b []byte, at int) int { return int(binary.LittleEndian.Uint16(b[at:])) }

// ntlmAuthenticate rebuilds a type 3 message: header, version, MIC (filled),
// then domain, user, workstation, LM response, NT response and session
// key, in that order, each at its new offset.
func (r *Redactor) ntlmAuthenticate(b []byte, loc string) ([]byte, bool) {
	if len(b) < 64 {
		return nil, false
	}
	const lmAt, ntAt, domAt, userAt, wsAt, keyAt = 12, 20, 28, 36, 44, 52
	ats := []int{lmAt, ntAt, domAt, userAt, wsAt, keyAt}
	fields := make(map[int][]byte, len(ats))
	minOff := len(b)
	for _, at := range ats {
		n := ntlmLen(b, at)
		if n == 0 {
			continue
		}
		off := int(binary.LittleEndian.Uint32(b[at+4:]))
		if off < 64 || off > len(b) || n > len(b)-off {
			return nil, false
		}
		fields[at] = b[off : off+n]
		minOff = min(minOff, off)
	}
	hdrEnd, mic := 64, false
	if minOff >= 72 {
		hdrEnd = 72
	}
	if minOff >= 88 {
		mic = true
	}
	unicode := binary.LittleEndian.Uint32(b[60:64])&1 == 1
	if r.opts.PII {
		for at, what := range map[int]string{domAt: "domain", userAt: "user", wsAt: "workstation"} {
			if v := fields[at]; len(v) > 0 {
				fields[at] = r.ntlmName(v, unicode, what, loc)
			}
		}
	}
	out := make([]byte, 0, len(b)+128)
	out = append(out, b[:hdrEnd]...)
	if mic {
		out = append(out, ntlmFill(16)...)
	}
	for _, at := range []int{domAt, userAt, wsAt, lmAt, ntAt, keyAt} {
		v := fields[at]
		if at == lmAt || at == ntAt || at == keyAt {
			v = ntlmFill(len(v))
		}
		binary.LittleEndian.PutUint16(out[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(out[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(out[at+4:], uint32(len(out)))
		out = append(out, v...)
	}
	return out, true
}

// ntlmName replaces a name of an AUTHENTICATE message by its pseudonym
// (--pii), in the message's own encoding.
func (r *Redactor) ntlmName(v []byte, unicode bool, what, loc string) []byte {
	s := string(v)
	if unicode {
		u := make([]uint16, len(v)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(v[2*i:])
		}
		s = string(utf16.Decode(u))
	}
	if isPlaceholder(s) {
		return v
	}
	p := r.pseudo("pii", "ntlm-"+what, s, loc+" ntlm "+what)
	if !unicode {
		return []byte(p)
	}
	var out []byte
	for _, c := range utf16.Encode([]rune(p)) {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}
