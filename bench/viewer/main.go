// Command viewer benchmarks the viewer's index and API (see run.sh):
//
//	go run ./bench/viewer gen -flows 100000 -o bench/out/v100k.har
//	go run ./bench/viewer run bench/out/v100k.har
//
// gen writes a HAR of n flows: browser-like headers and cookies, small JSON
// and HTML bodies, an Entra authorize / token pair every 50 flows, a 4xx
// every 97. run indexes it the way `idtrace view` does (index.Build with the
// analyzer in the same pass), serves it with the web package on 127.0.0.1,
// and times the first grid page and a full-text query through HTTP.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/trace"
	"github.com/idtrace/idtrace/internal/web"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: viewer gen|run ...")
	}
	switch os.Args[1] {
	case "gen":
		gen(os.Args[2:])
	case "run":
		run(os.Args[2:])
	default:
		log.Fatalf("unknown subcommand %q", os.Args[1])
	}
}

func gen(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("flows", 100000, "number of flows")
	out := fs.String("o", "v100k.har", "output file")
	fs.Parse(args)
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	meta := &trace.Meta{Creator: trace.Software{Name: "idtrace bench viewer", Version: "1"}}
	w := har.NewWriter(bw, meta)
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Unix(1700000000, 0).UTC()
	words := []string{"contoso", "fabrikam", "adele", "vance", "engineer", "portal", "graph", "items", "sharepoint", "teams"}
	for i := 1; i <= *n; i++ {
		host := []string{"login.microsoftonline.com", "graph.microsoft.com", "portal.contoso.example", "aadcdn.msauth.net"}[i%4]
		path := fmt.Sprintf("/v1.0/%s/%d", words[rng.IntN(len(words))], i)
		method, status, body := "GET", 200, []byte(nil)
		ct := "application/json; charset=utf-8"
		switch {
		case i%50 == 1:
			host, path = "login.microsoftonline.com", fmt.Sprintf("/common/oauth2/v2.0/authorize?client_id=89bee1f7-5e6e-4d8a-9f3d-ecd601259da7&response_type=code&redirect_uri=https%%3A%%2F%%2Fportal.contoso.example%%2F&scope=openid+profile&state=s%d&nonce=n%d", i, i)
			status, ct = 200, "text/html; charset=utf-8"
		case i%50 == 2:
			host, path, method = "login.microsoftonline.com", "/common/oauth2/v2.0/token", "POST"
			body = fmt.Appendf(nil, "grant_type=authorization_code&client_id=89bee1f7-5e6e-4d8a-9f3d-ecd601259da7&code=c%x&redirect_uri=https%%3A%%2F%%2Fportal.contoso.example%%2F", rng.Uint64())
		case i%97 == 0:
			status = 400 + rng.IntN(4)
		}
		q := &trace.Request{Method: method, URL: "https://" + host + path, Proto: "h2", Body: body, HasBody: body != nil,
			HeadersSize: trace.Unknown, BodySize: int64(len(body)),
			Headers: trace.Headers{{Name: ":authority", Value: host}, {Name: "accept", Value: "application/json, text/plain, */*"},
				{Name: "cookie", Value: fmt.Sprintf("ESTSAUTH=%x; buid=%x", rng.Uint64(), rng.Uint64())},
				{Name: "user-agent", Value: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/134.0.0.0 Safari/537.36"}}}
		if body != nil {
			q.Headers = append(q.Headers, trace.Header{Name: "content-type", Value: "application/x-www-form-urlencoded"})
			q.MimeType = "application/x-www-form-urlencoded"
		}
		rb := fmt.Appendf(nil, `{"value":[{"id":"%x","displayName":"%s %s","mail":"%s@contoso.example"}],"requestId":"%x"}`,
			rng.Uint64(), words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.Uint64())
		if status >= 400 {
			rb = fmt.Appendf(nil, `{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication. Trace ID: %x"}`, rng.Uint64())
		}
		s := &trace.Response{Status: status, Proto: "h2", Body: rb, MimeType: ct, Size: int64(len(rb)), HeadersSize: trace.Unknown, BodySize: int64(len(rb)),
			Headers: trace.Headers{{Name: "content-type", Value: ct}, {Name: "x-ms-request-id", Value: fmt.Sprintf("%x", rng.Uint64())}}}
		fl := &trace.Flow{ID: i, Started: start.Add(time.Duration(i) * 37 * time.Millisecond), Time: float64(20 + rng.IntN(300)),
			Request: q, Response: s, Timings: trace.Timings{Blocked: 1, DNS: trace.NA, Connect: trace.NA, SSL: trace.NA, Send: 0.2, Wait: 50, Receive: 3}}
		if err := w.WriteFlow(fl); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	f.Close()
}

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	reps := fs.Int("n", 30, "repetitions of each API request")
	prof := fs.String("cpuprofile", "", "write a CPU profile of the index build to `file`")
	chrome := fs.String("chromium", "", "path of Chromium: also time scrolling the grid top to bottom")
	reuse := fs.String("db", "", "an index `file` to reuse (built there when missing): skips the build, for repeated scroll runs")
	fs.Parse(args)
	if *reuse != "" {
		x, err := index.Open(*reuse)
		if err != nil {
			f, ferr := os.Open(fs.Arg(0))
			if ferr != nil {
				log.Fatal(ferr)
			}
			if x, err = index.Build(context.Background(), *reuse, har.NewReader(bufio.NewReaderSize(f, 256<<10), filepath.Base(fs.Arg(0))), nil); err != nil {
				log.Fatal(err)
			}
			f.Close()
		}
		srv, err := web.New(web.Options{Traces: []*web.Trace{{Name: filepath.Base(fs.Arg(0)), Index: x, Report: analyze.New(analyze.Options{}).Finish()}}})
		if err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go srv.Serve(ctx)
		if *chrome != "" {
			scroll(*chrome, srv.URL(), x.Len())
		}
		cancel()
		x.Close()
		return
	}
	if *prof != "" {
		pf, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(pf)
	}
	path := fs.Arg(0)
	dir, err := os.MkdirTemp("", "idtrace-bench-index-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	a := analyze.New(analyze.Options{})
	x, err := index.Build(context.Background(), filepath.Join(dir, "x.db"), har.NewReader(bufio.NewReaderSize(f, 256<<10), filepath.Base(path)), a.Add)
	if err != nil {
		log.Fatal(err)
	}
	rep := a.Finish()
	marks := map[int]int{}
	for _, s := range rep.Flows {
		for _, st := range s.Steps {
			marks[st.FlowID] = s.ID
		}
	}
	if err := x.MarkSignIns(marks); err != nil {
		log.Fatal(err)
	}
	build := time.Since(t0)
	if *prof != "" {
		pprof.StopCPUProfile()
	}
	st, _ := os.Stat(filepath.Join(dir, "x.db"))
	fmt.Printf("index build + analysis: %.2f s wall, %.2f s CPU (user+sys, whole process so far), %d flows, %d sign-ins, index %.0f MB\n",
		build.Seconds(), cpuTime().Seconds(), x.Len(), len(rep.Flows), float64(st.Size())/(1<<20))

	srv, err := web.New(web.Options{Traces: []*web.Trace{{Name: filepath.Base(path), Index: x, Report: rep}}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Serve(ctx)
	defer cancel()
	get := func(p string) time.Duration {
		req, _ := http.NewRequest("GET", srv.BaseURL()+p, nil)
		req.Header.Set("X-Idtrace-Token", srv.Token())
		t := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		var pg index.Page
		if err := json.NewDecoder(resp.Body).Decode(&pg); err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if resp.StatusCode != 200 || len(pg.Rows) == 0 {
			log.Fatalf("%s: %d, %d rows", p, resp.StatusCode, len(pg.Rows))
		}
		return d
	}
	for _, c := range []struct{ name, path string }{
		{"first grid page (200 rows)", "/api/flows?offset=0&limit=200"},
		{fmt.Sprintf("grid page at row %d", x.Len()*9/10), fmt.Sprintf("/api/flows?offset=%d&limit=200", x.Len()*9/10)},
		{"FTS query 'AADSTS50076'", "/api/flows?q=AADSTS50076&limit=200"},
		{"FTS query 'adele fabrikam'", "/api/flows?q=adele+fabrikam&limit=200"},
		{"host filter + sort by size", "/api/flows?host=graph&sort=bytes&desc=1&limit=200"},
	} {
		var ds []time.Duration
		for i := 0; i < *reps; i++ {
			ds = append(ds, get(c.path))
		}
		slices.Sort(ds)
		fmt.Printf("%s: p50 %.1f ms, p95 %.1f ms (n=%d)\n", c.name, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), len(ds))
	}
	if *chrome != "" {
		scroll(*chrome, srv.URL(), x.Len())
	}
	x.Close()
}

// scroll opens the page in headless Chromium and scrolls the grid from top
// to bottom, 4,000 px per animation frame, recording the time between
// frames (requestAnimationFrame timestamps).
func scroll(exe, u string, rows int) {
	dir, _ := os.MkdirTemp("", "idtrace-bench-chromium-")
	defer os.RemoveAll(dir)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(dir), chromedp.WindowSize(1500, 1000))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		log.Fatal(err)
	}
	wait := chromedp.Poll[any](fmt.Sprintf(`document.getElementById('grid').getAttribute('aria-rowcount') === '%d'`, rows), chromedp.WithPollingTimeout(60*time.Second))
	if _, err := chromedp.Run(ctx, wait); err != nil {
		log.Fatal(err)
	}
	js := `new Promise(done => {
		const g = document.getElementById('grid'), d = [];
		let last = 0;
		function step(ts) {
			if (last) d.push(ts - last);
			last = ts;
			if (g.scrollTop + g.clientHeight >= g.scrollHeight - 1) { done(JSON.stringify(d)); return; }
			g.scrollTop += 4000;
			requestAnimationFrame(step);
		}
		requestAnimationFrame(step);
	})`
	// A DevTools performance trace of the scroll, as the Performance panel
	// records it: the frame events of the compositor.
	var (
		evMu   sync.Mutex
		events []traceEvent
		done   = make(chan struct{})
	)
	chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			evMu.Lock()
			for _, v := range e.Value {
				var te traceEvent
				if json.Unmarshal(v, &te) == nil {
					events = append(events, te)
				}
			}
			evMu.Unlock()
		case *tracing.EventTracingComplete:
			close(done)
		}
	})
	if _, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline.frame", "benchmark", "cc"}}}); err != nil {
		log.Fatal(err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		log.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		log.Fatal("the performance trace did not complete")
	}
	evMu.Lock()
	printFrames(events)
	evMu.Unlock()
	var d []float64
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		log.Fatal(err)
	}
	slices.Sort(d)
	lastRow := chromedp.Poll[any](fmt.Sprintf(`!!document.querySelector('#grid .row[data-id="%d"]')`, rows), chromedp.WithPollingTimeout(30*time.Second))
	last := "drawn"
	if _, err := chromedp.Run(ctx, lastRow); err != nil {
		last = "not drawn"
	}
	fmt.Printf("grid scroll top to bottom in Chromium: %d frames, frame time p50 %.1f ms, p95 %.1f ms, max %.1f ms; last row (#%d): %s\n",
		len(d), d[len(d)/2], d[len(d)*95/100], d[len(d)-1], rows, last)
}

// traceEvent is the part of a Chrome trace event the frame count needs.
type traceEvent struct {
	Name string  `json:"name"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"` // microseconds
	Dur  float64 `json:"dur"`
	Pid  int     `json:"pid"`
}

// printFrames reports the frame times of the performance trace: the time
// between consecutive main-thread frames of the page (BeginMainThreadFrame,
// one of the events the Performance panel builds its frames track from;
// headless Chromium draws no DrawFrame), per process, taking the one with
// most frames (the page's renderer). A frame whose scripts, style, layout
// or paint overrun delays the next one, so a slow grid shows up here.
func printFrames(evs []traceEvent) {
	by := map[int][]float64{}
	for _, e := range evs {
		if e.Name == "BeginMainThreadFrame" {
			by[e.Pid] = append(by[e.Pid], e.Ts)
		}
	}
	var ts []float64
	for _, v := range by {
		if len(v) > len(ts) {
			ts = v
		}
	}
	slices.Sort(ts)
	var d []float64
	for i := 1; i < len(ts); i++ {
		d = append(d, (ts[i]-ts[i-1])/1000)
	}
	if len(d) < 10 {
		fmt.Printf("performance trace: only %d frame intervals (%d events)\n", len(d), len(evs))
		return
	}
	slices.Sort(d)
	over := 0
	for _, x := range d {
		if x > 33.4 {
			over++
		}
	}
	fmt.Printf("performance trace (main-thread frames): %d frames, frame time p50 %.1f ms, p95 %.1f ms, max %.1f ms, %d over 33 ms\n",
		len(d), d[len(d)/2], d[len(d)*95/100], d[len(d)-1], over)
	// The page's own work per frame (script, style, layout, paint, commit):
	// the duration of each main frame, which the machine's load inflates
	// less than the time between frames.
	var work []float64
	for _, e := range evs {
		if e.Name == "ProxyMain::BeginMainFrame" && e.Ph == "X" {
			work = append(work, e.Dur/1000)
		}
	}
	if len(work) > 10 {
		slices.Sort(work)
		fmt.Printf("performance trace: main-frame work p50 %.1f ms, p95 %.1f ms, max %.1f ms (%d frames)\n",
			work[len(work)/2], work[len(work)*95/100], work[len(work)-1], len(work))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
