// Command capture benchmarks the idtrace capture proxy against mitmdump and
// go-mitmproxy, side by side in one run, on loopback, with HTTPS
// interception and recording to a file on. It measures requests per second
// and p50/p99 latency at several client counts (latency added = proxy p50
// minus direct p50), then the proxies' peak RSS (VmHWM) after N flows.
//
//	go run ./bench/capture -go-mitmproxy /path/to/go-mitmproxy
//
// The upstream is an HTTPS server in this process answering 1 KiB; every
// client keeps one HTTP/1.1 connection to the proxy (CONNECT once, then
// requests on it). Results go to stdout as a Markdown table.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// recArgs are extra arguments for the idtrace harness.
var recArgs []string

type target struct {
	name  string
	port  int
	start func(dir string, port int) (*exec.Cmd, error)
	// rssFlows is how many flows the RSS run sends (mitmdump is slow).
	rssFlows int
}

func main() {
	dur := flag.Duration("duration", 5*time.Second, "measuring time per target and client count")
	levels := flag.String("clients", "1,16,128", "client counts")
	only := flag.String("targets", "direct,idtrace,go-mitmproxy,mitmdump", "targets to run")
	gomitm := flag.String("go-mitmproxy", "go-mitmproxy", "go-mitmproxy binary")
	rssFlows := flag.Int("rss-flows", 100000, "flows sent before reading peak RSS")
	recExtra := flag.String("rec-args", "", "extra arguments for the idtrace harness (-cpuprofile FILE)")
	mitmRSSFlows := flag.Int("mitmdump-rss-flows", 20000, "flows sent to mitmdump before reading its peak RSS")
	flag.IntVar(&churnClients, "churn", 16, "also run this many clients opening a new connection (CONNECT and TLS, resumed when the proxy allows) for every request, as browsers often do; 0: not")
	flag.Parse()
	recArgs = strings.Fields(*recExtra)
	if err := run(*dur, *levels, *only, *gomitm, *rssFlows, *mitmRSSFlows); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, levelsArg, only, gomitm string, rssFlows, mitmRSSFlows int) error {
	var levels []int
	for _, s := range strings.Split(levelsArg, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-clients %q", levelsArg)
		}
		levels = append(levels, n)
	}
	body := strings.Repeat("x", 1024)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	up.Config.ErrorLog = nil
	up.StartTLS()
	defer up.Close()
	tmp, err := os.MkdirTemp("", "idtrace-bench-capture")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rec := filepath.Join(tmp, "rec")
	if out, err := exec.Command("go", "build", "-o", rec, "./bench/capture/rec").CombinedOutput(); err != nil {
		return fmt.Errorf("build rec: %v\n%s", err, out)
	}
	targets := []target{
		{name: "direct"},
		{name: "idtrace", port: 18080, rssFlows: rssFlows, start: func(dir string, port int) (*exec.Cmd, error) {
			return exec.Command(rec, append([]string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-ca", filepath.Join(dir, "ca"),
				"-o", filepath.Join(dir, "flows.idtrace-journal"), "-insecure-upstream"}, recArgs...)...), nil
		}},
		{name: "go-mitmproxy", port: 18081, rssFlows: rssFlows, start: func(dir string, port int) (*exec.Cmd, error) {
			return exec.Command(gomitm, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-web_addr", fmt.Sprintf("127.0.0.1:%d", port+100),
				"-ssl_insecure", "-dump", filepath.Join(dir, "dump.txt"), "-dump_level", "1", "-cert_path", dir), nil
		}},
		{name: "mitmdump", port: 18082, rssFlows: mitmRSSFlows, start: func(dir string, port int) (*exec.Cmd, error) {
			return exec.Command("mitmdump", "--listen-host", "127.0.0.1", "-p", strconv.Itoa(port), "--ssl-insecure", "-q",
				"--set", "confdir="+dir, "-w", filepath.Join(dir, "flows.mitm")), nil
		}},
	}
	fmt.Printf("| target | clients | req/s | p50 ms | p99 ms | p50 added ms | proxy CPU µs/req | errors |\n|---|---|---|---|---|---|---|---|\n")
	directP50 := map[int]float64{}
	var rssLines, churnLines []string
	for _, tg := range targets {
		if !slices.Contains(strings.Split(only, ","), tg.name) {
			continue
		}
		var cmd *exec.Cmd
		proxyURL := ""
		if tg.start != nil {
			dir := filepath.Join(tmp, tg.name)
			os.MkdirAll(dir, 0o700)
			cmd, err = tg.start(dir, tg.port)
			if err != nil {
				return err
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			proxyURL = fmt.Sprintf("http://127.0.0.1:%d", tg.port)
			if err := waitPort(tg.port, 20*time.Second); err != nil {
				cmd.Process.Kill()
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			// Warm up: mint the certificate, open connections.
			load(proxyURL, up.URL, 4, 0, 200)
		}
		for _, n := range levels {
			cpu0 := -1.0
			if cmd != nil {
				cpu0 = cpuOf(cmd.Process.Pid)
			}
			r := load(proxyURL, up.URL, n, dur, 0)
			perReq := "-"
			if cpu0 >= 0 && r.count > 0 {
				perReq = fmt.Sprintf("%.0f", (cpuOf(cmd.Process.Pid)-cpu0)*1e6/float64(r.count))
			}
			added := "-"
			if tg.name == "direct" {
				directP50[n] = r.p50
			} else if d, ok := directP50[n]; ok {
				added = fmt.Sprintf("%.2f", r.p50-d)
			}
			fmt.Printf("| %s | %d | %.0f | %.2f | %.2f | %s | %s | %d |\n", tg.name, n, r.rps, r.p50, r.p99, added, perReq, r.errors)
		}
		if churnClients > 0 {
			cpu0 := -1.0
			if cmd != nil {
				cpu0 = cpuOf(cmd.Process.Pid)
			}
			r := loadMode(proxyURL, up.URL, churnClients, dur, 0, true)
			perReq := "-"
			if cpu0 >= 0 && r.count > 0 {
				perReq = fmt.Sprintf("%.0f", (cpuOf(cmd.Process.Pid)-cpu0)*1e6/float64(r.count))
			}
			churnLines = append(churnLines, fmt.Sprintf("| %s | %d | %.0f | %.2f | %.2f | %s | %d |", tg.name, churnClients, r.rps, r.p50, r.p99, perReq, r.errors))
		}
		if cmd != nil {
			if tg.rssFlows > 0 {
				t0, cpu0 := time.Now(), cpuOf(cmd.Process.Pid)
				r := load(proxyURL, up.URL, 16, 0, tg.rssFlows)
				hwm, rss := memOf(cmd.Process.Pid)
				cpu := cpuOf(cmd.Process.Pid) - cpu0
				rssLines = append(rssLines, fmt.Sprintf("| %s | %d | %.0f | %.1f | %.0f | %s | %s |", tg.name, r.count, time.Since(t0).Seconds(),
					cpu, cpu*1e6/float64(max(r.count, 1)), hwm, rss))
			}
			cmd.Process.Signal(os.Interrupt)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
	}
	if len(churnLines) > 0 {
		fmt.Printf("\n| target (new connection per request) | clients | req/s | p50 ms | p99 ms | proxy CPU µs/req | errors |\n|---|---|---|---|---|---|---|\n%s\n", strings.Join(churnLines, "\n"))
	}
	if len(rssLines) > 0 {
		fmt.Printf("\n| target | flows (16 clients) | seconds | proxy CPU s (user+sys) | µs/flow | peak RSS (VmHWM) | RSS at end |\n|---|---|---|---|---|---|---|\n%s\n", strings.Join(rssLines, "\n"))
	}
	return nil
}

func waitPort(port int, d time.Duration) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("port %d not listening after %v", port, d)
}

func memOf(pid int) (hwm, rss string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?", "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = mb(f[1])
		}
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss = mb(f[1])
		}
	}
	return hwm, rss
}

// cpuOf returns the user+system CPU seconds process pid has used (all its
// threads), from /proc/PID/stat; -1 when it cannot be read.
func cpuOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// clockTicks is the kernel's USER_HZ, which /proc/PID/stat counts in (100 on Linux).
const clockTicks = 100

func mb(kb string) string {
	n, _ := strconv.Atoi(kb)
	return fmt.Sprintf("%.1f MB", float64(n)/1024)
}

type result struct {
	rps, p50, p99 float64
	count, errors int
}

// churnClients is the -churn flag.
var churnClients int

// load runs n clients for d (or until total requests are done when total > 0).
func load(proxyURL, upURL string, n int, d time.Duration, total int) result {
	return loadMode(proxyURL, upURL, n, d, total, false)
}

// loadMode is load; with churn each request opens a new connection to the
// proxy (each client keeps a TLS session cache, as a browser does).
func loadMode(proxyURL, upURL string, n int, d time.Duration, total int, churn bool) result {
	var pu *url.URL
	if proxyURL != "" {
		pu, _ = url.Parse(proxyURL)
	}
	var remaining atomic.Int64
	remaining.Store(int64(total))
	ctx, cancel := context.WithCancel(context.Background())
	if d > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), d)
	}
	defer cancel()
	var mu sync.Mutex
	var lat []float64
	var errs int
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(8)}, //nolint:gosec // a benchmark
				MaxIdleConnsPerHost: 1, DisableCompression: true, DisableKeepAlives: churn}
			if pu != nil {
				tr.Proxy = http.ProxyURL(pu)
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			var mine []float64
			myErrs := 0
			for j := 0; ctx.Err() == nil; j++ {
				if total > 0 && remaining.Add(-1) < 0 {
					break
				}
				t0 := time.Now()
				resp, err := c.Get(fmt.Sprintf("%s/api/%d/%d", upURL, i, j))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					myErrs++
					if ctx.Err() != nil {
						break
					}
					continue
				}
				mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += myErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	slices.Sort(lat)
	r := result{count: len(lat), errors: errs}
	if len(lat) > 0 {
		r.rps = float64(len(lat)) / el
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[len(lat)*99/100]
	}
	return r
}
