// Command actorsprof times the story side of `idtrace logs --format json`
// alone: it reads one log file into memory first, then runs the Classifier,
// the StoryBuilder (Prepare and AddPrepared) and Story.AppendJSON over the
// records several times, and prints CPU time per record and bytes allocated
// per record by that part only (the reader's work is not counted):
//
//	go run ./bench/logs/actorsprof -n 5 -cpuprofile /tmp/a.prof FILE
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/trace"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile of the timed passes to this file")
	mem := flag.String("memprofile", "", "write an allocation profile to this file")
	passes := flag.Int("n", 5, "passes over the records")
	flag.Parse()
	if *passes < 1 {
		fmt.Fprintln(os.Stderr, "actorsprof: -n must be at least 1")
		os.Exit(2)
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: actorsprof [-n PASSES] [-cpuprofile FILE] [-memprofile FILE] LOGFILE")
		os.Exit(2)
	}
	evs, err := load(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "actorsprof:", err)
		os.Exit(1)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "actorsprof:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "actorsprof:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	var out int
	for range *passes {
		n, err := pass(evs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "actorsprof:", err)
			os.Exit(1)
		}
		out += n
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	recs := len(evs) * *passes
	fmt.Printf("%d records x %d passes: %.0f ns/record (wall, includes GC), %.0f B/record, %.2f allocs/record, %d GC cycles, %d output bytes/pass\n",
		len(evs), *passes, float64(el.Nanoseconds())/float64(recs),
		float64(after.TotalAlloc-before.TotalAlloc)/float64(recs), float64(after.Mallocs-before.Mallocs)/float64(recs),
		after.NumGC-before.NumGC, out / *passes)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
}

func load(path string) ([]*trace.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := entralog.NewReader(f, path)
	if err != nil {
		return nil, err
	}
	rd.KeepExtra(actors.ExtraKeys())
	var evs []*trace.Event
	for e, err := range rd.Events() {
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// pass runs what logs runs per record, in batches as cli does, and returns
// the bytes of JSON written.
func pass(evs []*trace.Event) (int, error) {
	c := actors.NewClassifier(actors.Default())
	var buf []byte
	n := 0
	b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
		buf = s.AppendJSON(buf[:0])
		n += len(buf)
		return nil
	})
	for i := 0; i < len(evs); i += 128 {
		batch := evs[i:min(i+128, len(evs))]
		preps := make([]actors.Prep, len(batch))
		for j, e := range batch {
			b.PrepareTo(&preps[j], e)
		}
		for j, e := range batch {
			c.Add(e)
			if err := b.AddPrepared(e, &preps[j]); err != nil {
				return n, err
			}
		}
	}
	if err := b.Flush(); err != nil {
		return n, err
	}
	_ = c.Actors()
	return n, nil
}
