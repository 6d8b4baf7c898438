// Command rec runs the idtrace proxy as the benchmark's recording harness:
// every completed flow is appended to a file as one JSON line, buffered and
// fsync'd every 100 ms, as the capture's journal does.
//
//	rec -listen 127.0.0.1:18080 -ca DIR -o flows.jsonl [-insecure-upstream]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/proxy"
	"github.com/idtrace/idtrace/internal/trace"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on")
	caDir := flag.String("ca", "", "CA directory")
	out := flag.String("o", "flows.jsonl", "file to append flows to")
	insecure := flag.Bool("insecure-upstream", false, "accept any upstream certificate")
	discard := flag.Bool("discard", false, "record nothing (to measure the proxy alone)")
	noProcess := flag.Bool("no-process", false, "do not look up client processes")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	flag.Parse()
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(pf) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*listen, *caDir, *out, *insecure, *noProcess, *discard); err != nil {
		fmt.Fprintln(os.Stderr, "rec:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(listen, caDir, out string, insecure, noProcess, discard bool) error {
	ca, _, err := certs.LoadOrCreate(caDir)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	var mu sync.Mutex
	w := bufio.NewWriterSize(f, 256<<10)
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	var encErr error
	p, err := proxy.New(proxy.Config{
		Listen: listen, CA: ca, InsecureUpstream: insecure, SkipProcess: noProcess,
		OnFlow: func(fl *trace.Flow) {
			if discard {
				return
			}
			// Encode outside the lock, so flows from many connections encode in parallel.
			buf := bufs.Get().(*bytes.Buffer)
			buf.Reset()
			err := json.NewEncoder(buf).Encode(fl)
			mu.Lock()
			if err == nil {
				_, err = w.Write(buf.Bytes())
			}
			if err != nil && encErr == nil {
				encErr = err
			}
			mu.Unlock()
			bufs.Put(buf)
		},
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				mu.Lock()
				w.Flush()
				mu.Unlock()
				f.Sync()
			}
		}
	}()
	err = p.ListenAndServe(ctx)
	mu.Lock()
	defer mu.Unlock()
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if encErr != nil && err == nil {
		err = encErr
	}
	return err
}
