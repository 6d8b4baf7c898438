package ntlm

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"
)

// Synthetic messages built from the MS-NLMP layouts (not captured).

func u16(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

// authenticate builds a type 3 message with the given NT response length.
func authenticate(domain, user, ws string, ntLen int, withVersion bool) []byte {
	flags := uint32(FlagUnicode | FlagNTLM | FlagExtendedSessionSecurity)
	head := 64
	if withVersion {
		flags |= FlagVersion
		head = 88 // version + MIC
	}
	b := make([]byte, head)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], TypeAuthenticate)
	binary.LittleEndian.PutUint32(b[60:], flags)
	if withVersion {
		copy(b[64:], []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15})
	}
	put := func(at int, v []byte) {
		binary.LittleEndian.PutUint16(b[at:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(len(v)))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(len(b)))
		b = append(b, v...)
	}
	put(12, make([]byte, 24))
	put(20, make([]byte, ntLen))
	put(28, u16(domain))
	put(36, u16(user))
	put(44, u16(ws))
	return b
}

func TestAuthenticate(t *testing.T) {
	for _, tt := range []struct {
		nt      int
		version bool
		proto   string
	}{{120, true, "NTLMv2"}, {24, false, "NTLMv1 with extended session security"}, {0, false, "anonymous"}} {
		user := "alice"
		if tt.nt == 0 {
			user = ""
		}
		m, err := Parse(authenticate("CONTOSO", user, "WS01", tt.nt, tt.version))
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != TypeAuthenticate || m.Protocol != tt.proto || m.User != user || m.Domain != "CONTOSO" || m.Workstation != "WS01" {
			t.Errorf("nt %d: %+v", tt.nt, m)
		}
		if tt.version && (m.Version != "10.0.19041" || !m.HasMIC) {
			t.Errorf("version/MIC: %+v", m)
		}
		if d := m.Describe(); !strings.Contains(d, tt.proto) {
			t.Errorf("Describe() = %q", d)
		}
	}
}

func TestNegotiateAndChallenge(t *testing.T) {
	// The NEGOTIATE token Windows sends (flags 0xa2088207, version 10.0.14393).
	_, b, err := DecodeHeader("NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKADk4AAAADw==")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil || m.Type != TypeNegotiate || m.Version != "10.0.14393" {
		t.Fatalf("%+v %v", m, err)
	}
	// A CHALLENGE with target info naming the server and its domain.
	var ti []byte
	for _, av := range []struct {
		id uint16
		v  string
	}{{2, "CONTOSO"}, {1, "SP01"}, {4, "contoso.local"}, {3, "sp01.contoso.local"}} {
		ti = binary.LittleEndian.AppendUint16(ti, av.id)
		ti = binary.LittleEndian.AppendUint16(ti, uint16(len(u16(av.v))))
		ti = append(ti, u16(av.v)...)
	}
	ti = append(ti, 0, 0, 0, 0)
	target := u16("CONTOSO")
	c := make([]byte, 56)
	copy(c, signature)
	binary.LittleEndian.PutUint32(c[8:], TypeChallenge)
	binary.LittleEndian.PutUint32(c[20:], FlagUnicode|FlagTargetInfo)
	binary.LittleEndian.PutUint16(c[12:], uint16(len(target)))
	binary.LittleEndian.PutUint32(c[16:], 56)
	binary.LittleEndian.PutUint16(c[40:], uint16(len(ti)))
	binary.LittleEndian.PutUint32(c[44:], uint32(56+len(target)))
	c = append(append(c, target...), ti...)
	m, err = Parse(c)
	if err != nil || m.Target != "CONTOSO" || m.DNSComputer != "sp01.contoso.local" || m.DNSDomain != "contoso.local" || m.NetBIOSComputer != "SP01" {
		t.Fatalf("%+v %v", m, err)
	}
	if d := m.Describe(); !strings.Contains(d, "sp01.contoso.local") {
		t.Errorf("Describe() = %q", d)
	}
}

func TestBad(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("NTLMSSP"), []byte("NTLMSSP\x00\x03\x00\x00\x00"), []byte("NTLMSSP\x00\x09\x00\x00\x00\x00\x00\x00\x00"), []byte("HELLO WORLD!")} {
		if _, err := Parse(b); err == nil {
			t.Errorf("Parse(%q) accepted", b)
		}
	}
	if _, _, err := DecodeHeader("NTLM !!!"); err == nil {
		t.Error("bad base64 accepted")
	}
	if s, tok, err := DecodeHeader("Negotiate"); err != nil || s != "Negotiate" || tok != nil {
		t.Errorf("bare scheme: %q %v %v", s, tok, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(authenticate("D", "u", "w", 120, true))
	b, _ := base64.StdEncoding.DecodeString("TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKADk4AAAADw==")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err == nil {
			_ = m.Describe()
		}
	})
}
