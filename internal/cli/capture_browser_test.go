package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/browser"
)

// TestCaptureBrowserCommand runs `idtrace capture --browser --headless` on a
// local page and reads the HAR back: every request, its body, and the
// fields DevTools writes.
func TestCaptureBrowserCommand(t *testing.T) {
	if _, err := browser.Find(os.Getenv("IDTRACE_BROWSER")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>p</title><script>fetch('/api', {method: 'POST', body: 'client_id=abc&grant_type=refresh_token'}).then(r => r.text())</script>`)
		case "/api":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(append([]byte(`{"echo":"`), append(b, `"}`...)...))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.har")
	code, _, stderr := run(t, "", "capture", "--browser", "--headless", "--url", srv.URL+"/", "--idle", "1500ms", "--timeout", "60s", "-o", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, flows := readAll(t, out)
	paths := map[string]int{}
	for _, f := range flows {
		paths[f.Request.Path()]++
	}
	for _, p := range []string{"/", "/page", "/api"} {
		if paths[p] != 1 {
			t.Fatalf("%s recorded %d times; all: %v", p, paths[p], paths)
		}
	}
	raw, _ := os.ReadFile(out)
	var doc struct {
		Log struct {
			Pages   []map[string]any `json:"pages"`
			Entries []struct {
				Request struct {
					URL      string `json:"url"`
					PostData struct {
						Text string `json:"text"`
					} `json:"postData"`
				} `json:"request"`
				Response map[string]any `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Log struct {
			Entries []map[string]any `json:"entries"`
		} `json:"log"`
	}
	json.Unmarshal(raw, &generic)
	for i, e := range doc.Log.Entries {
		g := generic.Log.Entries[i]
		for _, k := range []string{"_initiator", "_resourceType", "_priority"} {
			if g[k] == nil {
				t.Fatalf("entry %d (%s): no %s", i, e.Request.URL, k)
			}
		}
		if e.Response["_transferSize"] == nil {
			t.Fatalf("entry %d (%s): no response._transferSize", i, e.Request.URL)
		}
		if strings.HasSuffix(e.Request.URL, "/api") && e.Request.PostData.Text != "client_id=abc&grant_type=refresh_token" {
			t.Fatalf("/api: postData not recorded as sent")
		}
	}
	if len(doc.Log.Pages) == 0 {
		t.Fatal("no pages in the HAR")
	}
}
