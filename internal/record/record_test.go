package record

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// flow returns the test flow numbered id: a POST with a binary body, and a
// response or, for every seventh flow, an error.
func flow(id int) *trace.Flow {
	f := &trace.Flow{
		ID:      id,
		Started: time.Date(2026, 11, 25, 10, 0, 0, id*int(time.Millisecond), time.UTC),
		Time:    12.5,
		Timings: trace.Timings{Blocked: trace.NA, DNS: 1, Connect: 2, SSL: 1, Send: 0.5, Wait: 8, Receive: 1},
		Request: &trace.Request{
			Method:  "POST",
			URL:     fmt.Sprintf("https://login.example.test/token?n=%d", id),
			Proto:   "HTTP/1.1",
			Headers: trace.Headers{{Name: "Host", Value: "login.example.test"}, {Name: "Content-Type", Value: "application/octet-stream"}},
			Body:    []byte{0, 1, 2, byte(id), byte(id >> 8), 0xff},
		},
		ServerAddr: "127.0.0.1",
	}
	if id%7 == 0 {
		f.Error = "connection reset by peer"
	} else {
		f.Response = &trace.Response{
			Status: 200, Reason: "OK", Proto: "HTTP/1.1",
			Headers: trace.Headers{{Name: "Content-Type", Value: "text/plain"}},
			Body:    []byte("body of flow " + strconv.Itoa(id)),
		}
	}
	return f
}

// checkFlow compares a flow read back with the one written.
func checkFlow(t *testing.T, got *trace.Flow) {
	t.Helper()
	want := flow(got.ID)
	if got.Request == nil || got.Request.URL != want.Request.URL || !bytes.Equal(got.Request.Body, want.Request.Body) {
		t.Fatalf("flow %d: request URL or body differs from what was written", got.ID)
	}
	if (want.Response == nil) != (got.Response == nil) || got.Error != want.Error {
		t.Fatalf("flow %d: response/error differs: error %q, want %q", got.ID, got.Error, want.Error)
	}
	if want.Response != nil && !bytes.Equal(got.Response.Body, want.Response.Body) {
		t.Fatalf("flow %d: response body differs", got.ID)
	}
	if !got.Started.Equal(want.Started) || got.Timings.Wait != want.Timings.Wait || got.Timings.SSL != want.Timings.SSL {
		t.Fatalf("flow %d: start or timings differ", got.ID)
	}
}

func readAll(t *testing.T, path string) (*Reader, []*trace.Flow) {
	t.Helper()
	r, c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return r, out
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.har"+Ext)
	j, err := Create(path, &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		if err := j.Append(flow(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.AddPage(trace.Page{ID: "page_1", Title: "https://login.example.test/", OnLoad: 10, OnContentLoad: 5}); err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	if st.Flows != 50 || st.Errors != 7 {
		t.Fatalf("stats: %d flows, %d errors; want 50 and 7", st.Flows, st.Errors)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(flow(51)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	r, flows := readAll(t, path)
	if len(flows) != 50 || r.Torn() != "" {
		t.Fatalf("read %d flows (torn %q), want 50", len(flows), r.Torn())
	}
	for _, f := range flows {
		checkFlow(t, f)
	}
	if r.Meta().Creator.Name != "idtrace" || len(r.Meta().Pages) != 1 || r.Meta().Pages[0].ID != "page_1" {
		t.Fatalf("meta not read back: creator %q, %d pages", r.Meta().Creator.Name, len(r.Meta().Pages))
	}
}

// TestTornTail cuts a journal at every byte of its last record: the complete
// records are read, the partial one is reported, never an error.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	j, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := j.Append(flow(i)); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	full, _ := os.ReadFile(path)
	// The start of record 3 is after the second "\nF ".
	third := bytes.LastIndex(full, []byte("\nF ")) + 1
	for cut := third + 1; cut < len(full); cut++ {
		p := filepath.Join(dir, "cut")
		os.WriteFile(p, full[:cut], 0o600)
		r, flows := readAll(t, p)
		if len(flows) != 2 {
			t.Fatalf("cut at %d: %d flows, want 2", cut, len(flows))
		}
		if r.Torn() == "" {
			t.Fatalf("cut at %d: torn record not reported", cut)
		}
	}
}

// TestDamagedMiddle: a bad record followed by good ones is an error naming the record.
func TestDamagedMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, _ := Create(path, nil)
	for i := 1; i <= 3; i++ {
		j.Append(flow(i))
	}
	j.Close()
	b, _ := os.ReadFile(path)
	i := bytes.Index(b, []byte("token?n=1\""))
	b[i] = 'X'
	os.WriteFile(path, b, 0o600)
	r, c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ie *trace.InputError
	n := 0
	for _, err := range r.Flows() {
		if err != nil {
			if !errors.As(err, &ie) || ie.Entry != 1 || ie.EntryKind != "record" {
				t.Fatalf("error %v: want an InputError at record 1", err)
			}
			break
		}
		n++
	}
	if ie == nil || n != 0 {
		t.Fatalf("damaged first record: %d flows read and error %v", n, ie)
	}
}

func TestNotAJournal(t *testing.T) {
	_, err := NewReader(strings.NewReader("{\"log\":{}}"), "x.har")
	var ie *trace.InputError
	if !errors.As(err, &ie) || ie.Field != "header" {
		t.Fatalf("got %v, want an InputError on the header", err)
	}
}

// TestFinalize writes HAR and SAZ from a journal whose flows completed out
// of order and reads them back with the project's readers.
func TestFinalize(t *testing.T) {
	for _, format := range []Format{HAR, SAZ} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "case."+string(format))
			j, err := Create(JournalPath(out), &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: "test"}})
			if err != nil {
				t.Fatal(err)
			}
			// Complete in a shuffled order: pairs swapped.
			for i := 1; i <= 200; i += 2 {
				j.Append(flow(i + 1))
				j.Append(flow(i))
			}
			j.Close()
			res, err := Finalize(JournalPath(out), out, format, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Flows != 200 {
				t.Fatalf("finalized %d flows, want 200", res.Flows)
			}
			if _, err := os.Stat(JournalPath(out)); !os.IsNotExist(err) {
				t.Fatalf("journal not removed after finalize: %v", err)
			}
			n := 0
			check := func(f *trace.Flow, err error) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if f.ID != n {
					t.Fatalf("flow %d read at position %d: not in order", f.ID, n)
				}
				if format == SAZ && f.Response == nil && f.Error == "" {
					return // a SAZ stores the error as a flag when present
				}
				checkFlow(t, f)
			}
			if format == HAR {
				fh, _ := os.Open(out)
				defer fh.Close()
				for f, err := range har.NewReader(fh, out).Flows() {
					check(f, err)
				}
			} else {
				sr, err := saz.OpenFile(out, saz.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer sr.Close()
				for f, err := range sr.Flows() {
					check(f, err)
				}
			}
			if n != 200 {
				t.Fatalf("read back %d flows, want 200", n)
			}
		})
	}
}

// TestFinalizeWaitsForLateFlow writes a journal where flow 3 completes
// after all the others (a slow download): the flows written before it wait
// for it, and the file lists every flow in ID order.
func TestFinalizeWaitsForLateFlow(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "late.har")
	j, err := Create(JournalPath(out), &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	j.Append(flow(2))
	j.Append(flow(1))
	for i := 4; i <= 100; i++ {
		j.Append(flow(i))
	}
	j.Append(flow(3))
	j.Close()
	if _, err := Finalize(JournalPath(out), out, HAR, nil); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	n := 0
	for f, err := range har.NewReader(fh, out).Flows() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if f.ID != n {
			t.Fatalf("flow %d read at position %d: not in order", f.ID, n)
		}
	}
	if n != 100 {
		t.Fatalf("read back %d flows, want 100", n)
	}
}

// The kill -9 test: a child process (this test binary) appends flows to a
// journal and reports each one on stdout as Append returns; the parent kills
// it with SIGKILL and recovers the journal.

const childEnv = "IDTRACE_RECORD_CHILD"

func TestMain(m *testing.M) {
	if p := os.Getenv(childEnv); p != "" {
		child(p)
		return
	}
	os.Exit(m.Run())
}

// child appends 1,000 flows, printing "ok N" after each, then "done" and
// waits to be killed. With IDTRACE_RECORD_SLOW set it pauses between flows.
func child(path string) {
	j, err := Create(path, &trace.Meta{Creator: trace.Software{Name: "idtrace"}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	slow := os.Getenv("IDTRACE_RECORD_SLOW") != ""
	w := bufio.NewWriter(os.Stdout)
	for i := 1; i <= 1000; i++ {
		if err := j.Append(flow(i)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Fprintf(w, "ok %d\n", i)
		w.Flush()
		if slow && i%50 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	fmt.Fprintln(w, "done")
	w.Flush()
	select {} // never closes the journal: the parent kills us
}

func killChild(t *testing.T, slow bool, killAfter int) (path string, acked int) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "case.saz"+Ext)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	if slow {
		cmd.Env = append(cmd.Env, "IDTRACE_RECORD_SLOW=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ok ") {
			acked, _ = strconv.Atoi(line[3:])
		} else if line != "done" {
			t.Fatalf("child: %s", line)
		}
		if acked >= killAfter || line == "done" {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
	return path, acked
}

func TestKill9AfterAllFlows(t *testing.T) {
	path, acked := killChild(t, false, 1000)
	if acked != 1000 {
		t.Fatalf("child acknowledged %d flows before the kill, want 1000", acked)
	}
	out := strings.TrimSuffix(path, Ext)
	res, err := Finalize(path, out, SAZ, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Flows != 1000 {
		t.Fatalf("recovered %d flows, want all 1000", res.Flows)
	}
	sr, err := saz.OpenFile(out, saz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if sr.Len() != 1000 {
		t.Fatalf("recovered SAZ has %d sessions, want 1000", sr.Len())
	}
}

func TestKill9MidCapture(t *testing.T) {
	path, acked := killChild(t, true, 500)
	_, flows := readAll(t, path)
	if len(flows) < acked {
		t.Fatalf("recovered %d flows; the child had completed %d before the kill", len(flows), acked)
	}
	for i, f := range flows {
		if f.ID != i+1 {
			t.Fatalf("record %d holds flow %d: a completed flow is missing", i+1, f.ID)
		}
		checkFlow(t, f)
	}
}

// TestConcurrentAppends has many goroutines append at once (their records
// then share write calls): every record is in the file, whole, once, and
// each Append's record is readable as soon as it returns.
func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.saz"+Ext)
	j, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 150
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := w*each + i + 1
				f := flow(id)
				if f.Response == nil {
					f.Response, f.Error = &trace.Response{Status: 200, Reason: "OK"}, ""
				}
				f.Response.Body = bytes.Repeat([]byte{byte('a' + w)}, 100+i)
				if err := j.Append(f); err != nil {
					errc <- err
					return
				}
				if i == each/2 {
					// What Append returned for is in the file already.
					b, err := os.ReadFile(path)
					if err != nil || !bytes.Contains(b, []byte(fmt.Sprintf(`token?n=%d"`, id))) {
						errc <- fmt.Errorf("flow %d not in the file after Append returned (%v)", id, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	r, flows := readAll(t, path)
	if r.Torn() != "" || len(flows) != workers*each {
		t.Fatalf("read %d flows (torn %q), want %d", len(flows), r.Torn(), workers*each)
	}
	seen := map[int]bool{}
	for _, f := range flows {
		if seen[f.ID] {
			t.Fatalf("flow %d twice", f.ID)
		}
		seen[f.ID] = true
		if w := (f.ID - 1) / each; len(f.Response.Body) != 100+(f.ID-1)%each || f.Response.Body[0] != byte('a'+w) {
			t.Fatalf("flow %d body damaged", f.ID)
		}
	}
}
