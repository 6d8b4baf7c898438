package cli

import (
	"bytes"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// sliceFlows is a trace.Source over a few synthetic flows.
type sliceFlows []*trace.Flow

func (s sliceFlows) Meta() *trace.Meta { return &trace.Meta{} }
func (s sliceFlows) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		for _, f := range s {
			if !yield(f, nil) {
				return
			}
		}
	}
}

// TestFailOnFollowsCategory: for one code of every knowledge-base category,
// --fail-on error exits 3 exactly when the category's severity is error,
// and --fail-on warning when it is warning or error.
func TestFailOnFollowsCategory(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range kb.Errors() {
		if seen[e.Category] {
			continue
		}
		seen[e.Category] = true
		for _, failOn := range []string{"error", "warning"} {
			f := &trace.Flow{ID: 1, Started: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
				Request: &trace.Request{Method: "POST", URL: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
					Headers: trace.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
					Body:    []byte("grant_type=client_credentials&client_id=c&client_secret=s&scope=x"), HasBody: true},
				Response: &trace.Response{Status: 400, MimeType: "application/json",
					Body: []byte(fmt.Sprintf(`{"error":"invalid_request","error_description":"AADSTS%d: synthetic","error_codes":[%d]}`, e.Code, e.Code))}}
			var out bytes.Buffer
			app := &App{IO: IOStreams{Out: &out, ErrOut: &out}}
			err := RunAnalyze(app, sliceFlows{f}, AnalyzeOptions{Format: "json", FailOn: failOn})
			want := analyze.SeverityRank(e.Severity()) >= analyze.SeverityRank(failOn)
			ee, is3 := err.(*ExitError)
			got := is3 && ee.Code == 3
			if got != want || (err != nil && !is3) {
				t.Errorf("AADSTS%d (%s, %s) --fail-on %s: err %v, want exit 3 = %v", e.Code, e.Category, e.Severity(), failOn, err, want)
			}
		}
	}
	if len(seen) != len(kb.Categories) {
		t.Errorf("codes cover %d of %d categories", len(seen), len(kb.Categories))
	}
}

// TestExplainClaimsFlag: the claim glossary is in the text report only
// with --explain-claims.
func TestExplainClaimsFlag(t *testing.T) {
	p := filepath.Join("..", "analyze", "testdata", "synthetic", "device_code_polling.har") // has an access token
	_, without, _ := idt(t, "", "analyze", p)
	if strings.Contains(without, "What the claims mean") {
		t.Error("glossary shown without --explain-claims")
	}
	code, with, errOut := idt(t, "", "analyze", "--explain-claims", "--format", "text", p)
	if code != 0 || !strings.Contains(with, "What the claims mean") || !strings.Contains(with, "appidacr") {
		t.Fatalf("exit %d: no glossary: %s %s", code, with, errOut)
	}
}

// TestKBErrorsB2CAndSeverity: `kb errors` finds AADB2C codes and shows the
// severity a code's category gives in analyze.
func TestKBErrorsB2CAndSeverity(t *testing.T) {
	code, out, errOut := idt(t, "", "kb", "errors", "AADB2C90118", "500121")
	if code != 0 || !strings.Contains(out, "AADB2C90118") || !strings.Contains(out, "signal (info)") || !strings.Contains(out, "mfa-failure (error)") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if code, _, _ := idt(t, "", "kb", "errors", "AADB2C12345"); code != 1 {
		t.Errorf("unknown B2C code: exit %d, want 1", code)
	}
}
