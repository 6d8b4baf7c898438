// Command browser compares idtrace capture --browser --headless with
// Playwright's HAR recorder (recordHar, bodies embedded) on one local page
// that issues N requests (default 2,000, 16 at a time), in one run: requests
// recorded, wall time, and the peak RSS of the recorder process itself (not
// the browser's).
//
//	go build -o /tmp/idtrace ./cmd/idtrace
//	go run ./bench/browser -idtrace /tmp/idtrace -n 2000 -runs 3
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	idtrace := flag.String("idtrace", "idtrace", "the idtrace binary")
	n := flag.Int("n", 2000, "requests the page issues")
	runs := flag.Int("runs", 3, "runs of each recorder")
	pwDir := flag.String("playwright", "tests/playwright", "the npm project with record.mjs")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>bench</title><script>
(async () => {
  let next = 0;
  async function worker() { while (next < %d) { const i = next++; await (await fetch('/r/' + i)).text(); } }
  await Promise.all(Array.from({length: 16}, worker));
  await fetch('/done');
})();
</script>`, *n)
	})
	mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"pad":"%s"}`, r.URL.Path, strings.Repeat("x", 512))
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	go http.Serve(ln, mux)
	url := "http://" + ln.Addr().String() + "/"
	dir, err := os.MkdirTemp("", "bench-browser-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	fmt.Printf("page: %d requests (16 concurrent) + /done; %d runs each\n", *n, *runs)
	fmt.Printf("%-12s %4s %10s %10s %12s\n", "recorder", "run", "recorded", "wall", "peak RSS")
	for i := 1; i <= *runs; i++ {
		out := filepath.Join(dir, fmt.Sprintf("idtrace-%d.har", i))
		wall, rss := measure(exec.Command(*idtrace, "capture", "--browser", "--headless", "--url", url, "--idle", "1s", "--timeout", "5m", "-o", out, "--quiet"))
		fmt.Printf("%-12s %4d %10d %10s %9.1f MB\n", "idtrace", i, count(out), wall.Round(10*time.Millisecond), float64(rss)/1e6)

		out = filepath.Join(dir, fmt.Sprintf("playwright-%d.har", i))
		cmd := exec.Command("node", "record.mjs", url, out, "/done", "300000")
		cmd.Dir = *pwDir
		wall, rss = measure(cmd)
		fmt.Printf("%-12s %4d %10d %10s %9.1f MB\n", "playwright", i, count(out), wall.Round(10*time.Millisecond), float64(rss)/1e6)
	}
}

// measure runs cmd and returns its wall time and the peak RSS of its own
// process (sampled from the OS while it runs).
func measure(cmd *exec.Cmd) (time.Duration, int64) {
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() {
		var max int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := peakRSS(cmd.Process.Pid); v > max {
				max = v
			}
			select {
			case <-stop:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	close(stop)
	if err != nil {
		log.Fatalf("%v: %v", cmd.Args, err)
	}
	return wall, <-peak
}

// count returns the HAR's /r/ and /done entries.
func count(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	n := 0
	for _, e := range doc.Log.Entries {
		if strings.Contains(e.Request.URL, "/r/") || strings.HasSuffix(e.Request.URL, "/done") {
			n++
		}
	}
	return n
}
