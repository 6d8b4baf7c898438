package web

import (
	"path/filepath"
	"testing"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/index"
)

// SetReport replaces a running server's report: /api/info and /api/report
// answer with the new one, and a wrong trace number is refused.
func TestSetReport(t *testing.T) {
	x, err := index.Create(filepath.Join(t.TempDir(), "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	s := start(t, Options{Traces: []*Trace{{Name: "live", Index: x}}})
	var rep analyze.Report
	if c := apiJSON(t, s, "/api/report", &rep); c != 404 {
		t.Fatalf("/api/report before any report: %d, want 404", c)
	}
	r := &analyze.Report{Findings: []analyze.Finding{{Severity: "error", Code: "aadsts_50076", FlowIDs: []int{1}}, {Severity: "warning", Code: "w"}}}
	if err := s.SetReport(0, r); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReport(1, r); err == nil {
		t.Fatal("SetReport(1) on a single trace: no error")
	}
	var info struct {
		Traces []TraceInfo `json:"traces"`
	}
	if c := apiJSON(t, s, "/api/info", &info); c != 200 || info.Traces[0].Findings != 2 || info.Traces[0].Errors != 1 {
		t.Fatalf("/api/info after SetReport: %d %+v", c, info.Traces)
	}
	if c := apiJSON(t, s, "/api/report", &rep); c != 200 || len(rep.Findings) != 2 || rep.Findings[0].Code != "aadsts_50076" {
		t.Fatalf("/api/report after SetReport: %d %+v", c, rep.Findings)
	}
}
