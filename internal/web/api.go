package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/info", s.info)
	mux.HandleFunc("GET /api/flows", s.flows)
	mux.HandleFunc("GET /api/flow", s.flow)
	mux.HandleFunc("GET /api/report", s.report)
	mux.HandleFunc("GET /api/diff", s.diff)
	mux.HandleFunc("GET /api/hosts", s.hostList)
	mux.HandleFunc("GET /api/caseids", s.caseIDs)
	mux.HandleFunc("GET /api/events", s.sse)
	mux.HandleFunc("POST /api/export", s.export)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// apiError answers a request the API cannot serve, with a JSON message.
func apiError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// TraceInfo describes one loaded trace.
type TraceInfo struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`
	Flows    int    `json:"flows"`
	Format   string `json:"format,omitempty"`
	Creator  string `json:"creator,omitempty"`
	SignIns  int    `json:"signins"`
	Findings int    `json:"findings"`
	Errors   int    `json:"errors"`
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Traces []TraceInfo `json:"traces"`
		Diff   bool        `json:"diff"`
	}{Diff: s.opts.Diff != nil}
	s.repMu.RLock()
	defer s.repMu.RUnlock()
	for i, t := range s.opts.Traces {
		m := t.Index.Meta()
		ti := TraceInfo{Index: i, Name: t.Name, Flows: t.Index.Len(), Format: m.Format, Creator: strings.TrimSpace(m.Creator.Name + " " + m.Creator.Version)}
		if t.Report != nil {
			ti.SignIns, ti.Findings = len(t.Report.Flows), len(t.Report.Findings)
			for _, f := range t.Report.Findings {
				if f.Severity == "error" {
					ti.Errors++
				}
			}
		}
		out.Traces = append(out.Traces, ti)
	}
	writeJSON(w, out)
}

// queryFrom reads the grid query from URL parameters (or a form body).
func queryFrom(v map[string][]string) (index.Query, error) {
	get := func(k string) string {
		if x := v[k]; len(x) > 0 {
			return x[0]
		}
		return ""
	}
	list := func(k string) []string {
		var out []string
		for _, x := range v[k] {
			for p := range strings.SplitSeq(x, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	q := index.Query{Hosts: list("host"), Status: list("status"), Methods: list("method"), Text: get("q"), Sort: get("sort")}
	bools := map[string]*bool{"signin": &q.SignIn, "errors": &q.Errors, "desc": &q.Desc}
	for k, p := range bools {
		switch get(k) {
		case "", "0", "false":
		case "1", "true":
			*p = true
		default:
			return q, fmt.Errorf("%s=%q: want 0 or 1", k, get(k))
		}
	}
	ints := map[string]*int{"offset": &q.Offset, "limit": &q.Limit}
	for k, p := range ints {
		if x := get(k); x != "" {
			n, err := strconv.Atoi(x)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%s=%q: want a number >= 0", k, x)
			}
			*p = n
		}
	}
	for _, m := range q.Methods {
		if strings.ContainsFunc(m, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-') }) {
			return q, fmt.Errorf("method=%q: want a method name", m)
		}
	}
	return q, nil
}

func (s *Server) flows(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.traceParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	q, err := queryFrom(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	p, err := t.Index.Query(q)
	if err != nil {
		var qe *index.QueryError
		if errors.As(err, &qe) {
			apiError(w, http.StatusBadRequest, qe)
			return
		}
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	m := &masker{}
	for i := range p.Rows {
		p.Rows[i].URL = m.url(p.Rows[i].URL)
	}
	writeJSON(w, p)
}

func (s *Server) flow(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.traceParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil {
		apiError(w, http.StatusBadRequest, fmt.Errorf("id=%q: want a flow number", r.URL.Query().Get("id")))
		return
	}
	f, err := t.Index.Flow(id)
	if err != nil {
		if errors.Is(err, index.ErrNoFlow) {
			apiError(w, http.StatusNotFound, err)
			return
		}
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	if f.Request == nil {
		f.Request = &trace.Request{}
	}
	writeJSON(w, flowView(t, f, r.URL.Query().Get("reveal") == "1"))
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.traceParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	if t.Report == nil {
		apiError(w, http.StatusNotFound, errors.New("no analysis for this trace"))
		return
	}
	writeJSON(w, t.Report)
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	if s.opts.Diff == nil {
		apiError(w, http.StatusNotFound, errors.New("one trace is open: nothing to compare"))
		return
	}
	writeJSON(w, s.opts.Diff)
}

func (s *Server) hostList(w http.ResponseWriter, r *http.Request) {
	t, _, err := s.traceParam(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	h, err := t.Index.Hosts(200)
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, h)
}

// exportRequest is the body of POST /api/export.
type exportRequest struct {
	Trace int `json:"t"`
	// IDs are the flows to export; when null, every flow matching Filter.
	IDs    []int             `json:"ids"`
	Filter map[string]string `json:"filter"`
	// Format is "har" or "saz".
	Format string `json:"format"`
	// Unsanitized asks for the flows as captured, with their cookies,
	// tokens and passwords. By default an export goes through the same
	// rules as idtrace sanitize.
	Unsanitized bool `json:"unsanitized"`
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	var req exportRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, fmt.Errorf("export: %w", err))
		return
	}
	if req.Trace < 0 || req.Trace >= len(s.opts.Traces) {
		apiError(w, http.StatusBadRequest, fmt.Errorf("export: t=%d: no such trace", req.Trace))
		return
	}
	t := s.opts.Traces[req.Trace]
	ids := req.IDs
	if ids == nil {
		v := map[string][]string{}
		for k, x := range req.Filter {
			v[k] = []string{x}
		}
		q, err := queryFrom(v)
		if err != nil {
			apiError(w, http.StatusBadRequest, err)
			return
		}
		if ids, err = t.Index.IDs(q); err != nil {
			apiError(w, http.StatusBadRequest, err)
			return
		}
	}
	for _, id := range ids {
		if id < 1 || id > t.Index.Len() {
			apiError(w, http.StatusBadRequest, fmt.Errorf("export: flow %d: no such flow", id))
			return
		}
	}
	meta := t.Index.Meta()
	var red *redact.Redactor
	pm := &meta
	suffix := "-selection-unsanitized"
	if !req.Unsanitized {
		// A fresh random key per export: pseudonyms correlate within one
		// file, never across two.
		red = redact.New(redact.Options{})
		pm = red.Meta(&meta)
		suffix = "-selection-sanitized"
	}
	base := strings.TrimSuffix(strings.TrimSuffix(t.Name, ".har"), ".saz")
	var sink trace.Sink
	switch req.Format {
	case "har":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s%s.har"`, safeName(base), suffix))
		sink = har.NewWriter(w, pm)
	case "saz":
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s%s.saz"`, safeName(base), suffix))
		sink = saz.NewWriter(w, pm, saz.WriterOptions{})
	default:
		apiError(w, http.StatusBadRequest, fmt.Errorf("export: format %q: want har or saz", req.Format))
		return
	}
	if red != nil {
		sink = red.Sink(sink)
		w.Header().Set("X-Idtrace-Sanitized", "1")
	} else {
		w.Header().Set("X-Idtrace-Sanitized", "0")
	}
	// Headers are sent with the first byte; an error after that can only cut the download.
	for f, err := range t.Index.Flows(ids) {
		if err != nil {
			return
		}
		if err := sink.WriteFlow(f); err != nil {
			return
		}
	}
	sink.Close(&meta)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == '/' || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}

// broker tells the open pages that flows were added (live capture).
type broker struct {
	mu     sync.Mutex
	subs   map[chan struct{}]bool
	closed bool
}

func newBroker() *broker { return &broker{subs: map[chan struct{}]bool{}} }

func (b *broker) subscribe() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := make(chan struct{}, 1)
	if b.closed {
		close(c)
		return c
	}
	b.subs[c] = true
	return c
}

func (b *broker) unsubscribe(c chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[c] {
		delete(b.subs, c)
		close(c)
	}
}

func (b *broker) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.subs {
		select {
		case c <- struct{}{}:
		default: // a notice is already pending
		}
	}
}

func (b *broker) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for c := range b.subs {
		close(c)
	}
	b.subs = map[chan struct{}]bool{}
}

// Publish adds a live flow to trace i (0 for one trace) and tells the open pages.
func (s *Server) Publish(i int, f *trace.Flow) error {
	if i < 0 || i >= len(s.opts.Traces) {
		return fmt.Errorf("web: no trace %d", i)
	}
	x := s.opts.Traces[i].Index
	if err := x.Add(f); err != nil {
		return err
	}
	if err := x.Flush(); err != nil {
		return err
	}
	s.events.notify()
	return nil
}

// sse streams "flows" events with the flow count of each trace whenever it
// grows, and a comment every 15 s to keep the connection open.
func (s *Server) sse(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		apiError(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	c := s.events.subscribe()
	defer s.events.unsubscribe(c)
	send := func() {
		counts := make([]int, len(s.opts.Traces))
		for i, t := range s.opts.Traces {
			counts[i] = t.Index.Len()
		}
		b, _ := json.Marshal(map[string]any{"flows": counts})
		fmt.Fprintf(w, "event: flows\ndata: %s\n\n", b)
		fl.Flush()
	}
	send()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case _, ok := <-c:
			if !ok {
				return
			}
			send()
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}
