package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/browser"
	"github.com/idtrace/idtrace/internal/record"
)

// childArgs, when set, makes the test binary run idtrace with these
// arguments (separated by newlines) instead of the tests: the kill -9 test
// runs a real capture in a process it can kill (see TestMain).
const childArgs = "IDTRACE_CLI_CHILD_ARGS"

// TestCaptureBrowserKill9ThenRecover kills `idtrace capture --browser` with
// SIGKILL while a page keeps issuing requests, then recovers the journal:
// every request journaled before the kill is in the trace. The killed
// capture's temporary profile is left behind; the next capture removes it.
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
	// The temporary profiles go to a directory of the test's own (the
	// child inherits the environment).
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("TMP", tmp) // Windows
	t.Setenv("TEMP", tmp)
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

	left, _ := filepath.Glob(filepath.Join(tmp, "idtrace-browser-*"))
	if len(left) != 1 {
		t.Fatalf("%d temporary profiles after the kill, want the killed capture's one: %q", len(left), left)
	}
	// The browser dies with the capture (Linux: parent-death signal); wait
	// until the process its lock names is gone.
	if lock, err := os.Readlink(filepath.Join(left[0], "SingletonLock")); err == nil {
		pid, _ := strconv.Atoi(lock[strings.LastIndex(lock, "-")+1:])
		for i := 0; pid > 0 && i < 200; i++ {
			if p, err := os.FindProcess(pid); err != nil || p.Signal(syscall.Signal(0)) != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	out2 := filepath.Join(t.TempDir(), "next.har")
	if code, _, errOut := run(t, "", "capture", "--browser", "--headless", "--url", srv.URL+"/nothing", "--idle", "1s", "--timeout", "60s", "-o", out2, "--quiet"); code != 0 {
		t.Fatalf("the next capture: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Fatalf("the next capture left the killed capture's profile %s: %v", left[0], err)
	}
	if now, _ := filepath.Glob(filepath.Join(tmp, "idtrace-*")); len(now) != 0 {
		t.Fatalf("temporary directories left after the next capture: %q", now)
	}
}
