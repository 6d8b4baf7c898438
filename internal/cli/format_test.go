package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	gmtext "github.com/yuin/goldmark/text"

	"github.com/idtrace/idtrace/internal/record"
	"github.com/idtrace/idtrace/internal/sample"
)

// unsignedJWT is a made-up token with alg none and a few claims.
func unsignedJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc([]byte(`{"aud":"00000003-0000-0000-c000-000000000000","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","appid":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","amr":["pwd","mfa"],"scp":"User.Read","ipaddr":"203.0.113.9","groups":["0f3ed9a4-1b8c-4c39-9f3b-5a3b3c2d1e0f"],"wids":["62e90394-69f5-4237-9190-012177145e10"],"exp":1700000000,"iat":1699996400,"nbf":1699996400}`)) + "."
}

// TestFormatJSONEveryCommand runs every command whose output is
// structured with --format json (and ndjson where it has it) and parses
// what it prints: one JSON document, or one per line.
func TestFormatJSONEveryCommand(t *testing.T) {
	dir := t.TempDir()
	har := filepath.Join(dir, "sample.har")
	if err := os.WriteFile(har, sample.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	journalOut := filepath.Join(dir, "cut.har")
	j, err := record.Create(record.JournalPath(journalOut), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := j.Append(testFlow(i)); err != nil {
			t.Fatal(err)
		}
	}
	audit := filepath.Join(dir, "audit.json")
	if err := os.WriteFile(audit, []byte(`[{"id":"1","category":"UserManagement","activityDisplayName":"Reset password (self-service)","activityDateTime":"2025-01-02T03:04:05Z","result":"success","initiatedBy":{"user":{"userPrincipalName":"alice@contoso.test","id":"6c7e1f3a-0000-4000-8000-000000000001"}},"targetResources":[{"type":"User","userPrincipalName":"alice@contoso.test"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := unsignedJWT()
	tests := []struct {
		name string
		args []string
		// key is a top-level key the JSON (or each NDJSON line) must have.
		key string
	}{
		{"ls", []string{"ls", "--format", "json", har}, "url"},
		{"ls ndjson", []string{"ls", "-f", "ndjson", har}, "url"},
		{"show", []string{"show", "--json", "1", har}, ""},
		{"analyze", []string{"analyze", "--format", "json", har}, "verdict"},
		{"demo", []string{"demo", "--format", "json"}, "verdict"},
		{"jwt", []string{"jwt", "--format", "json", tok}, "claims"},
		{"saml", []string{"saml", "--json", base64.StdEncoding.EncodeToString([]byte(synthResponse))}, "verdict"},
		{"kb errors", []string{"kb", "errors", "--format", "json", "50076"}, ""},
		{"kb claims ndjson", []string{"kb", "claims", "-f", "ndjson"}, "meaning"},
		{"kb apps", []string{"kb", "apps", "--json"}, ""},
		{"whois", []string{"whois", "--format", "json", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}, "kind"},
		{"logs", []string{"logs", "--format", "json", audit}, ""},
		{"sanitize --check", []string{"sanitize", "--check", "--format", "json", har}, "secrets"},
		{"sanitize --check ndjson", []string{"sanitize", "--check", "-f", "ndjson", har}, "rule"},
		{"sanitize --report", []string{"sanitize", "--format", "json", "--report", filepath.Join(dir, "report.json"), "-o", filepath.Join(dir, "clean.har"), har}, ""},
		{"recover", []string{"recover", "--format", "json", record.JournalPath(journalOut)}, "requests"},
		{"ca path", []string{"ca", "path", "--dir", filepath.Join(dir, "ca"), "--format", "json"}, "sha256"},
		{"diff", []string{"diff", "--no-cache", "--format", "json", har, har}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			// sanitize --check exits 3 when it finds secrets: the sample has some.
			if code != 0 && !(code == 3 && tt.args[0] == "sanitize") {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if tt.name == "sanitize --report" {
				b, err := os.ReadFile(filepath.Join(dir, "report.json"))
				if err != nil {
					t.Fatal(err)
				}
				out, tt.key = string(b), "removed"
			}
			ndjson := strings.Contains(strings.Join(tt.args, " "), "ndjson") ||
				(tt.args[0] == "ls" && !strings.Contains(tt.name, "show"))
			if ndjson {
				n := 0
				sc := bufio.NewScanner(strings.NewReader(out))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var m map[string]any
					if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
						t.Fatalf("line %d is not a JSON object: %v", n+1, err)
					}
					if _, ok := m[tt.key]; tt.key != "" && !ok {
						t.Fatalf("line %d lacks %q", n+1, tt.key)
					}
					n++
				}
				if n == 0 {
					t.Fatal("no NDJSON line")
				}
				return
			}
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("not one JSON document: %v\n%.300s", err, out)
			}
			if tt.key != "" {
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("want an object, got %T", v)
				}
				if _, ok := m[tt.key]; !ok {
					t.Fatalf("the object lacks %q", tt.key)
				}
			}
		})
	}
}

// TestFormatUsageErrors: a --format a command does not write is a usage
// error (exit 2) naming the formats it has, and so is --json with
// another --format, in either order.
func TestFormatUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ls", "--format", "xml", "x.har"}, "want text, json or ndjson"},
		{[]string{"show", "-f", "md", "1", "x.har"}, "want text or json"},
		{[]string{"analyze", "--format", "csv", "x.har"}, "want text, md or json"},
		{[]string{"jwt", "--format", "md", "x"}, "want text or json"},
		{[]string{"saml", "--format", "md", "x"}, "want text or json"},
		{[]string{"kb", "apps", "--format", "csv"}, "want text, md, json or ndjson"},
		{[]string{"logs", "--format", "xml", "x.csv"}, "want text, md, json or csv"},
		{[]string{"whois", "--format", "csv", "x"}, "want text, md or json"},
		{[]string{"diff", "--format", "md", "a.har", "b.har"}, "want text or json"},
		{[]string{"sanitize", "--check", "--format", "md", "x.har"}, "want text, json or ndjson"},
		{[]string{"recover", "--format", "md", "x.idtrace-journal"}, "want text or json"},
		{[]string{"ca", "path", "--format", "md"}, "want text or json"},
		{[]string{"demo", "--format", "ndjson"}, "want text, md or json"},
		{[]string{"ls", "--json", "--format", "text", "x.har"}, "--json asks for json, --format for text"},
		{[]string{"ls", "--format", "text", "--json", "x.har"}, "--json asks for json, --format for text"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, "", tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Usage: idtrace "+tt.args[0]) || out != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q and the usage line", tt.args, code, errOut, tt.want)
		}
	}
	// --json with --format ndjson agree (both machine formats).
	if code, _, errOut := run(t, "", "ls", "--json", "--format", "ndjson", "-"); code == 2 {
		t.Errorf("ls --json --format ndjson: usage error %s", errOut)
	}
}

// TestKBMarkdownIsATable: kb --format md parses, with a CommonMark parser
// and the GFM table extension, as one table with a row per entry and the
// same number of cells in each, whatever the entries hold (pipes, stars,
// underscores in names).
func TestKBMarkdownIsATable(t *testing.T) {
	for _, what := range []string{"apps", "errors", "claims", "actors"} {
		code, out, errOut := run(t, "", "kb", what, "--format", "md")
		if code != 0 {
			t.Fatalf("kb %s: exit %d: %s", what, code, errOut)
		}
		src := []byte(out)
		doc := goldmark.New(goldmark.WithExtensions(extension.Table)).Parser().Parse(gmtext.NewReader(src))
		var tables, rows int
		cells := -1
		ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			switch n.Kind() {
			case east.KindTable:
				tables++
			case east.KindTableRow, east.KindTableHeader:
				rows++
				if c := n.ChildCount(); cells == -1 {
					cells = c
				} else if c != cells {
					t.Errorf("kb %s: a row of %d cells, the header has %d", what, c, cells)
				}
			}
			return ast.WalkContinue, nil
		})
		if lines := strings.Count(out, "\n"); tables != 1 || rows != lines-1 {
			t.Errorf("kb %s --format md: %d tables and %d rows for %d lines, want 1 table and a row per line but the separator", what, tables, rows, lines)
		}
	}
}
