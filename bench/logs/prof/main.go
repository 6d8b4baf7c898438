// Command prof runs the hot path of `idtrace logs --format json` (read,
// classify, build stories, encode each story as JSON) over one file and
// writes a CPU profile, for finding where the time goes:
//
//	go run ./bench/logs/prof -cpuprofile /tmp/cpu.out /tmp/idtrace-bench/signins.ndjson
//	go tool pprof -top /tmp/cpu.out
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this file")
	mem := flag.String("memprofile", "", "write an allocation profile to this file")
	workers = flag.Int("workers", 1, "goroutines parsing NDJSON (logs uses GOMAXPROCS)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: prof [-cpuprofile FILE] [-memprofile FILE] LOGFILE")
		os.Exit(2)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "prof:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "prof:", err)
			os.Exit(1)
		}
	}
	n, err := run(flag.Arg(0))
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "prof:", err)
		os.Exit(1)
	}
	if *mem != "" {
		f, err := os.Create(*mem)
		if err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	fmt.Fprintf(os.Stderr, "%d records\n", n)
}

var workers *int

func run(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	c := actors.NewClassifier(actors.Default())
	w := bufio.NewWriter(io.Discard)
	var buf []byte
	b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
		buf = s.AppendJSON(buf[:0])
		_, err := w.Write(buf)
		return err
	})
	rd, err := entralog.NewReader(f, path)
	if err != nil {
		return 0, err
	}
	rd.KeepExtra(actors.ExtraKeys())
	rd.SetWorkers(*workers)
	n := 0
	for e, err := range rd.Events() {
		if err != nil {
			return n, err
		}
		n++
		c.Add(e)
		if err := b.Add(e); err != nil {
			return n, err
		}
	}
	if err := b.Flush(); err != nil {
		return n, err
	}
	_ = c.Actors()
	return n, w.Flush()
}
