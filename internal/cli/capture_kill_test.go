package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/browser"
	"github.com/idtrace/idtrace/internal/record"
)

// childArgs, when set, makes the test binary run idtrace with these
// arguments (separated by newlines) instead of the tests: the kill -9 test
// runs a real capture in a process it can kill.
const childArgs = "IDTRACE_CLI_CHILD_ARGS"

func TestMain(m *testing.M) {
	if a := os.Getenv(childArgs); a != "" {
		os.Exit(Main(context.Background(), strings.Split(a, "\n"), System()))
	}
	os.Exit(m.Run())
}

// TestCaptureBrowserKill9ThenRecover kills `idtrace capture --browser` with
// SIGKILL while a page keeps issuing requests, then recovers the journal:
// every request journaled before the kill is in the trace.
func TestCaptureBrowserKill9ThenRecover(t *testing.T) {
	if _, err := browser.Find(os.Getenv("IDTRACE_BROWSER")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><script>(async () => { for (let i = 0; ; i++) { await (await fetch('/r/' + i)).text(); } })()</script>`)
			return
		}
		fmt.Fprintf(w, "answer %s", r.URL.Path)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "k.saz")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join([]string{"capture", "--browser", "--headless", "--url", srv.URL + "/", "--timeout", "60s", "-o", out, "--quiet"}, "\n"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until at least 300 flows are journaled, then kill -9.
	journal := record.JournalPath(out)
	deadline := time.Now().Add(60 * time.Second)
	journaled := 0
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(journal)
		if journaled = bytes.Count(b, []byte("\nF ")); journaled >= 300 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if journaled < 300 {
		t.Fatalf("only %d flows journaled in 60 s: %s", journaled, stderr.String())
	}
	code, _, errOut := run(t, "", "recover", journal)
	if code != 0 {
		t.Fatalf("recover: exit %d: %s", code, errOut)
	}
	_, flows := readAll(t, out)
	if len(flows) < journaled {
		t.Fatalf("recovered %d flows; %d were journaled before the kill", len(flows), journaled)
	}
	for i, f := range flows {
		if f.Response == nil && f.Error == "" {
			t.Fatalf("flow %d (%s) has neither a response nor an error", i+1, f.Request.URL)
		}
	}
}
