// Command prof runs one idtrace command line under the CPU profiler, for
// finding where sanitize spends its time; it also prints what the command
// allocated, a figure that a busy machine does not move as it moves CPU time:
//
//	go run ./bench/sanitize/prof -cpuprofile bench/out/cpu.prof -- sanitize big.har -o out.har
//	go tool pprof -top bench/out/cpu.prof
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"github.com/idtrace/idtrace/internal/cli"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this file")
	mem := flag.String("memprofile", "", "also write an allocation profile to this file")
	tr := flag.String("trace", "", "also write an execution trace to this file (go tool trace FILE: which goroutines ran when)")
	flag.Parse()
	if *cpu == "" {
		fmt.Fprintln(os.Stderr, "prof: -cpuprofile FILE is required")
		os.Exit(2)
	}
	f, err := os.Create(*cpu)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prof:", err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "prof:", err)
		os.Exit(1)
	}
	if *tr != "" {
		tf, err := os.Create(*tr)
		if err == nil {
			err = trace.Start(tf)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "prof:", err)
			os.Exit(1)
		}
		defer tf.Close()
	}
	code := cli.Main(context.Background(), flag.Args(), cli.System())
	if *tr != "" {
		trace.Stop()
	}
	pprof.StopCPUProfile()
	f.Close()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if *mem != "" {
		mf, err := os.Create(*mem)
		if err == nil {
			err = errors.Join(pprof.Lookup("allocs").WriteTo(mf, 0), mf.Close())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "prof:", err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "prof: allocated %d MB in %d objects, %d GC cycles\n", ms.TotalAlloc>>20, ms.Mallocs, ms.NumGC)
	os.Exit(code)
}
