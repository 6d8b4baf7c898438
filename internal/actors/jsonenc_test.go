package actors

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestStoryAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := &Story{Kind: StorySSPR, CorrelationID: "c1", Actor: "fim_password_service@support.onmicrosoft.com", Target: "a<b>&\"c\"\\",
		Start: t0, End: t0.Add(90 * time.Second), MoreSteps: 3, Summary: "line1\nline2\ttab \u2028 \x01 \xff é 日本",
		Related: []string{"c2"}, Flags: []string{"f1", "f2"},
		Steps: []Step{{Time: t0.Add(time.Nanosecond * 1234567), Actor: "x", Activity: "y", Result: "success", Detail: "d", CorrelationID: "c1", Source: "f:1", Role: "verification"},
			{Actor: "", Activity: "", Source: ""}}}
	for _, s := range []*Story{full, {}, {Kind: StorySignIn, Steps: []Step{}}} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func TestActorAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := &Actor{Name: "Office 365 Shell WCSS-Client", UPN: "a<b>&\"c\"\\", AppID: "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", Class: ClassMicrosoftApp,
		Count: 20077, Evidence: []string{"line1\nline2 \u2028 \x01 \xff", "é 日本"}, Explanation: "x", Roles: []string{"actor", "client-app"},
		First: t0, Last: t0.Add(1234567 * time.Nanosecond), Activities: []ActivityCount{{"Sign-in activity", 3}, {"", 0}}}
	for _, a := range []*Actor{full, {}, {Evidence: []string{}, Roles: []string{}, Activities: []ActivityCount{}}, {First: t0}} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzActorAppendJSON(f *testing.F) {
	f.Add("Azure Portal", "x@contoso.example", "a\x00<\u2029\xfe", 3)
	f.Fuzz(func(t *testing.T, name, upn, evidence string, count int) {
		a := &Actor{Name: name, UPN: upn, Count: count, Evidence: []string{evidence}, Explanation: evidence,
			Activities: []ActivityCount{{Activity: name, Count: count}}}
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

func FuzzStoryAppendJSON(f *testing.F) {
	f.Add("sspr", "User completed the mobile SMS verification option", "a\x00<\u2029\xfe")
	f.Fuzz(func(t *testing.T, kind, summary, detail string) {
		s := &Story{Kind: kind, Summary: summary, Steps: []Step{{Detail: detail, Actor: summary}}, Flags: []string{detail}}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// TestAppendRFC3339Nano compares the hand-written formatter with the time
// package's, fractions with and without trailing zeros, zones other than UTC.
func TestAppendRFC3339Nano(t *testing.T) {
	times := []time.Time{t0, {}, time.Date(2024, 5, 1, 0, 0, 2, 992000000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 1, 2, 3, 120, time.FixedZone("x", 7200)), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 5000 {
		times = append(times, time.Unix(int64(i)*7919*3607, int64(i)*104729%1_000_000_000).UTC())
	}
	for _, tm := range times {
		if got, want := string(appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendRFC3339Nano(%v) = %s, want %s", tm, got, want)
		}
	}
}
