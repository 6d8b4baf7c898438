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
