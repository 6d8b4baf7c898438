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
