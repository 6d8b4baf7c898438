package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
)

// TestSkipBodiesKeepsEverythingElse reads every shared HAR with bodies
// dropped from 16 bytes up: the same sessions, URLs and statuses come out,
// and bodies under the limit are kept byte for byte.
func TestSkipBodiesKeepsEverythingElse(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "har", "*.har") {
		if malformed[filepath.Base(p)] {
			continue
		}
		_, want := readAll(t, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sb := newSkipBodies(iotest.OneByteReader(bytes.NewReader(b)))
		sb.limit = 16
		var n int
		for f, err := range har.NewReader(sb, p).Flows() {
			if err != nil {
				t.Fatalf("%s: with bodies dropped: %v", filepath.Base(p), err)
			}
			w := want[n]
			n++
			if f.ID != w.ID || f.Request.URL != w.Request.URL || (f.Response == nil) != (w.Response == nil) {
				t.Fatalf("%s: session %d differs with bodies dropped", filepath.Base(p), w.ID)
			}
			if w.Response != nil {
				if f.Response.Status != w.Response.Status {
					t.Errorf("%s: session %d: status differs", filepath.Base(p), w.ID)
				}
				if len(w.Response.Body) <= 8 && !bytes.Equal(f.Response.Body, w.Response.Body) {
					t.Errorf("%s: session %d: a short body was changed", filepath.Base(p), w.ID)
				}
			}
		}
		if n != len(want) {
			t.Errorf("%s: %d sessions with bodies dropped, want %d", filepath.Base(p), n, len(want))
		}
	}
}

func TestLsDropsHugeBodiesAndShowsTheirSize(t *testing.T) {
	body := strings.Repeat("A", bigBody+10)
	doc := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05.000Z","time":10,` +
		`"request":{"method":"POST","url":"https://a.example/up","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":3,"postData":{"mimeType":"text/plain","text":"` + body + `"}},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":` + "1048586" + `,"mimeType":"text/plain","text":"` + body + `"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":1,"wait":8,"receive":1}}]}}`
	p := filepath.Join(t.TempDir(), "big.har")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, e := run(t, "", "ls", "--json", p)
	var r lsRecord
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("ls: exit %d %s", code, e)
	}
	if r.ResponseBytes != int64(len(body)) || r.Status != 200 {
		t.Errorf("ls: response_bytes %d, want content.size %d", r.ResponseBytes, len(body))
	}
	// --grep reads bodies.
	if code, out, _ := run(t, "", "ls", "--count", "--grep", "AAAA$", p); code != 0 || strings.TrimSpace(out) != "1" {
		t.Errorf("ls --grep over a big body: %q", out)
	}
	if code, out, _ := run(t, "", "ls", "--count", p); code != 0 || strings.TrimSpace(out) != "1" {
		t.Errorf("ls --count: %q", out)
	}
}

// FuzzSkipBodies: for any input, dropping bodies from 4 bytes up turns
// valid JSON into valid JSON, and input without a "text" member passes
// through unchanged.
func FuzzSkipBodies(f *testing.F) {
	f.Add([]byte(`{"text":"abcdefgh","x":"text","y":{"text" : "a\"bcdef\\"}}`))
	f.Add([]byte(`{"a":["text",1],"text":"ab"}`))
	f.Add([]byte(`{"text":"unterminated`))
	f.Fuzz(func(t *testing.T, in []byte) {
		sb := newSkipBodies(bytes.NewReader(in))
		sb.limit = 4
		out, err := io.ReadAll(sb)
		if err != nil {
			t.Fatal(err)
		}
		if json.Valid(in) && !json.Valid(out) {
			t.Fatalf("%q became invalid: %q", in, out)
		}
		if !bytes.Contains(in, []byte(`"text"`)) && !bytes.Equal(in, out) {
			t.Fatalf("%q changed to %q", in, out)
		}
	})
}
