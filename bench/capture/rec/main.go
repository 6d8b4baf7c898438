// Command rec runs the idtrace proxy as the benchmark's recording harness:
// every completed flow is appended to the capture's own crash-safe journal
// (package record: one write per flow, fsync'd in batches), as
// `idtrace capture` does; the journal is not finalized into HAR or SAZ.
//
//	rec -listen 127.0.0.1:18080 -ca DIR -o flows.idtrace-journal [-insecure-upstream]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/proxy"
	"github.com/idtrace/idtrace/internal/record"
	"github.com/idtrace/idtrace/internal/trace"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on")
	caDir := flag.String("ca", "", "CA directory")
	out := flag.String("o", "flows.idtrace-journal", "journal to append flows to")
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
	os.Remove(out)
	j, err := record.Create(out, &trace.Meta{Creator: trace.Software{Name: "idtrace-bench"}})
	if err != nil {
		return err
	}
	var appendErr error
	var once sync.Once
	p, err := proxy.New(proxy.Config{
		Listen: listen, CA: ca, InsecureUpstream: insecure, SkipProcess: noProcess,
		OnFlow: func(fl *trace.Flow) {
			if discard {
				return
			}
			if err := j.Append(fl); err != nil {
				once.Do(func() { appendErr = err })
			}
		},
	})
	if err != nil {
		j.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = p.ListenAndServe(ctx)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	if appendErr != nil && err == nil {
		err = appendErr
	}
	return err
}
