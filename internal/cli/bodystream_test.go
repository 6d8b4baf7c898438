package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
)

// TestHARBodyStreamMatchesReader streams every request and response body
// of the shared HARs straight from the file and compares it with what the
// HAR reader decodes.
func TestHARBodyStreamMatchesReader(t *testing.T) {
	checked := 0
	for _, p := range testutil.SharedFiles(t, "har", "*.har") {
		if malformed[filepath.Base(p)] {
			continue
		}
		_, flows := readAll(t, p)
		for i, f := range flows {
			for _, req := range []bool{false, true} {
				var want []byte
				switch {
				case req:
					want = f.Request.Body
				case f.Response != nil:
					want = f.Response.Body
				}
				file, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				at, enc, found, err := harBodyAt(file, i, req)
				if err != nil {
					t.Fatalf("%s: session %d: %v", filepath.Base(p), f.ID, err)
				}
				var got bytes.Buffer
				if found && (enc == "" || enc == "base64") {
					file.Seek(at, 0)
					if _, err := writeHARString(&got, file, enc); err != nil {
						file.Close()
						// The reader is lenient with base64 (URL alphabet, no padding).
						if enc == "base64" {
							continue
						}
						t.Fatalf("%s: session %d: %v", filepath.Base(p), f.ID, err)
					}
				} else if found {
					file.Close()
					continue // an encoding the reader keeps as it is
				}
				file.Close()
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s: session %d (request %v): streamed body (%d bytes) differs from the reader's (%d bytes)", filepath.Base(p), f.ID, req, got.Len(), len(want))
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d bodies checked", checked)
	}
}

func TestShowBodyStreamsHugeBodies(t *testing.T) {
	text := strings.Repeat("é\n\"\\ 😀 ", bigBody/8)
	esc, _ := json.Marshal(text) // \" \\ \n and UTF-8 as is
	ascii := strings.NewReplacer("é", `\u00e9`, "😀", `\ud83d\ude00`).Replace(string(esc))
	bin := bytes.Repeat([]byte{0, 1, 2, 250, 251}, bigBody/4)
	doc := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05.000Z","time":10,` +
		`"request":{"method":"POST","url":"https://a.example/up","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":3,"postData":{"mimeType":"text/plain","text":` + ascii + `}},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":1,"mimeType":"application/octet-stream","text":"` + base64.StdEncoding.EncodeToString(bin) + `","encoding":"base64"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":1,"wait":8,"receive":1}}]}}`
	dir := t.TempDir()
	p := filepath.Join(dir, "big.har")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "resp.bin")
	if code, _, e := run(t, "", "show", "--body", out, "1", p); code != 0 {
		t.Fatalf("show --body: exit %d %s", code, e)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, bin) {
		t.Errorf("base64 response body: %d bytes written, want %d", len(b), len(bin))
	}
	if _, got, _ := run(t, "", "show", "--request", "--body", "-", "1", p); got != text {
		t.Errorf("escaped request body: %d bytes written, want %d", len(got), len(text))
	}
	// The screen shows a head of the streamed bodies, with their whole sizes.
	_, got, _ := run(t, "", "show", "1", p)
	if !strings.Contains(got, "é\n\"\\ 😀") && !strings.Contains(got, "é") {
		t.Errorf("show 1: the request body's head is missing")
	}
	if !strings.Contains(got, fmt.Sprintf("[%d bytes, application/octet-stream; first 256 shown as hex]", len(bin))) {
		t.Errorf("show 1: the response's hex head or its whole size is missing")
	}
	if !strings.Contains(got, "of "+humanBytes(int64(len(text)))+" shown; --body FILE writes it all]") {
		t.Errorf("show 1: the request body's note lacks its whole size")
	}
	if code, _, e := run(t, "", "show", "--body", out, "2", p); code != 1 || !strings.Contains(e, "no session 2 (the trace has 1)") {
		t.Errorf("show --body 2: exit %d %q", code, e)
	}
}

// FuzzHARBodyAt: on any input harBodyAt and writeHARString end without a
// panic, and where the HAR reader decodes a plain-text body of the first
// entry, the streamed body is the same bytes.
func FuzzHARBodyAt(f *testing.F) {
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"http://a/"},"response":{"status":200,"content":{"mimeType":"text/plain","text":"a\u00e9\"b"}}}]}}`))
	f.Add([]byte(`{"log":{"entries":[1,{"response":{"content":{"text":"eA==","encoding":"base64"}}}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		at, enc, found, err := harBodyAt(bytes.NewReader(in), 0, false)
		if err != nil || !found {
			return
		}
		if at < 0 || at >= int64(len(in)) || in[at] != '"' {
			t.Fatalf("offset %d is not a string's quote", at)
		}
		var got bytes.Buffer
		if _, err := writeHARString(&got, bytes.NewReader(in[at:]), enc); err != nil || enc != "" {
			return
		}
		for fl, err := range har.NewReader(bytes.NewReader(in), "fuzz").Flows() {
			if err == nil && fl.Response != nil && utf8.Valid(fl.Response.Body) && !bytes.Equal(got.Bytes(), fl.Response.Body) {
				t.Fatalf("streamed %q, reader %q", got.Bytes(), fl.Response.Body)
			}
			break
		}
	})
}
