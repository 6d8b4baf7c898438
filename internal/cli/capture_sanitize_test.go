package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// TestCaptureSanitize: with --sanitize, secrets sent through the proxy reach
// neither the written trace nor the journal, while the requests themselves do.
func TestCaptureSanitize(t *testing.T) {
	const cookie = "0.AXkAq1zSecretCookieValue7fQ9x2LmN4pR8sT1vW3yZ5bD"
	const secret = "Xy9~SecretClientValue.2kLm4Np6Qr8St0Uv"
	plain := httptest.NewServer(idp())
	defer plain.Close()
	out := filepath.Join(t.TempDir(), "case.har")
	rc := startCapture(t, out, "--sanitize", "--quiet")
	req, _ := http.NewRequest("POST", plain.URL+"/organizations/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "client_secret": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "ESTSAUTH="+cookie)
	resp, err := rc.Client(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The journal holds the flow once it completed; it must already be clean.
	deadline := time.Now().Add(5 * time.Second)
	var journal []byte
	for time.Now().Before(deadline) {
		journal, _ = os.ReadFile(out + ".idtrace-journal")
		if strings.Contains(string(journal), "oauth2") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(string(journal), "oauth2") {
		t.Fatal("the journal never showed the token request")
	}
	for _, v := range []string{cookie, secret, url.QueryEscape(secret)} {
		if strings.Contains(string(journal), v) {
			t.Fatal("the journal holds a secret sent through a --sanitize capture")
		}
	}
	if code := rc.Stop(); code != 0 {
		t.Fatalf("capture exit %d: %s", code, rc.ErrOut.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{cookie, secret, url.QueryEscape(secret)} {
		if strings.Contains(string(b), v) {
			t.Fatal("the written trace holds a secret sent through a --sanitize capture")
		}
	}
	if !strings.Contains(string(b), "/organizations/oauth2/v2.0/token") || !strings.Contains(string(b), "REDACTED:") {
		t.Fatal("the sanitized trace lacks the token request or its placeholders")
	}
}

// TestCaptureDecodesBrotli: a br-encoded response is recorded decoded, with
// its wire form kept (the proxy decodes gzip and deflate itself; br and zstd
// come from httpmsg).
func TestCaptureDecodesBrotli(t *testing.T) {
	const text = `{"message":"brotli body recorded decoded"}`
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "br")
		bw := brotli.NewWriter(w)
		io.WriteString(bw, text)
		bw.Close()
	}))
	defer upstream.Close()
	out := filepath.Join(t.TempDir(), "case.har")
	rc := startCapture(t, out, "--quiet")
	// DisableCompression: the client must not ask for gzip itself.
	resp, err := rc.Client(&http.Transport{DisableCompression: true}).Get(upstream.URL + "/data.json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if code := rc.Stop(); code != 0 {
		t.Fatalf("capture exit %d: %s", code, rc.ErrOut.String())
	}
	_, flows := readAll(t, out)
	for _, f := range flows {
		if strings.HasSuffix(f.Request.URL, "/data.json") {
			if f.Response == nil || string(f.Response.Body) != text {
				t.Fatalf("the br response was not recorded decoded")
			}
			return
		}
	}
	t.Fatal("the request is missing from the capture")
}
