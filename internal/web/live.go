package web

import (
	"fmt"

	"github.com/idtrace/idtrace/internal/analyze"
)

// SetReport replaces the analysis report of trace i while the server runs
// (live capture shows its findings as they appear) and tells the open
// pages. The server keeps r: the caller must not change it afterwards.
func (s *Server) SetReport(i int, r *analyze.Report) error {
	if i < 0 || i >= len(s.opts.Traces) {
		return fmt.Errorf("web: no trace %d", i)
	}
	s.repMu.Lock()
	s.opts.Traces[i].Report = r
	s.repMu.Unlock()
	s.events.notify()
	return nil
}
