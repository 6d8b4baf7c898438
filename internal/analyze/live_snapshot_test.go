package analyze

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestSnapshotAgreesWithFinish feeds real and synthetic traces to an
// Analyzer one flow at a time, takes a Snapshot after every flow (as
// capture --ui does) and checks that: a snapshot is not changed by the
// flows added after it (the viewer reads it on another goroutine); the
// sign-ins only grow; and the last snapshot has the sign-ins, steps,
// tokens and signature verdicts of Finish on the same trace, sign-ins
// still open being "in_progress" where Finish says "incomplete".
func TestSnapshotAgreesWithFinish(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "synthetic", "*.har"))
	for _, n := range []string{"bluecore_chrome_entra-sharepoint-login.har", "nullmicgo_chrome_azure-portal_bearer.har", "cloudflare_scrubbed_google_oauth_chrome.har"} {
		files = append(files, filepath.Join(testutil.SharedDir(t, "har"), n))
	}
	if len(files) < 10 {
		t.Fatalf("only %d traces found", len(files))
	}
	signins, tokens := 0, 0
	defer func() {
		if !t.Failed() && (signins < 10 || tokens < 5) {
			t.Errorf("the traces gave only %d sign-ins and %d tokens: the comparison proves little", signins, tokens)
		}
	}()
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var flows []*trace.Flow
			for fl, err := range har.NewReader(f, path).Flows() {
				if err != nil {
					t.Fatal(err)
				}
				flows = append(flows, fl)
			}
			a := New(Options{})
			cache := &SnapshotCache{}
			var kept []*Report
			var keptJSON [][]byte
			prev := 0
			for _, fl := range flows {
				a.Add(fl)
				s := a.Snapshot(cache)
				if mustJSON(t, a.Snapshot(nil)) != mustJSON(t, s) {
					t.Fatalf("flow %d: the snapshot with the signature cache differs from one without", fl.ID)
				}
				if len(s.Flows) < prev {
					t.Fatalf("flow %d: the snapshot lost sign-ins (%d, was %d)", fl.ID, len(s.Flows), prev)
				}
				prev = len(s.Flows)
				b, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				kept, keptJSON = append(kept, s), append(keptJSON, b)
			}
			last := a.Snapshot(cache)
			for i, s := range kept {
				b, _ := json.Marshal(s)
				if string(b) != string(keptJSON[i]) {
					t.Fatalf("the snapshot taken after flow %d changed when later flows were added", flows[i].ID)
				}
			}
			fin := a.Finish()
			signins, tokens = signins+len(fin.Flows), tokens+len(fin.Tokens)
			if len(last.Flows) != len(fin.Flows) {
				t.Fatalf("snapshot has %d sign-ins, Finish %d", len(last.Flows), len(fin.Flows))
			}
			for i, s := range last.Flows {
				w := fin.Flows[i]
				if s.ID != w.ID || s.Protocol != w.Protocol || s.Grant != w.Grant || s.ClientID != w.ClientID || s.IdP != w.IdP {
					t.Fatalf("sign-in %d: snapshot %s %s %s at %s, Finish %s %s %s at %s", w.ID, s.Protocol, s.Grant, s.ClientID, s.IdP, w.Protocol, w.Grant, w.ClientID, w.IdP)
				}
				if !slices.Equal(stepIDs(s.Steps), stepIDs(w.Steps)) || !slices.Equal(s.Tokens, w.Tokens) {
					t.Fatalf("sign-in %d: snapshot steps %v tokens %v, Finish %v %v", w.ID, stepIDs(s.Steps), s.Tokens, stepIDs(w.Steps), w.Tokens)
				}
				switch {
				case s.Result == ResultInProgress && w.Result != ResultIncomplete && w.Result != ResultError,
					s.Result != ResultInProgress && s.Result != w.Result && w.Result != ResultError:
					// Finish may still fail a sign-in (a signature found invalid at the end), nothing else.
					t.Fatalf("sign-in %d: snapshot result %q, Finish %q", w.ID, s.Result, w.Result)
				}
			}
			if len(last.Tokens) != len(fin.Tokens) {
				t.Fatalf("snapshot has %d tokens, Finish %d", len(last.Tokens), len(fin.Tokens))
			}
			for i, tk := range last.Tokens {
				w := fin.Tokens[i]
				if tk.Fingerprint != w.Fingerprint || tk.Kind != w.Kind || tk.SignIn != w.SignIn {
					t.Fatalf("token %d: snapshot %s %s in %d, Finish %s %s in %d", i, tk.Fingerprint, tk.Kind, tk.SignIn, w.Fingerprint, w.Kind, w.SignIn)
				}
				if tk.Verdict == "" || (tk.Kind != "saml_response" && tk.Kind != "saml_assertion" && tk.Kind != "saml_request" && tk.Kind != "wsfed_token" && tk.Verdict != w.Verdict) {
					t.Fatalf("token %s (%s): snapshot verdict %q, Finish %q", tk.Fingerprint, tk.Kind, tk.Verdict, w.Verdict)
				}
			}
		})
	}
}

func stepIDs(st []Step) []int {
	out := make([]int, len(st))
	for i, s := range st {
		out[i] = s.FlowID
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
