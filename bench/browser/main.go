// Command browser benchmarks `idtrace capture --browser --headless` against
// Playwright's HAR recorder (tests/playwright/record.cjs, playwright-core on
// the same Chromium) on a local page that issues many requests: requests
// recorded, response bodies recorded, wall time, and the peak resident memory
// of the recorder's process tree (the recorder, the browser and its helper
// processes; sampled from /proc, so Linux only), and the tree's CPU time;
// each HAR is checked with
// har-validator (tools/harvalidate) when it is installed.
//
// Usage (from the repository root):
//
//	go run ./bench/browser [-n 2000] [-concurrency 16] [-runs 2] [-idle 2s]
//
// See bench/RESULTS-browser.md.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 2000, "requests the page issues")
	conc := flag.Int("concurrency", 16, "requests the page keeps in flight")
	runs := flag.Int("runs", 2, "runs of each recorder, alternating")
	idle := flag.Duration("idle", 2*time.Second, "quiet time after which both recorders stop")
	exe := flag.String("browser", "/usr/bin/chromium", "the Chromium both recorders drive")
	bin := flag.String("idtrace", "", "idtrace binary (default: built from ./cmd/idtrace)")
	only := flag.String("targets", "idtrace,playwright", "recorders to run")
	flag.Parse()
	if *n <= 0 || *conc <= 0 || *runs <= 0 || *idle <= 0 {
		fail("-n, -concurrency, -runs and -idle must be positive")
	}
	tmp, err := os.MkdirTemp("", "idtrace-bench-browser")
	if err != nil {
		fail(err.Error())
	}
	defer os.RemoveAll(tmp)
	if *bin == "" {
		*bin = filepath.Join(tmp, "idtrace")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/idtrace").CombinedOutput(); err != nil {
			fail(fmt.Sprintf("go build: %v\n%s", err, out))
		}
	}

	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/bench", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>bench</title><script>
(async () => {
  let next = 0;
  async function worker() {
    while (next < %d) { const i = next++; await (await fetch('/r/' + i)).text(); }
  }
  await Promise.all(Array.from({length: %d}, worker));
  await fetch('/done');
})();
</script>`, *n, *conc)
	})
	mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `{"path":%q,"pad":"%s"}`, r.URL.Path, strings.Repeat("x", 200))
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("done")) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err.Error())
	}
	go http.Serve(ln, mux)
	url := "http://" + ln.Addr().String() + "/bench"

	root, _ := os.Getwd()
	script := filepath.Join(root, "tests", "playwright", "record.cjs")
	fmt.Printf("page: %d fetches, %d in flight; idle %v; browser %s\n\n", *n, *conc, *idle, *exe)
	fmt.Println("| recorder | run | requests served | /r/ entries in HAR | with body | har-validator | wall s | CPU s (user+sys), tree | peak RSS MiB, tree | peak PSS MiB, tree | peak RSS MiB, recorder alone | HAR MiB |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for run := 1; run <= *runs; run++ {
		for _, target := range strings.Split(*only, ",") {
			out := filepath.Join(tmp, target+".har")
			var cmd *exec.Cmd
			switch target {
			case "idtrace":
				cmd = exec.Command(*bin, "capture", "--browser", "--headless", "--browser-path", *exe, "--url", url,
					"--idle", idle.String(), "--timeout", "10m", "-o", out, "--quiet")
			case "playwright":
				cmd = exec.Command("node", script, url, out, "--idle", strconv.FormatInt(idle.Milliseconds(), 10),
					"--timeout", "600000", "--browser", *exe)
			default:
				fail("unknown target " + target)
			}
			hits.Store(0)
			cmd.Stderr = os.Stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				fail(err.Error())
			}
			peak := make(chan mem)
			stop := make(chan struct{})
			go func() { peak <- samplePeak(cmd.Process.Pid, stop) }()
			err := cmd.Wait()
			wall := time.Since(start)
			close(stop)
			p := <-peak
			if err != nil {
				fail(fmt.Sprintf("%s: %v", target, err))
			}
			entries, bodies, size := countHAR(out)
			// The recorder's CPU time includes the browser's processes, which
			// it starts and waits for.
			cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			fmt.Printf("| %s | %d | %d | %d | %d | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.1f |\n", target, run, hits.Load(), entries, bodies,
				validate(root, out), wall.Seconds(), cpu.Seconds(), mib(p.rss), mib(p.pss), mib(p.root), float64(size)/(1<<20))
			os.Remove(out)
		}
	}
}

// validate runs har-validator (tools/harvalidate) on a HAR file: "ok",
// "FAIL" or "not installed".
func validate(root, path string) string {
	dir := filepath.Join(root, "tools", "harvalidate")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "har-validator")); err != nil {
		return "not installed"
	}
	out, err := exec.Command("node", filepath.Join(dir, "validate.js"), path).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "har-validator on %s: %v\n%s", filepath.Base(path), err, out)
		return "FAIL"
	}
	return "ok"
}

// countHAR counts the entries for /r/ and those whose body is the one served.
func countHAR(path string) (entries, bodies int, size int64) {
	raw, err := os.ReadFile(path)
	if err != nil {
		fail(err.Error())
	}
	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
				Response struct {
					Content struct {
						Text     string `json:"text"`
						Encoding string `json:"encoding"`
					} `json:"content"`
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		fail(fmt.Sprintf("%s: %v", path, err))
	}
	for _, e := range doc.Log.Entries {
		i := strings.Index(e.Request.URL, "/r/")
		if i < 0 {
			continue
		}
		entries++
		text := e.Response.Content.Text
		if e.Response.Content.Encoding == "base64" {
			b, _ := base64.StdEncoding.DecodeString(text)
			text = string(b)
		}
		if strings.Contains(text, fmt.Sprintf(`"path":%q`, e.Request.URL[i:])) {
			bodies++
		}
	}
	return entries, bodies, int64(len(raw))
}

// mem is the memory of a process tree: resident set (shared pages counted in
// every process), proportional set (shared pages divided among the
// processes sharing them) and the root process's resident set.
type mem struct{ rss, pss, root int64 }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// samplePeak returns the largest of each figure of pid's process tree seen
// every 50 ms until stop is closed.
func samplePeak(pid int, stop <-chan struct{}) mem {
	var peak mem
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		m := treeMem(pid)
		peak.rss = max(peak.rss, m.rss)
		peak.pss = max(peak.pss, m.pss)
		peak.root = max(peak.root, m.root)
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

func treeMem(root int) mem {
	dirs, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		j := strings.LastIndexByte(s, ')')
		if j < 0 {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	var m mem
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		queue = append(queue, children[pid]...)
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				m.rss += kb << 10
				if pid == root {
					m.root = kb << 10
				}
			case "Pss:":
				m.pss += kb << 10
			}
		}
	}
	return m
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench/browser:", msg)
	os.Exit(1)
}
