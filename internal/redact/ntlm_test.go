package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/ntlm"
	"github.com/idtrace/idtrace/internal/trace"
)

func decodeNTLM(t *testing.T, authz string) *ntlm.Message {
	t.Helper()
	_, tok, err := ntlm.DecodeHeader(authz)
	if err != nil {
		t.Fatalf("sanitized NTLM header: %v", err)
	}
	m, err := ntlm.Parse(tok)
	if err != nil {
		t.Fatalf("sanitized NTLM message: %v", err)
	}
	return m
}

// windowsType3 builds an AUTHENTICATE message laid out as Windows sends
// it: version and MIC after the header, NTLMv2 response, session key.
func windowsType3(p *planted) (msg []byte, secrets [][]byte) {
	u16 := func(s string) []byte {
		var b []byte
		for _, c := range s {
			b = binary.LittleEndian.AppendUint16(b, uint16(c))
		}
		return b
	}
	lm := make([]byte, 24) // NTLMv2 with a timestamp sends a zero LM response
	nt := []byte(p.secret("auth", "ntlmv2 response") + p.secret("auth", "ntlmv2 blob"))
	short := func(name string) []byte { // a 16-byte planted secret
		v := p.secret("auth", name)[:16]
		p.secrets[len(p.secrets)-1].value = v
		return []byte(v)
	}
	key, mic := short("session key"), short("mic")
	fields := [][]byte{lm, nt, u16("contoso"), u16("wopiuser1"), u16("ENDPOINT02"), key}
	hdr := make([]byte, 88)
	copy(hdr, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(hdr[8:], 3)
	binary.LittleEndian.PutUint32(hdr[60:], ntlm.FlagUnicode|ntlm.FlagNTLM|ntlm.FlagExtendedSessionSecurity|ntlm.FlagVersion)
	copy(hdr[64:], []byte{10, 0, 0x39, 0x38, 0, 0, 0, 15})
	copy(hdr[72:], mic)
	var payload []byte
	for _, f := range []int{2, 3, 4, 0, 1, 5} { // domain, user, workstation, LM, NT, key
		at := 12 + 8*f
		binary.LittleEndian.PutUint16(hdr[at:], uint16(len(fields[f])))
		binary.LittleEndian.PutUint16(hdr[at+2:], uint16(len(fields[f])))
		binary.LittleEndian.PutUint32(hdr[at+4:], uint32(88+len(payload)))
		payload = append(payload, fields[f]...)
	}
	return append(hdr, payload...), [][]byte{nt, key, mic}
}

// TestNTLMAuthenticateStructural: the sanitized type 3 message decodes to
// the same facts, its responses, session key and MIC are gone in every
// encoding, and sanitizing it again (what --check does) removes nothing.
func TestNTLMAuthenticateStructural(t *testing.T) {
	p := &planted{rnd: rand.New(rand.NewPCG(3, 4))}
	msg, secrets := windowsType3(p)
	orig, err := ntlm.Parse(msg)
	if err != nil || orig.Protocol != "NTLMv2" || !orig.HasMIC {
		t.Fatalf("test message: %+v, %v", orig, err)
	}
	cred := base64.StdEncoding.EncodeToString(msg)
	f := &trace.Flow{ID: 1, Request: req("GET", "http://sut02/", trace.Headers{{Name: "Authorization", Value: "NTLM " + cred}}, "")}
	r := New(Options{})
	out := r.Flow(f).Request.Headers.Get("Authorization")
	got := decodeNTLM(t, out)
	if got.Describe() != orig.Describe() || got.Version != orig.Version || got.Flags != orig.Flags || got.HasMIC != orig.HasMIC {
		t.Errorf("sanitized message reads %q (version %q, MIC %v), want %q (version %q, MIC %v)",
			got.Describe(), got.Version, got.HasMIC, orig.Describe(), orig.Version, orig.HasMIC)
	}
	if r.Counts()["auth"] != 1 {
		t.Errorf("removals = %v, want one auth", r.Counts())
	}
	_, raw, _ := ntlm.DecodeHeader(out)
	for _, s := range secrets {
		if bytes.Contains(raw, s) {
			t.Errorf("a secret part of %d bytes survived in the message", len(s))
		}
	}
	for _, s := range p.secrets {
		for _, e := range encodings(s.value) {
			if strings.Contains(out, e) {
				t.Errorf("%s survived in the header", s.name)
			}
		}
	}
	if !bytes.Contains(raw, ntlmFill(16)) {
		t.Errorf("the documented fill pattern is not in the message")
	}
	// Again: nothing left to remove, the bytes stay.
	r2 := New(Options{})
	if again := r2.Flow(&trace.Flow{ID: 1, Request: req("GET", "http://sut02/", trace.Headers{{Name: "Authorization", Value: out}}, "")}).Request.Headers.Get("Authorization"); again != out || r2.Total() != 0 {
		t.Errorf("sanitizing a sanitized NTLM message removed %d values", r2.Total())
	}

	// --pii: names become pseudonyms in UTF-16, the rest still reads.
	rp := New(Options{PII: true})
	pout := rp.Flow(f).Request.Headers.Get("Authorization")
	pm := decodeNTLM(t, pout)
	for _, v := range []string{pm.User, pm.Domain, pm.Workstation} {
		if !strings.HasPrefix(v, Prefix) {
			t.Errorf("--pii kept an NTLM name: %q", pm.Describe())
		}
	}
	if pm.Protocol != "NTLMv2" || pm.Version != orig.Version {
		t.Errorf("--pii message reads %q", pm.Describe())
	}
	rp2 := New(Options{PII: true})
	if rp2.Flow(&trace.Flow{ID: 1, Request: req("GET", "http://sut02/", trace.Headers{{Name: "Authorization", Value: pout}}, "")}); rp2.Total() != 0 {
		t.Errorf("sanitizing a --pii NTLM message again removed %d values", rp2.Total())
	}
}
