package redact

import (
	"bytes"
	"strings"
	"testing"
)

// cookieHeaderSplit is the Split/Join form cookieHeader had before it
// copied only on change: the oracle for TestCookieHeaderSameAsSplit.
func (r *Redactor) cookieHeaderSplit(v, loc string) string {
	parts := strings.Split(v, ";")
	changed := false
	for i, p := range parts {
		lead := len(p) - len(strings.TrimLeft(p, " \t"))
		name, val, ok := strings.Cut(p[lead:], "=")
		if !ok {
			continue
		}
		nv := r.cookie(strings.TrimSpace(name), val, loc)
		if nv != val {
			parts[i] = p[:lead] + name + "=" + nv
			changed = true
		}
	}
	if !changed {
		return v
	}
	return strings.Join(parts, ";")
}

func TestCookieHeaderSameAsSplit(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	long := "Zq8Lm2Wx9Rt4Yp7Kd3Nf6Hb1Jc5Vg0"
	for _, v := range []string{
		"", ";", ";;", "a", "a=", "=", "=x", "lang=en", "ESTSAUTH=" + long,
		"ESTSAUTH=" + long + "; lang=en", "lang=en;ESTSAUTH=" + long + ";", " \tbuid=" + long + " ; fpc=" + long + ";;x=y",
		"fpc=" + long + "=" + long, "ESTSAUTH=; buid=" + long, "Esctx=" + long + "; esctx=" + long,
		"x=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl; brcap=0",
	} {
		a := New(Options{Key: key}).cookieHeader(v, "h")
		b := New(Options{Key: key}).cookieHeaderSplit(v, "h")
		if a != b {
			t.Errorf("cookie header %d bytes: the two forms differ (%d vs %d bytes)", len(v), len(a), len(b))
		}
	}
}

func TestLowerCachesNames(t *testing.T) {
	r := New(Options{})
	for _, s := range []string{"", "cookie", "Cookie", "X-MS-RefreshTokenCredential", "ÉTAG", "Set-Cookie", "Cookie"} {
		if got := r.lower(s); got != strings.ToLower(s) {
			t.Errorf("lower(%q) = %q, want %q", s, got, strings.ToLower(s))
		}
	}
	if len(r.lowers) != 4 {
		t.Errorf("lower kept %d names, want the 4 distinct ones with capitals", len(r.lowers))
	}
}

func TestTagFormat(t *testing.T) {
	r := New(Options{Key: bytes.Repeat([]byte{2}, 32)})
	a := r.tag("cookie", "ESTS AUTH\x00é", "v1")
	if !strings.HasPrefix(a, "REDACTED:cookie:ESTS_AUTH___:") || len(a) != len("REDACTED:cookie:ESTS_AUTH___:")+10 {
		t.Fatalf("pseudonym %q: want REDACTED:cookie:<clean name>:<10 hex>", a)
	}
	if b := r.tag("cookie", "ESTS AUTH\x00é", "v1"); b != a {
		t.Fatal("the same value gave two pseudonyms")
	}
	if c := r.tag("cookie", "ESTS AUTH\x00é", "v2"); c == a {
		t.Fatal("two values gave one pseudonym")
	}
	if d := r.tag("param", "", "v1"); !strings.HasPrefix(d, "REDACTED:param:") || strings.Count(d, ":") != 2 {
		t.Fatalf("pseudonym without a name %q", d)
	}
}

// echoPlain is echo without the bloom filter and the rolling hash: the
// oracle for TestEchoSameAsPlainScan.
func (r *Redactor) echoPlain(s string) string {
	e := &r.echoes
	var b strings.Builder
	last := 0
	for i := 0; i+echoKeyLen <= len(s); i++ {
		for _, c := range e.byKey[s[i:i+echoKeyLen]] {
			if strings.HasPrefix(s[i:], c.needle) {
				b.WriteString(s[last:i])
				b.WriteString(c.repl)
				last = i + len(c.needle)
				i = last - 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func TestEchoSameAsPlainScan(t *testing.T) {
	r := New(Options{Key: bytes.Repeat([]byte{3}, 32)})
	vals := []string{"Zq8Lm2Wx9Rt4Yp7Kd3Nf", "Zq8Lm2Wx9Rt4Yp7Kd3NfEXTRA", "0123456789abcdefXYZ", "aaaaaaaaaaaaaaaaaaaa"}
	for _, v := range vals {
		r.echoes.add(v, r.tag("cookie", "x", v))
	}
	rng := uint64(1)
	next := func(n int) int {
		rng = rng*6364136223846793005 + 1442695040888963407
		return int(rng>>33) % n
	}
	for round := 0; round < 2000; round++ {
		var s strings.Builder
		for k := next(8); k >= 0; k-- {
			switch next(4) {
			case 0:
				s.WriteString(vals[next(len(vals))])
			case 1:
				s.WriteString(vals[next(len(vals))][:next(20)])
			default:
				s.WriteString("?q=ab&c=" + strings.Repeat("a", next(30)))
			}
		}
		in := s.String()
		if got, want := r.echo(in, "t"), r.echoPlain(in); got != want {
			t.Fatalf("input %d bytes: echo and the plain scan differ:\n%q\n%q", len(in), got, want)
		}
	}
}
