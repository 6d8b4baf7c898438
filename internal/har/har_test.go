package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// malformed lists the shared files that are not valid HAR; every other file
// in ../shared/testdata/har must read fully.
var malformed = map[string]bool{
	"harviewer_not-json.har":                  true,
	"mitmproxy_corrupted_broken_headers.json": true,
	"mitmproxy_corrupted_brokenfile.har":      true,
}

func corpus(t testing.TB) (good, bad []string) {
	t.Helper()
	for _, f := range testutil.SharedFiles(t, "har", "*") {
		if malformed[filepath.Base(f)] {
			bad = append(bad, f)
		} else {
			good = append(good, f)
		}
	}
	if len(bad) != len(malformed) {
		t.Fatalf("found %d of the %d malformed samples", len(bad), len(malformed))
	}
	return good, bad
}

// readAll reads every flow of a HAR document.
func readAll(data []byte, name string) ([]*trace.Flow, *trace.Meta, error) {
	r := NewReader(bytes.NewReader(data), name)
	var flows []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			return flows, r.Meta(), err
		}
		flows = append(flows, f)
	}
	return flows, r.Meta(), nil
}

// writeAll writes flows and meta through a Writer.
func writeAll(t testing.TB, flows []*trace.Flow, meta *trace.Meta) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatalf("WriteFlow %d: %v", f.ID, err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// independentCount counts log.entries with encoding/json, as a check on
// the streaming reader.
func independentCount(t *testing.T, data []byte) int {
	t.Helper()
	var doc struct {
		Log struct {
			Entries []json.RawMessage `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, bom), &doc); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return len(doc.Log.Entries)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadCorpus(t *testing.T) {
	good, _ := corpus(t)
	for _, path := range good {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := mustRead(t, path)
			flows, meta, err := readAll(data, filepath.Base(path))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			want := independentCount(t, data)
			if len(flows) != want {
				t.Fatalf("read %d flows, encoding/json counts %d entries", len(flows), want)
			}
			n, err := Count(bytes.NewReader(data), "x")
			if err != nil || n != want {
				t.Fatalf("Count = %d, %v; want %d", n, err, want)
			}
			if meta.Format != "har" {
				t.Errorf("Format = %q", meta.Format)
			}
			for i, f := range flows {
				if f.ID != i+1 {
					t.Fatalf("flow %d has ID %d", i, f.ID)
				}
				if f.Request == nil {
					t.Fatalf("flow %d has no request", f.ID)
				}
			}
		})
	}
}

func TestMalformedCorpus(t *testing.T) {
	_, bad := corpus(t)
	for _, path := range bad {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := mustRead(t, path)
			_, _, err := readAll(data, filepath.Base(path))
			checkInputError(t, err, filepath.Base(path))
			_, cerr := Count(bytes.NewReader(data), filepath.Base(path))
			checkInputError(t, cerr, filepath.Base(path))
			// Both name the same place in the same words.
			if err.Error() != cerr.Error() {
				t.Errorf("reader: %v\ncount:  %v", err, cerr)
			}
		})
	}
}

func checkInputError(t *testing.T, err error, name string) *trace.InputError {
	t.Helper()
	var ie *trace.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want *trace.InputError, got %T %v", err, err)
	}
	if ie.File != name {
		t.Errorf("File = %q, want %q", ie.File, name)
	}
	if ie.Offset < 0 {
		t.Errorf("Offset = %d", ie.Offset)
	}
	return ie
}

func TestNoEntriesIsEmpty(t *testing.T) {
	data := mustRead(t, filepath.Join(testutil.SharedDir(t, "har"), "h2o_no-entries.har"))
	flows, _, err := readAll(data, "h2o_no-entries.har")
	if err != nil || len(flows) != 0 {
		t.Fatalf("got %d flows, %v", len(flows), err)
	}
}

// TestTruncated cuts good files at several offsets: every cut must give an
// InputError, never a panic and never a shorter success.
func TestTruncated(t *testing.T) {
	good, _ := corpus(t)
	for _, path := range good {
		data := mustRead(t, path)
		end := bytes.LastIndexByte(data, '}') // the document's last byte
		cuts := []int{0, 1, 2, 3, 10, end / 7, end / 3, end / 2, 2 * end / 3, end - 100, end - 10, end - 1, end}
		for _, c := range cuts {
			if c < 0 || c >= end+1 {
				continue
			}
			cut := data[:c]
			name := filepath.Base(path)
			flows, _, err := readAll(cut, name)
			if err == nil {
				t.Fatalf("%s cut at %d: read %d flows without error", name, c, len(flows))
			}
			ie := checkInputError(t, err, name)
			if ie.Offset > int64(c) {
				t.Errorf("%s cut at %d: error offset %d is past the end", name, c, ie.Offset)
			}
			if _, err := Count(bytes.NewReader(cut), name); err == nil {
				t.Fatalf("%s cut at %d: Count succeeded", name, c)
			} else {
				checkInputError(t, err, name)
			}
		}
	}
}

func compact(t *testing.T, v []byte) string {
	t.Helper()
	x := jsontext.Value(slices.Clone(v))
	if err := x.Compact(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
		t.Fatalf("invalid raw JSON %q: %v", v, err)
	}
	return string(x)
}

func sameExt(t *testing.T, what string, a, b trace.Extensions) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d vendor fields became %d (%v vs %v)", what, len(a), len(b), names(a), names(b))
		return
	}
	for i := range a {
		if a[i].Name != b[i].Name || compact(t, a[i].JSON) != compact(t, b[i].JSON) {
			t.Errorf("%s: vendor field %d %s=%.80s became %s=%.80s", what, i, a[i].Name, a[i].JSON, b[i].Name, b[i].JSON)
		}
	}
}

func names(x trace.Extensions) []string {
	var s []string
	for _, e := range x {
		s = append(s, e.Name)
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1 }

// sameFlow checks that b (after a round trip) keeps what a had.
func sameFlow(t *testing.T, a, b *trace.Flow) {
	t.Helper()
	id := a.ID
	if a.ID != b.ID || a.PageRef != b.PageRef || a.Comment != b.Comment || a.Connection != b.Connection || a.Error != b.Error {
		t.Errorf("flow %d: id/pageref/comment/connection/error changed", id)
	}
	if d := a.Started.Sub(b.Started); d > 1e6 || d < -1e6 {
		t.Errorf("flow %d: started %v became %v", id, a.Started, b.Started)
	}
	_, oa := a.Started.Zone()
	_, ob := b.Started.Zone()
	if oa != ob {
		t.Errorf("flow %d: zone offset %d became %d", id, oa, ob)
	}
	if !near(a.Time, b.Time) {
		t.Errorf("flow %d: time %v became %v", id, a.Time, b.Time)
	}
	ta, tb := a.Timings, b.Timings
	for i, p := range [][2]float64{{ta.Blocked, tb.Blocked}, {ta.DNS, tb.DNS}, {ta.Connect, tb.Connect}, {ta.SSL, tb.SSL},
		{ta.Send, tb.Send}, {ta.Wait, tb.Wait}, {ta.Receive, tb.Receive}} {
		if !near(p[0], p[1]) {
			t.Errorf("flow %d: timing %d %v became %v", id, i, p[0], p[1])
		}
	}
	sameExt(t, "timings", ta.Extra, tb.Extra)
	sameExt(t, "entry", a.Extra, b.Extra)
	if ca, cb := string(a.Cache), string(b.Cache); ca != cb && !(ca == "" && compact(t, b.Cache) == "{}") {
		if ca == "" || compact(t, a.Cache) != compact(t, b.Cache) {
			t.Errorf("flow %d: cache %s became %s", id, a.Cache, b.Cache)
		}
	}
	qa, qb := a.Request, b.Request
	if qa.Method != qb.Method || qa.URL != qb.URL || qa.Proto != qb.Proto {
		t.Errorf("flow %d: request line %q %q %q became %q %q %q", id, qa.Method, qa.URL, qa.Proto, qb.Method, qb.URL, qb.Proto)
	}
	if !slices.Equal(qa.Headers, qb.Headers) {
		t.Errorf("flow %d: request headers changed", id)
	}
	if !bytes.Equal(qa.Body, qb.Body) || qa.HasBody != qb.HasBody || qa.MimeType != qb.MimeType {
		t.Errorf("flow %d: request body changed (%d bytes, %v -> %d bytes, %v)", id, len(qa.Body), qa.HasBody, len(qb.Body), qb.HasBody)
	}
	if !slices.Equal(qa.Params, qb.Params) {
		t.Errorf("flow %d: params changed", id)
	}
	if qa.HeadersSize != qb.HeadersSize || qa.BodySize != qb.BodySize {
		t.Errorf("flow %d: request sizes changed", id)
	}
	sameCookies(t, id, qa.Cookies, qb.Cookies)
	sameExt(t, "request", qa.Extra, qb.Extra)
	sameExt(t, "postData", qa.PostDataExtra, qb.PostDataExtra)
	if (a.Response == nil) != (b.Response == nil) {
		t.Fatalf("flow %d: response presence changed", id)
	}
	if sa, sb := a.Response, b.Response; sa != nil {
		if sa.Status != sb.Status || sa.Reason != sb.Reason || sa.Proto != sb.Proto || sa.RedirectURL != sb.RedirectURL {
			t.Errorf("flow %d: status line %d %q %q became %d %q %q", id, sa.Status, sa.Reason, sa.Proto, sb.Status, sb.Reason, sb.Proto)
		}
		if !slices.Equal(sa.Headers, sb.Headers) {
			t.Errorf("flow %d: response headers changed", id)
		}
		if !bytes.Equal(sa.Body, sb.Body) || sa.BodyOmitted != sb.BodyOmitted {
			t.Errorf("flow %d: response body changed (%d bytes, omitted %v -> %d bytes, omitted %v)", id, len(sa.Body), sa.BodyOmitted, len(sb.Body), sb.BodyOmitted)
		}
		if sa.MimeType != sb.MimeType || sa.Size != sb.Size || sa.Compression != sb.Compression || sa.Encoding != sb.Encoding {
			t.Errorf("flow %d: content fields changed", id)
		}
		if sa.HeadersSize != sb.HeadersSize || sa.BodySize != sb.BodySize {
			t.Errorf("flow %d: response sizes changed", id)
		}
		sameCookies(t, id, sa.Cookies, sb.Cookies)
		sameExt(t, "response", sa.Extra, sb.Extra)
		sameExt(t, "content", sa.ContentExtra, sb.ContentExtra)
	}
	if len(a.WebSocket) != len(b.WebSocket) {
		t.Fatalf("flow %d: %d websocket messages became %d", id, len(a.WebSocket), len(b.WebSocket))
	}
	for i := range a.WebSocket {
		ma, mb := a.WebSocket[i], b.WebSocket[i]
		if ma.Type != mb.Type || ma.Opcode != mb.Opcode || ma.Data != mb.Data || math.Abs(ma.Time-mb.Time) > 1e-3 {
			t.Errorf("flow %d: websocket message %d changed", id, i)
		}
		sameExt(t, "ws", ma.Extra, mb.Extra)
	}
}

func sameCookies(t *testing.T, id int, a, b []trace.Cookie) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("flow %d: %d cookies became %d", id, len(a), len(b))
		return
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Value != y.Value || x.Path != y.Path || x.Domain != y.Domain || x.Expires != y.Expires ||
			!sameBool(x.HTTPOnly, y.HTTPOnly) || !sameBool(x.Secure, y.Secure) || x.SameSite != y.SameSite || x.Comment != y.Comment {
			t.Errorf("flow %d: cookie %d changed", id, i)
		}
		sameExt(t, "cookie", x.Extra, y.Extra)
	}
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameMeta(t *testing.T, a, b *trace.Meta) {
	t.Helper()
	if a.Creator.Name != "" && (a.Creator.Name != b.Creator.Name || a.Creator.Version != b.Creator.Version || a.Creator.Comment != b.Creator.Comment) {
		t.Errorf("creator %+v became %+v", a.Creator, b.Creator)
	}
	sameExt(t, "creator", a.Creator.Extra, b.Creator.Extra)
	if (a.Browser == nil) != (b.Browser == nil) {
		t.Errorf("browser presence changed")
	} else if a.Browser != nil {
		if a.Browser.Name != b.Browser.Name || a.Browser.Version != b.Browser.Version {
			t.Errorf("browser changed")
		}
		sameExt(t, "browser", a.Browser.Extra, b.Browser.Extra)
	}
	if a.Comment != b.Comment {
		t.Errorf("log comment changed")
	}
	sameExt(t, "log", a.Extra, b.Extra)
	if len(a.Pages) != len(b.Pages) {
		t.Fatalf("%d pages became %d", len(a.Pages), len(b.Pages))
	}
	for i := range a.Pages {
		x, y := a.Pages[i], b.Pages[i]
		if x.ID != y.ID || x.Title != y.Title || !near(x.OnLoad, y.OnLoad) || !near(x.OnContentLoad, y.OnContentLoad) || x.Comment != y.Comment {
			t.Errorf("page %d changed: %+v -> %+v", i, x, y)
		}
		if d := x.Started.Sub(y.Started); d > 1e6 || d < -1e6 {
			t.Errorf("page %d: started changed", i)
		}
		sameExt(t, "page", x.Extra, y.Extra)
	}
}

// TestRoundTripCorpus reads every good sample, writes it, reads it back and
// compares; writing the re-read flows must give the same bytes again.
func TestRoundTripCorpus(t *testing.T) {
	good, _ := corpus(t)
	for _, path := range good {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := mustRead(t, path)
			flows, meta, err := readAll(data, "in")
			if err != nil {
				t.Fatal(err)
			}
			out := writeAll(t, flows, meta)
			flows2, meta2, err := readAll(out, "out")
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if len(flows2) != len(flows) {
				t.Fatalf("%d flows became %d", len(flows), len(flows2))
			}
			for i := range flows {
				sameFlow(t, flows[i], flows2[i])
			}
			sameMeta(t, meta, meta2)
			// Without a creator the first write names DefaultCreator after
			// the entries and the second before them; otherwise the
			// output must be a fixed point.
			if out2 := writeAll(t, flows2, meta2); !bytes.Equal(out, out2) && meta.Creator.Name != "" {
				t.Errorf("second write differs from the first (%d vs %d bytes)", len(out), len(out2))
			}
		})
	}
}
