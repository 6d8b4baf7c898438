package analyze

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/testutil"
)

// checkMarkdown parses md with goldmark (GitHub tables) and checks that it
// is well formed: the headings of the report, every table parsed as a
// table with as many cells per row as its header, every Mermaid block
// closed, and no raw HTML (an untrusted trace must not inject markup).
func checkMarkdown(t *testing.T, name string, md []byte) {
	t.Helper()
	p := goldmark.New(goldmark.WithExtensions(extension.Table))
	doc := p.Parser().Parse(text.NewReader(md))
	var headings []string
	mermaids, tables := 0, 0
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			headings = append(headings, string(n.Lines().Value(md)))
		case *ast.FencedCodeBlock:
			if string(n.Language(md)) == "mermaid" {
				mermaids++
				body := string(n.Lines().Value(md))
				if !strings.HasPrefix(body, "sequenceDiagram\n") {
					t.Errorf("%s: mermaid block does not start with sequenceDiagram", name)
				}
			}
		case *ast.HTMLBlock, *ast.RawHTML:
			t.Errorf("%s: raw HTML in the Markdown: %q", name, n.Lines().Value(md))
		case *east.Table:
			tables++
			cols := -1
			for row := n.FirstChild(); row != nil; row = row.NextSibling() {
				c := row.ChildCount()
				if cols == -1 {
					cols = c
				} else if c != cols {
					t.Errorf("%s: a table row has %d cells, its header %d", name, c, cols)
				}
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(headings) < 4 || headings[1] != "Verdict" {
		t.Errorf("%s: headings %q, want the verdict first", name, headings)
	}
	if n := bytes.Count(md, []byte("```mermaid")); n != mermaids {
		t.Errorf("%s: %d mermaid fences, %d parsed", name, n, mermaids)
	}
	if bytes.Count(md, []byte("```"))%2 != 0 {
		t.Errorf("%s: an unclosed code fence", name)
	}
	if tables == 0 && bytes.Contains(md, []byte("\n| ")) {
		t.Errorf("%s: table lines that goldmark does not read as a table", name)
	}
}

// TestMarkdownEntraSamples: the Markdown report of each real Entra sample
// is valid and, when the trace holds a failure, its first lines after the
// title give the failure's code and correlation ID.
func TestMarkdownEntraSamples(t *testing.T) {
	for _, tt := range []struct{ name, code, corr string }{
		{"bluecore_chrome_entra-sharepoint-login.har", "AADSTS50196", "0af455a1-e0af-9000-eccd-17af2936f39b"},
		{"nullmicgo_chrome_azure-portal_bearer.har", "", ""},
		{"cloudflare_scrubbed_google_oauth_chrome.har", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := analyzeFile(t, filepath.Join(testutil.SharedDir(t, "har"), tt.name))
			var md bytes.Buffer
			if err := WriteMarkdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			checkMarkdown(t, tt.name, md.Bytes())
			golden(t, strings.TrimSuffix(tt.name, ".har")+".md", md.Bytes())
			lines := strings.SplitN(md.String(), "\n", 6)
			first := lines[4] // title, blank, "## Verdict", blank, then the verdict
			if tt.code == "" {
				if !strings.HasPrefix(first, "No sign-in") {
					t.Errorf("verdict line %q, want no failure", first)
				}
				return
			}
			if !strings.Contains(first, tt.code) || !strings.Contains(first, tt.corr) {
				t.Errorf("verdict line %q lacks the code %s or the correlation ID", first, tt.code)
			}
		})
	}
}

// TestGoldenSAZ: the SharePoint NTLM capture (Fiddler SAZ) is analysed as
// a Windows sign-in with its NTLM handshakes decoded.
func TestGoldenSAZ(t *testing.T) {
	path := filepath.Join(testutil.SharedDir(t, "saz"), "officeinspectors_NewCaseName.saz")
	r, err := saz.OpenFile(path, saz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := Run(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Source = filepath.Base(path)
	if len(rep.Flows) == 0 || rep.Flows[0].Protocol != "windows" || rep.Flows[0].Grant != "ntlm" || len(rep.Flows[0].WindowsAuth) == 0 {
		t.Fatalf("no Windows sign-in: %+v", rep.Flows)
	}
	wa := rep.Flows[0].WindowsAuth[0]
	facts := map[string]string{}
	for _, kv := range wa.Facts {
		facts[kv.Key] = kv.Value
	}
	if wa.Kind != "ntlm" || facts["protocol"] != "NTLMv2" || facts["user"] == "" || facts["domain"] == "" {
		t.Errorf("NTLM facts %+v", wa)
	}
	var js, txt, md bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	checkMarkdown(t, "saz", md.Bytes())
	golden(t, "officeinspectors_NewCaseName.json", js.Bytes())
	golden(t, "officeinspectors_NewCaseName.txt", txt.Bytes())
}

// TestVerdictOfManyFailures: a trace with many failing sign-ins keeps the
// first screen short (five sentences, a table of at most 50 rows, a count
// of the rest) and the JSON complete.
func TestVerdictOfManyFailures(t *testing.T) {
	var b fb
	for i := 0; i < 60; i++ {
		b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, "grant_type=client_credentials&client_id="+appID+"&client_secret=x&scope=s", 401, nil,
			entraError(7000222, "invalid_client", "The provided client secret keys are expired."))
	}
	r, err := Run(sliceSource(b.flows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Verdict) != 60 {
		t.Fatalf("%d verdict rows, want 60", len(r.Verdict))
	}
	var md, txt bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	checkMarkdown(t, "many", md.Bytes())
	if n := strings.Count(md.String(), "**Failed:"); n != 5 {
		t.Errorf("%d failure sentences in md, want 5", n)
	}
	if !strings.Contains(md.String(), "45 failures more in the table below") || !strings.Contains(md.String(), "10 more failures not listed") {
		t.Errorf("md does not count what it leaves out")
	}
	if n := strings.Count(txt.String(), "FAILED  AADSTS"); n != 5 || !strings.Contains(txt.String(), "55 more failures not listed") {
		t.Errorf("text: %d failures told", n)
	}
}
