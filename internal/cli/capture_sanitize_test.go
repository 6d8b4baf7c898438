package cli

import (
	"context"
	"io"
	"net"
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
	dir := t.TempDir()
	out := filepath.Join(dir, "case.har")
	plain := httptest.NewServer(idp())
	defer plain.Close()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut syncBuffer
	done := make(chan int, 1)
	exit := -1
	defer func() {
		if exit < 0 {
			cancel()
			<-done
		}
	}()
	go func() {
		done <- Main(ctx, []string{"capture", "-o", out, "--listen", addr, "--ca-dir", filepath.Join(dir, "ca"), "--sanitize", "--quiet"},
			Env{IO: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, Getenv: func(string) string { return "" }})
	}()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pu, _ := url.Parse("http://" + addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("POST", plain.URL+"/organizations/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "client_secret": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "ESTSAUTH="+cookie)
	resp, err := client.Do(req)
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
	for _, v := range []string{cookie, secret, url.QueryEscape(secret)} {
		if strings.Contains(string(journal), v) {
			t.Fatal("the journal holds a secret sent through a --sanitize capture")
		}
	}
	cancel()
	if exit = <-done; exit != 0 {
		t.Fatalf("capture exit %d: %s", exit, errOut.String())
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
	dir := t.TempDir()
	out := filepath.Join(dir, "case.har")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut syncBuffer
	done := make(chan int, 1)
	exit := -1
	defer func() {
		if exit < 0 {
			cancel()
			<-done
		}
	}()
	go func() {
		done <- Main(ctx, []string{"capture", "-o", out, "--listen", addr, "--ca-dir", filepath.Join(dir, "ca"), "--quiet"},
			Env{IO: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, Getenv: func(string) string { return "" }})
	}()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pu, _ := url.Parse("http://" + addr)
	// DisableCompression: the client must not ask for gzip itself.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DisableCompression: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(upstream.URL + "/data.json")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if exit = <-done; exit != 0 {
		t.Fatalf("capture exit %d: %s", exit, errOut.String())
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
