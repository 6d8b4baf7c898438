package cli

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/trace"
)

// Made-up secrets: each must never appear in output unless --reveal.
const (
	fakePassword = "Hunter2-not-a-real-password"
	fakeSecret   = "client-secret-value-000111"
	fakeCode     = "0.AAAA-made-up-authorization-code"
	fakeCookie   = "cookie-value-abcdef0123456789"
	fakeSetCook  = "set-cookie-value-9876543210"
	fakeBearer   = "opaque-bearer-credential-42"
	fakeRefresh  = "refresh-token-made-up-value"
)

// fakeJWT is a syntactically valid unsigned JWT with made-up claims.
const fakeJWT = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWRlLXVwIiwiYXVkIjoidGVzdCJ9."

func secretFlows() []*trace.Flow {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(id int, method, url string, rqh trace.Headers, rqBody, rqMime string, status int, rsh trace.Headers, rsBody string) *trace.Flow {
		f := &trace.Flow{ID: id, Started: t0.Add(time.Duration(id) * time.Second), Time: 12, Timings: trace.NoTimings()}
		f.Request = &trace.Request{Method: method, URL: url, Proto: "HTTP/1.1", Headers: rqh, Body: []byte(rqBody), MimeType: rqMime, HasBody: rqBody != "", HeadersSize: -1, BodySize: int64(len(rqBody))}
		if status != 0 {
			f.Response = &trace.Response{Status: status, Reason: "X", Proto: "HTTP/1.1", Headers: rsh, Body: []byte(rsBody), MimeType: rsh.Get("Content-Type"), Size: int64(len(rsBody)), HeadersSize: -1, BodySize: int64(len(rsBody))}
		}
		return f
	}
	hs := func(kv ...string) trace.Headers {
		var h trace.Headers
		for i := 0; i < len(kv); i += 2 {
			h = append(h, trace.Header{Name: kv[i], Value: kv[i+1]})
		}
		return h
	}
	failed := mk(6, "GET", "https://unreachable.example.com/x?access_token="+fakeBearer, hs(), "", "", 0, nil, "")
	failed.Error = "net::ERR_NAME_NOT_RESOLVED"
	return []*trace.Flow{
		mk(1, "POST", "https://login.example.com/common/login?code="+fakeCode+"&state=visible-state",
			hs(":path", "/common/login?code="+fakeCode, "Content-Type", "application/x-www-form-urlencoded", "Cookie", "ESTSAUTH="+fakeCookie+"; other=x", "Authorization", "Bearer "+fakeBearer),
			"login=user%40example.com&passwd="+fakePassword+"&client_secret="+fakeSecret, "application/x-www-form-urlencoded",
			302, hs("Location", "https://app.example.com/cb#id_token="+fakeJWT+"&state=s1", "Set-Cookie", "ESTSAUTH="+fakeSetCook+"; path=/; secure; HttpOnly"), ""),
		mk(2, "POST", "https://login.example.com/token", hs("Content-Type", "application/x-www-form-urlencoded"),
			"grant_type=refresh_token&refresh_token="+fakeRefresh, "application/x-www-form-urlencoded",
			200, hs("Content-Type", "application/json"), `{"token_type":"Bearer","expires_in":3599,"access_token":"`+fakeJWT+`","refresh_token":"`+fakeRefresh+`","nested":{"list":[1,2.50,"x"]}}`),
		mk(3, "POST", "https://app.example.com/cb", hs(), "", "",
			200, hs("Content-Type", "text/html"), `<form method="post"><input type="hidden" name="code" value="`+fakeCode+`"/><input name="state" value="visible-state"/></form>`),
		mk(4, "GET", "https://cdn.example.com/big.js", hs(), "", "",
			200, hs("Content-Type", "application/javascript"), strings.Repeat("var a=1;", 40000)),
		mk(5, "GET", "https://cdn.example.com/img.png", hs(), "", "",
			200, hs("Content-Type", "image/png"), "\x89PNG\r\n\x1a\n"+strings.Repeat("\x00\x01\x02", 1000)),
		failed,
	}
}

// writeSecretHAR writes secretFlows to a HAR in a temporary directory.
func writeSecretHAR(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secrets.har")
	var b bytes.Buffer
	meta := &trace.Meta{}
	w := har.NewWriter(&b, meta)
	for _, f := range secretFlows() {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var fakeSecrets = map[string]string{
	"password": fakePassword, "client_secret": fakeSecret, "code": fakeCode, "cookie": fakeCookie,
	"set-cookie": fakeSetCook, "bearer": fakeBearer, "refresh_token": fakeRefresh, "jwt": fakeJWT,
}

func TestShowMasksSecretsUnlessRevealed(t *testing.T) {
	p := writeSecretHAR(t)
	for _, args := range [][]string{
		{"show"}, {"show", "--raw"}, {"show", "--format", "json"}, {"show", "--json"},
		{"show", "--as", "curl"}, {"show", "--as", "powershell"}, {"show", "--headers"}, {"show", "--follow"},
	} {
		for _, id := range []string{"1", "2", "3"} {
			a := append(append([]string{}, args...), id, p)
			code, out, e := run(t, "", a...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", a, code, e)
			}
			for name, v := range fakeSecrets {
				if strings.Contains(out, v) || strings.Contains(e, v) {
					t.Errorf("%v: the %s is printed in clear", a, name)
				}
			}
			if len(args) == 1 && !strings.Contains(out, "***(") {
				t.Errorf("%v: no mask in the output", a)
			}
		}
	}
	// What is not secret stays readable.
	_, out, _ := run(t, "", "show", "1", p)
	for _, want := range []string{"state=visible-state", "ESTSAUTH=***(", "Bearer ***(", "path=/; secure; HttpOnly", "passwd", "user@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("show 1: %q missing", want)
		}
	}
	_, out, _ = run(t, "", "show", "2", p)
	if !strings.Contains(out, "\"expires_in\": 3599") || !strings.Contains(out, "2.50") || !strings.Contains(out, "\n  \"nested\": {") {
		t.Errorf("show 2: JSON not indented with numbers kept:\n%s", out)
	}
	// --reveal shows them, with a warning on stderr.
	code, out, e := run(t, "", "show", "--reveal", "1", p)
	if code != 0 || !strings.Contains(out, fakePassword) || !strings.Contains(out, fakeCookie) || !strings.Contains(e, "warning: --reveal") {
		t.Errorf("show --reveal 1: exit %d, secrets shown %v, warning %q", code, strings.Contains(out, fakePassword), e)
	}
}

func TestShowBodiesCappedFoldedAndWhole(t *testing.T) {
	p := writeSecretHAR(t)
	flows := secretFlows()
	_, out, _ := run(t, "", "show", "4", p)
	if len(out) > showCap+4096 || !strings.Contains(out, "--body FILE writes it all") {
		t.Errorf("show 4: %d bytes on screen, want the body cut at %d with a note", len(out), showCap)
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 201 {
			t.Fatalf("show 4: a line of %d characters, want folded at 200", len(l))
		}
	}
	_, out, _ = run(t, "", "show", "5", p)
	if !strings.Contains(out, "first 256 shown as hex") || strings.Count(out, "\n") > 40 {
		t.Errorf("show 5: want a short hex head, got %d lines", strings.Count(out, "\n"))
	}
	dst := filepath.Join(t.TempDir(), "body.js")
	if code, _, e := run(t, "", "show", "--body", dst, "4", p); code != 0 {
		t.Fatalf("--body: exit %d %s", code, e)
	}
	if b, _ := os.ReadFile(dst); !bytes.Equal(b, flows[3].Response.Body) {
		t.Errorf("--body FILE: %d bytes written, want the whole %d-byte body", len(b), len(flows[3].Response.Body))
	}
	if _, out, _ := run(t, "", "show", "--body", "-", "--request", "2", p); out != string(flows[1].Request.Body) {
		t.Errorf("--body - --request: not the whole request body")
	}
	_, out, _ = run(t, "", "show", "--headers", "--response", "2", p)
	if strings.Contains(out, "token_type") || strings.Contains(out, "POST ") || !strings.Contains(out, "HTTP/1.1 200") {
		t.Errorf("--headers --response: %q", out)
	}
}

func TestShowFollowAndAs(t *testing.T) {
	p := writeSecretHAR(t)
	_, out, _ := run(t, "", "show", "--follow", "1", p)
	if !strings.Contains(out, "redirect chain from session 1 (2 sessions)") || !strings.Contains(out, "#3 200 POST https://app.example.com/cb") {
		t.Errorf("--follow: %q", out)
	}
	_, out, _ = run(t, "", "show", "--as", "curl", "1", p)
	if !strings.HasPrefix(out, "# secrets are masked") || !strings.Contains(out, "curl -X 'POST' 'https://login.example.com/common/login?code=") || !strings.Contains(out, "--data-binary 'login=") {
		t.Errorf("--as curl: %q", out)
	}
	_, out, _ = run(t, "", "show", "--reveal", "--as", "powershell", "1", p)
	if !strings.Contains(out, "Invoke-WebRequest -Uri 'https://login.example.com/common/login?code="+fakeCode) || !strings.Contains(out, "-ContentType 'application/x-www-form-urlencoded'") {
		t.Errorf("--as powershell --reveal: the command is incomplete")
	}
	if code, _, e := run(t, "", "show", "--as", "wget", "1", p); code != 2 || !strings.Contains(e, `--as "wget": want curl or powershell`) {
		t.Errorf("--as wget: exit %d %q", code, e)
	}
}

func TestShowRawNeverWritesCompressedToTerminal(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"ok":true}`))
	zw.Close()
	f := secretFlows()[2]
	f.Response.Encoding = "gzip"
	f.Response.Wire = z.Bytes()
	for _, tc := range []struct {
		tty, reveal bool
		want        string
	}{
		{true, true, "not written to a terminal"},
		{false, false, "withheld"},
		{false, true, z.String()},
	} {
		var b bytes.Buffer
		if err := writeRaw(&b, f, masker{reveal: tc.reveal}, tc.tty); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("tty=%v reveal=%v: %q missing", tc.tty, tc.reveal, tc.want)
		}
		if tc.tty && bytes.Contains(b.Bytes(), z.Bytes()[:3]) {
			t.Errorf("gzip bytes written to a terminal")
		}
	}
}
