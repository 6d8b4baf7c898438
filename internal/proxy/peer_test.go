package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestUpstreamMitmproxy chains the proxy through mitmdump, an independent
// proxy implementation, as its upstream: decrypted HTTPS (CONNECT through
// mitmdump, which passes it through), plain HTTP (which mitmdump forwards).
func TestUpstreamMitmproxy(t *testing.T) {
	if _, err := exec.LookPath("mitmdump"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mitmdump (Debian package mitmproxy) not installed")
		}
		t.Skip("mitmdump not installed")
	}
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	plain := httptest.NewServer(http.HandlerFunc(echoHandler))
	defer plain.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("mitmdump", "--listen-host", "127.0.0.1", "-p", fmt.Sprint(port), "--set", "confdir="+t.TempDir(),
		"--ignore-hosts", ".*", "--flow-detail", "1")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	defer stop()
	ready := false
	for i := 0; i < 150 && !ready; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			ready = true
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("mitmdump did not start:\n%s", log.String())
	}
	u, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	h := startProxy(t, Config{RootCAs: upstreamPool(up), Upstream: u})
	for _, target := range []string{up.URL + "/via-mitmproxy", plain.URL + "/plain-via-mitmproxy"} {
		resp, err := h.client(false).Get(target)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "GET /") {
			t.Errorf("%s through mitmdump: %d %q", target, resp.StatusCode, b)
		}
		if f := h.next(); f.Response == nil || f.Request.URL != target {
			t.Errorf("flow for %s: %q", target, f.Error)
		}
	}
	time.Sleep(200 * time.Millisecond) // let mitmdump print its flow line
	stop()
	if !strings.Contains(log.String(), "/plain-via-mitmproxy") {
		t.Errorf("mitmdump did not see the plain request:\n%s", log.String())
	}
}
