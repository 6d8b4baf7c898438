//go:build unix

package cli

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/record"
)

// TestCaptureProxySIGTERM runs `idtrace capture` as a process, sends it N
// requests (plain and HTTPS, from several clients at once), then SIGTERM:
// it exits 0, the file holds the N requests, each with its response, and
// the journal is gone.
func TestCaptureProxySIGTERM(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "answer %s", r.URL.Path) }))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	defer tlsSrv.Close()
	for _, ext := range []string{"saz", "har"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "term."+ext)
			addr := freeAddr(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"capture", "-o", out, "--listen", addr,
				"--ca-dir", filepath.Join(dir, "ca"), "--insecure-upstream", "--quiet"}, "\n"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			defer func() {
				select {
				case <-exited:
				default:
					cmd.Process.Kill()
					<-exited
				}
			}()
			up := false
			for i := 0; i < 200 && !up; i++ {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					up = true
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if !up {
				t.Fatalf("the capture did not start: %s", stderr.String())
			}
			pem, err := os.ReadFile(filepath.Join(dir, "ca", "idtrace-ca.pem"))
			pool := x509.NewCertPool()
			if err != nil || !pool.AppendCertsFromPEM(pem) {
				t.Fatalf("CA: %v", err)
			}
			rc := &runningCapture{Addr: addr}
			client := rc.Client(&http.Transport{TLSClientConfig: tlsConfig(pool)})
			const n, workers = 240, 8
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += workers {
						base := srv.URL
						if i%2 == 0 {
							base = tlsSrv.URL
						}
						resp, err := client.Get(fmt.Sprintf("%s/r/%d", base, i))
						if err != nil {
							errs <- err
							return
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if string(b) != fmt.Sprintf("answer /r/%d", i) {
							errs <- fmt.Errorf("request %d got %q", i, b)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			// Keep-alive connections stay open: the capture closes them itself.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
				if waitErr != nil {
					t.Fatalf("capture after SIGTERM: %v\n%s", waitErr, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the capture did not exit 30 s after SIGTERM: %s", stderr.String())
			}
			if _, err := os.Stat(record.JournalPath(out)); !os.IsNotExist(err) {
				t.Errorf("the journal is still there after SIGTERM: %v", err)
			}
			_, flows := readAll(t, out)
			seen := map[string]bool{}
			for _, f := range flows {
				if f.Response == nil || f.Error != "" {
					t.Errorf("flow %d %s: error %q", f.ID, f.Request.URL, f.Error)
					continue
				}
				seen[f.Request.URL] = true
			}
			if len(flows) != n || len(seen) != n {
				t.Fatalf("%s holds %d flows (%d distinct URLs), want %d", out, len(flows), len(seen), n)
			}
		})
	}
}
