package cli

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/proxy"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestChromiumTrustsInstalledCA runs real headless Chromium through the
// proxy after `idtrace ca install --store nss`: the browser accepts the
// minted certificate only because the CA is in its NSS database, and
// speaks HTTP/2 to the proxy.
func TestChromiumTrustsInstalledCA(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	_, certutilErr := exec.LookPath("certutil")
	if chromium == "" || certutilErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium and certutil (libnss3-tools) are needed")
		}
		t.Skip("chromium or certutil not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	db := filepath.Join(home, ".pki", "nssdb")
	os.MkdirAll(db, 0o700)
	if out, err := exec.Command("certutil", "-N", "--empty-password", "-d", "sql:"+db).CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "ca")
	if code, out, errOut := run(t, "", "ca", "install", "--store", "nss", "--dir", dir); code != 0 {
		t.Fatalf("ca install: %d %s %s", code, out, errOut)
	}
	ca, err := certs.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body><p id=x>signed in through idtrace</p></body></html>"))
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	pool := certPoolOf(up)

	var mu sync.Mutex
	var flows []*trace.Flow
	p, err := proxy.New(proxy.Config{CA: ca, RootCAs: pool, OnFlow: func(f *trace.Flow) {
		mu.Lock()
		flows = append(flows, f)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()

	browse := func(home string) string {
		args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + filepath.Join(home, "profile"),
			"--proxy-server=http://" + ln.Addr().String(), "--proxy-bypass-list=<-loopback>", "--dump-dom", up.URL + "/page"}
		cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer ccancel()
		cmd := exec.CommandContext(cctx, chromium, args...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		out, _ := cmd.Output()
		return string(out)
	}
	// Control: a profile whose NSS database lacks the CA refuses the proxy's certificate.
	bare := t.TempDir()
	os.MkdirAll(filepath.Join(bare, ".pki", "nssdb"), 0o700)
	exec.Command("certutil", "-N", "--empty-password", "-d", "sql:"+filepath.Join(bare, ".pki", "nssdb")).Run()
	if page := browse(bare); strings.Contains(page, "signed in through idtrace") {
		t.Fatal("Chromium loaded the page without the CA installed: the test proves nothing")
	}
	page := browse(home)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "signed in through idtrace") {
		t.Fatalf("Chromium did not load the page through the proxy with the installed CA:\n%s", page)
	}
	mu.Lock()
	defer mu.Unlock()
	var got *trace.Flow
	for _, f := range flows {
		if f.Request.URL == up.URL+"/page" {
			got = f
		}
	}
	if got == nil || got.Response == nil || got.Response.Status != 200 {
		t.Fatalf("no 200 flow for the page among %d flows", len(flows))
	}
	if got.Request.Proto != "HTTP/2.0" {
		t.Errorf("Chromium spoke %s to the proxy, want HTTP/2 (ALPN h2)", got.Request.Proto)
	}
	if !strings.HasPrefix(got.Process, "chrom") {
		t.Logf("process recorded as %q", got.Process)
	}
}

func certPoolOf(s *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return pool
}
