// Package ntlm decodes the three NTLM authentication messages (MS-NLMP
// NEGOTIATE, CHALLENGE, AUTHENTICATE) as they cross HTTP in
// `Authorization: NTLM|Negotiate <base64>` and `WWW-Authenticate` headers.
//
// It reports only what a troubleshooter needs and what is not secret: the
// message type, flags, the user, domain and workstation names, the target's
// names, the protocol version (NTLMv1 or NTLMv2) and the Windows version.
// Challenge and response bytes, session keys and MICs are never returned.
// Pure: no I/O, imports nothing internal.
package ntlm

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Message types.
const (
	TypeNegotiate    = 1
	TypeChallenge    = 2
	TypeAuthenticate = 3
)

// Negotiate flags used here (MS-NLMP 2.2.2.5).
const (
	FlagUnicode                 = 0x00000001
	FlagNTLM                    = 0x00000200
	FlagAnonymous               = 0x00000800
	FlagExtendedSessionSecurity = 0x00080000
	FlagTargetInfo              = 0x00800000
	FlagVersion                 = 0x02000000
)

// Message is a decoded NTLM message.
type Message struct {
	// Type is 1 (NEGOTIATE), 2 (CHALLENGE) or 3 (AUTHENTICATE).
	Type  int    `json:"type"`
	Flags uint32 `json:"flags"`
	// Domain, User and Workstation are the client's (types 1 and 3).
	Domain      string `json:"domain,omitempty"`
	User        string `json:"user,omitempty"`
	Workstation string `json:"workstation,omitempty"`
	// Target is the server's target name; the DNS and NetBIOS names come
	// from its target info (type 2).
	Target          string `json:"target,omitempty"`
	DNSComputer     string `json:"dns_computer,omitempty"`
	DNSDomain       string `json:"dns_domain,omitempty"`
	NetBIOSComputer string `json:"netbios_computer,omitempty"`
	NetBIOSDomain   string `json:"netbios_domain,omitempty"`
	// Version is the sender's Windows version ("10.0.19041"), when sent.
	Version string `json:"version,omitempty"`
	// Protocol is "NTLMv2", "NTLMv1", "NTLMv1 with extended session security" or
	// "anonymous" (type 3 only), from the length of the NT response.
	Protocol string `json:"protocol,omitempty"`
	// HasMIC is true when a type 3 message carries a message integrity code.
	HasMIC bool `json:"has_mic,omitempty"`
}

var signature = []byte("NTLMSSP\x00")

// ErrNotNTLM is returned for bytes that do not start with the NTLMSSP signature.
var ErrNotNTLM = errors.New("ntlm: not an NTLM message")

// IsNTLM reports whether b starts with the NTLMSSP signature.
func IsNTLM(b []byte) bool { return len(b) >= 8 && string(b[:8]) == string(signature) }

// DecodeHeader decodes the base64 token of an Authorization or
// WWW-Authenticate header value ("NTLM TlRMTVNT..." or "Negotiate ...").
// It returns the scheme and the token's bytes.
func DecodeHeader(v string) (scheme string, token []byte, err error) {
	v = strings.TrimSpace(v)
	scheme, rest, _ := strings.Cut(v, " ")
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return scheme, nil, nil
	}
	if len(rest) > 64<<10 {
		return scheme, nil, fmt.Errorf("ntlm: %s token of %d characters is too long", scheme, len(rest))
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
	}
	if err != nil {
		return scheme, nil, fmt.Errorf("ntlm: %s token is not base64", scheme)
	}
	return scheme, b, nil
}

// Parse decodes one NTLM message.
func Parse(b []byte) (*Message, error) {
	if !IsNTLM(b) {
		return nil, ErrNotNTLM
	}
	if len(b) < 12 {
		return nil, fmt.Errorf("ntlm: message of %d bytes is truncated", len(b))
	}
	m := &Message{Type: int(binary.LittleEndian.Uint32(b[8:12]))}
	switch m.Type {
	case TypeNegotiate:
		if len(b) < 16 {
			return nil, fmt.Errorf("ntlm: NEGOTIATE message of %d bytes is truncated", len(b))
		}
		m.Flags = binary.LittleEndian.Uint32(b[12:16])
		if len(b) >= 32 {
			m.Domain = oem(field(b, 16))
			m.Workstation = oem(field(b, 24))
		}
		if m.Flags&FlagVersion != 0 && len(b) >= 40 {
			m.Version = version(b[32:40])
		}
	case TypeChallenge:
		if len(b) < 32 {
			return nil, fmt.Errorf("ntlm: CHALLENGE message of %d bytes is truncated", len(b))
		}
		m.Flags = binary.LittleEndian.Uint32(b[20:24])
		m.Target = m.str(field(b, 12))
		if len(b) >= 48 && m.Flags&FlagTargetInfo != 0 {
			m.targetInfo(field(b, 40))
		}
		if m.Flags&FlagVersion != 0 && len(b) >= 56 {
			m.Version = version(b[48:56])
		}
	case TypeAuthenticate:
		if len(b) < 64 {
			return nil, fmt.Errorf("ntlm: AUTHENTICATE message of %d bytes is truncated", len(b))
		}
		m.Flags = binary.LittleEndian.Uint32(b[60:64])
		lm, nt := field(b, 12), field(b, 20)
		m.Domain = m.str(field(b, 28))
		m.User = m.str(field(b, 36))
		m.Workstation = m.str(field(b, 44))
		switch {
		case len(nt) == 0 && m.User == "":
			m.Protocol = "anonymous"
		case len(nt) > 24:
			m.Protocol = "NTLMv2"
		case len(nt) == 24 && m.Flags&FlagExtendedSessionSecurity != 0 && len(lm) == 24:
			m.Protocol = "NTLMv1 with extended session security"
		case len(nt) == 24:
			m.Protocol = "NTLMv1"
		default:
			m.Protocol = fmt.Sprintf("unknown (NT response of %d bytes)", len(nt))
		}
		if m.Flags&FlagVersion != 0 && len(b) >= 72 {
			m.Version = version(b[64:72])
		}
		// A MIC (16 bytes at 72) is present when the payload starts after it.
		if off := minOffset(b, 12, 20, 28, 36, 44, 52); off >= 88 {
			m.HasMIC = true
		}
	default:
		return nil, fmt.Errorf("ntlm: unknown message type %d", m.Type)
	}
	return m, nil
}

// field returns the payload a security buffer (length, max length, offset)
// at b[at:] points to, or nil when it points outside b.
func field(b []byte, at int) []byte {
	if at+8 > len(b) {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(b[at : at+2]))
	off := int(binary.LittleEndian.Uint32(b[at+4 : at+8]))
	if n == 0 || off < 0 || off > len(b) || n > len(b)-off {
		return nil
	}
	return b[off : off+n]
}

func minOffset(b []byte, ats ...int) int {
	m := 1 << 30
	for _, at := range ats {
		if at+8 > len(b) {
			continue
		}
		if binary.LittleEndian.Uint16(b[at:at+2]) == 0 {
			continue
		}
		m = min(m, int(binary.LittleEndian.Uint32(b[at+4:at+8])))
	}
	return m
}

func (m *Message) str(b []byte) string {
	if m.Flags&FlagUnicode != 0 {
		return utf16le(b)
	}
	return oem(b)
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return clean(string(utf16.Decode(u)))
}

func oem(b []byte) string { return clean(string(b)) }

// clean drops control characters so a hostile name cannot forge output lines.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, s)
}

func version(b []byte) string {
	if b[0] == 0 && b[1] == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", b[0], b[1], binary.LittleEndian.Uint16(b[2:4]))
}

// targetInfo reads the AV pairs of a CHALLENGE message's target info.
func (m *Message) targetInfo(b []byte) {
	for len(b) >= 4 {
		id := binary.LittleEndian.Uint16(b[0:2])
		n := int(binary.LittleEndian.Uint16(b[2:4]))
		if id == 0 || 4+n > len(b) {
			return
		}
		v := b[4 : 4+n]
		switch id {
		case 1:
			m.NetBIOSComputer = utf16le(v)
		case 2:
			m.NetBIOSDomain = utf16le(v)
		case 3:
			m.DNSComputer = utf16le(v)
		case 4:
			m.DNSDomain = utf16le(v)
		}
		b = b[4+n:]
	}
}

// Describe says in one line what the message is, without secrets.
func (m *Message) Describe() string {
	switch m.Type {
	case TypeNegotiate:
		s := "NTLM NEGOTIATE (type 1)"
		if m.Workstation != "" || m.Domain != "" {
			s += " from " + strings.Trim(m.Domain+`\`+m.Workstation, `\`)
		}
		return s
	case TypeChallenge:
		s := "NTLM CHALLENGE (type 2)"
		if t := firstNonEmpty(m.DNSComputer, m.NetBIOSComputer); t != "" {
			s += " from server " + t
		}
		if d := firstNonEmpty(m.DNSDomain, m.NetBIOSDomain, m.Target); d != "" {
			s += " in domain " + d
		}
		return s
	case TypeAuthenticate:
		s := "NTLM AUTHENTICATE (type 3), " + m.Protocol
		if m.User != "" {
			s += ", user " + strings.Trim(m.Domain+`\`+m.User, `\`)
		}
		if m.Workstation != "" {
			s += " on " + m.Workstation
		}
		return s
	}
	return fmt.Sprintf("NTLM message type %d", m.Type)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
