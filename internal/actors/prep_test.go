package actors

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzIndexIn: indexIn answers as strings.Index does.
func FuzzIndexIn(f *testing.F) {
	f.Add("from 203.0.113.7 (Oslo, Oslo, NO)", "NO")
	f.Add("aaab", "ab")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, b, s string) {
		if s == "" {
			return
		}
		if got, want := indexIn([]byte(b), s), strings.Index(b, s); got != want {
			t.Errorf("indexIn(%q, %q) = %d, want %d", b, s, got, want)
		}
	})
}

// FuzzQuotedIndex: quotedIndex answers as strings.Index of the quoted key.
func FuzzQuotedIndex(f *testing.F) {
	f.Add(`{"city":"Oslo"}`, 0, "city")
	f.Add(`"city"city"`, 1, "city")
	f.Add(`""`, 0, "")
	f.Add(`x"a"`, 2, "a")
	f.Fuzz(func(t *testing.T, obj string, from int, key string) {
		if from < 0 || from > len(obj) {
			return
		}
		want := strings.Index(obj[from:], `"`+key+`"`)
		if want >= 0 {
			want += from
		}
		if got := quotedIndex(obj, from, key); got != want {
			t.Errorf("quotedIndex(%q, %d, %q) = %d, want %d", obj, from, key, got, want)
		}
	})
}

// TestAppendJSONTimes: stories whose start, end and step times are the same
// instant, different instants, or the same instant in other zones or beyond
// year 9999 are written as encoding/json writes them.
func TestAppendJSONTimes(t *testing.T) {
	utc := time.Date(2024, 5, 1, 0, 0, 2, 992000000, time.UTC)
	times := []time.Time{{}, utc, utc.Add(time.Nanosecond), utc.In(time.FixedZone("x", 7200)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 120, time.FixedZone("a very long zone name", -3600)), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	n := 0
	for _, a := range times {
		for _, b := range times {
			for _, c := range times {
				s := &Story{Kind: "sign-in", Start: a, End: b, Steps: []Step{{Time: c}, {Time: a}, {Time: b}}}
				got := s.AppendJSON(nil)
				want, err := json.Marshal(s)
				if err != nil {
					// encoding/json refuses years beyond 9999: each time as the time package writes it
					for _, f := range []struct {
						k string
						t time.Time
					}{{`"start":`, a}, {`"end":`, b}, {`"time":`, c}} {
						if !f.t.IsZero() && !bytes.Contains(got, []byte(f.k+`"`+f.t.Format(time.RFC3339Nano)+`"`)) {
							t.Fatalf("%s %s missing in %s", f.k, f.t.Format(time.RFC3339Nano), got)
						}
					}
				} else if !bytes.Equal(got, want) {
					t.Fatalf("got %s\nwant %s", got, want)
				}
				n++
			}
		}
	}
	if n != len(times)*len(times)*len(times) {
		t.Fatalf("%d stories checked", n)
	}
}

// FuzzContainsFold: containsFold answers as lower-casing both and
// strings.Contains do.
func FuzzContainsFold(f *testing.F) {
	f.Add("Self-service password reset flow activity progress", "PASSWORD")
	f.Add("Update user", "")
	f.Add("Ünlock", "ünl")
	f.Add("K", "\u212a")
	f.Fuzz(func(t *testing.T, s, sub string) {
		if got, want := containsFold(s, sub), strings.Contains(strings.ToLower(s), strings.ToLower(sub)); got != want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
	})
}

// TestPrepLongTexts: a record whose texts pass 64 KiB (beyond 16-bit
// offsets) keeps them whole.
func TestPrepLongTexts(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	var got []*Story
	b := NewStoryBuilder(NewClassifier(Default()), func(s *Story) error { got = append(got, s); return nil })
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	evs := []*trace.Event{
		{Kind: "audit", Time: t0, Activity: "Reset password (by admin)", Result: "failure", ResultReason: long, CorrelationID: "c1",
			Actor: trace.Principal{UPN: "admin@contoso.com"}, Targets: []trace.Target{{Type: "User", UPN: "bob@contoso.com"}}, File: "a.json", Line: 1},
		{Kind: trace.KindSignIn, Time: t0, CorrelationID: "c2", Actor: trace.Principal{UPN: "bob@contoso.com"},
			App: trace.Principal{DisplayName: long + "app"}, IPAddress: "203.0.113.7", ErrorCode: 50126, File: "s.json", Line: 2},
	}
	for _, e := range evs {
		b.Classifier.Add(e)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d stories, want 2", len(got))
	}
	reset, signIn := got[0], got[1]
	if reset.Kind != StoryAdminReset || reset.Steps[0].Detail != long || reset.Steps[0].Source != "a.json:1" || reset.Target != "bob@contoso.com" {
		t.Errorf("reset story: kind %s, detail of %d bytes, source %q, target %q", reset.Kind, len(reset.Steps[0].Detail), reset.Steps[0].Source, reset.Target)
	}
	if d := signIn.Steps[0].Detail; !strings.HasPrefix(d, "to "+long+"app, ") || !strings.Contains(d, "from 203.0.113.7") || signIn.Steps[0].CorrelationID != "c2" {
		t.Errorf("sign-in step: detail of %d bytes starting %.20q, correlation %q", len(d), d, signIn.Steps[0].CorrelationID)
	}
	if !strings.Contains(signIn.Summary, long+"app") {
		t.Errorf("sign-in summary does not name the app")
	}
}
