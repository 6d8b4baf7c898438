package actors_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// arena holds the bytes of volatile strings: what a reader that reuses its
// line buffer hands out.
type arena struct {
	b      []byte
	blocks [][]byte
}

// scribble overwrites every byte handed out.
func (a *arena) scribble() {
	for _, b := range a.blocks {
		for i := range b[:cap(b)] {
			b[:cap(b)][i] = '#'
		}
	}
}

// volatile returns a deep copy of v (an Event) whose strings all point into
// a: overwriting a's bytes changes them.
func (a *arena) volatile(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if s == "" || !v.CanSet() {
			return
		}
		if cap(a.b)-len(a.b) < len(s) {
			// a fresh block: strings handed out before keep pointing into the old one
			a.b = make([]byte, 0, max(len(s), 64<<10))
			a.blocks = append(a.blocks, a.b)
		}
		n := len(a.b)
		a.b = append(a.b, s...)
		v.SetString(unsafe.String(&a.b[n], len(s)))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				a.volatile(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() || !v.CanSet() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		v.Set(c)
		for i := range v.Len() {
			a.volatile(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() && v.Elem().Kind() == reflect.Struct && v.CanSet() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			v.Set(c)
			a.volatile(c.Elem())
		}
	}
}

// run feeds evs as logs does (Prepare for a batch, then Classifier.Add and
// AddPrepared) and returns the stories and actors as JSON. With scribble,
// each batch's strings point into a buffer that is overwritten once the
// batch is added.
func run(t *testing.T, evs []*trace.Event, scribble bool) string {
	c := actors.NewClassifier(actors.Default())
	var out []byte
	b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
		out = append(s.AppendJSON(out), '\n')
		return nil
	})
	for i := 0; i < len(evs); i += 16 {
		batch := slices16(evs[i:min(i+16, len(evs))])
		var a arena
		if scribble {
			for j, e := range batch {
				cp := *e
				a.volatile(reflect.ValueOf(&cp).Elem())
				batch[j] = &cp
			}
		}
		preps := make([]actors.Prep, len(batch))
		for j, e := range batch {
			b.PrepareTo(&preps[j], e)
		}
		for j, e := range batch {
			c.Add(e)
			if err := b.AddPrepared(e, &preps[j]); err != nil {
				t.Fatal(err)
			}
		}
		// the reader reuses its buffer for the next batch
		a.scribble()
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(c.Actors())
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + string(js)
}

func slices16(evs []*trace.Event) []*trace.Event { return append([]*trace.Event(nil), evs...) }

// TestNothingKeptFromEvents: the classifier and the story builder copy what
// they keep of an event, so a reader may reuse the bytes of its strings as
// soon as a batch of records is added: stories and actors come out the same
// when every string of every event is overwritten right after.
func TestNothingKeptFromEvents(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "entra-synthetic", "*", "*"))
	files = append(files, testutil.SharedFiles(t, "entra", "*")...)
	more, _ := filepath.Glob(filepath.Join(testutil.Root(), "internal", "entralog", "testdata", "*.*"))
	files = append(files, more...)
	checked := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := entralog.NewReader(bytes.NewReader(data), filepath.Base(p))
		if err != nil {
			continue // not a log export
		}
		var evs []*trace.Event
		for e, err := range rd.Events() {
			if err != nil {
				break
			}
			evs = append(evs, e)
		}
		if len(evs) == 0 {
			continue
		}
		want := run(t, evs, false)
		got := run(t, evs, true)
		if got != want {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: output changed when event strings were overwritten after use, at byte %d:\n got …%s\nwant …%s",
				filepath.Base(p), i, got[max(i-80, 0):min(i+80, len(got))], want[max(i-80, 0):min(i+80, len(want))])
		}
		if strings.Contains(got, "##") {
			t.Errorf("%s: output holds overwritten bytes", filepath.Base(p))
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d log files checked", checked)
	}
}
