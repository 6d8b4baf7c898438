package arch

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

const mod = "github.com/idtrace/idtrace/"

// allowed lists, for each package, the internal packages it may import
// (non-test code). A package missing here may import nothing internal.
var allowed = map[string][]string{
	"cmd/idtrace":           {"internal/cli"},
	"internal/decode/wsfed": {"internal/decode/saml"}, // reuses the hardened XML reader
	"internal/har":          {"internal/trace", "internal/limitio"},
	"internal/httpmsg":      {"internal/trace"},
	"internal/saz":          {"internal/trace", "internal/httpmsg"},
	"internal/entralog":     {"internal/trace", "internal/limitio"},
	"internal/record":       {"internal/trace", "internal/har", "internal/saz"}, // finalizes the journal through the writers
	"internal/browser":      {"internal/trace"},
	"internal/proxy":        {"internal/trace", "internal/certs"},
	"internal/kb":           {"internal/trace"},
	"internal/kb/gen":       {"internal/kb"},
	"internal/analyze":      {"internal/trace", "internal/kb", "internal/decode/jwt", "internal/decode/oauth", "internal/decode/saml", "internal/decode/wsfed", "internal/decode/ntlm", "internal/decode/spnego"},
	"internal/actors":       {"internal/trace", "internal/kb"},
	"internal/redact":       {"internal/trace", "internal/decode/jwt"},
	"internal/sample/gen":   {"internal/trace", "internal/har"},
	"internal/index":        {"internal/trace"},
	"internal/diff":         {"internal/trace", "internal/analyze", "internal/decode/jwt", "internal/decode/oauth"},
	"internal/web":          {"internal/trace", "internal/index", "internal/analyze", "internal/diff", "internal/decode/jwt", "internal/decode/saml", "internal/har", "internal/saz", "internal/redact", "internal/web/ui"},
	"internal/cli":          {"*"},
	"bench/genhar":          {"*"},
	"bench/analyze/gen":     {"*"},
	"bench/logs/gen":        {"*"},
	"bench/logs/prof":       {"*"},
	"bench/logs/actorsprof": {"*"},
	"bench/sanitize/prof":   {"*"},
	"bench/capture":         {"*"},
	"bench/capture/rec":     {"*"},
	"bench/viewer":          {"*"},
	"bench/jws":             {"internal/decode/jwt"},
}

// runsCLI are the programs that run idtrace's command line itself: the
// binary, and the profiler that runs one idtrace command under pprof.
var runsCLI = map[string]bool{"cmd/idtrace": true, "bench/sanitize/prof": true}

func TestImportsFlowOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = testutil.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], mod)
		ok := map[string]bool{}
		for _, a := range allowed[pkg] {
			ok[a] = true
		}
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			imp = strings.TrimPrefix(imp, mod)
			seen++
			if imp == "internal/cli" && !runsCLI[pkg] {
				t.Errorf("%s imports internal/cli: nothing but main may", pkg)
			}
			if !ok["*"] && !ok[imp] {
				t.Errorf("%s imports %s, which its layer may not (see allowed in arch_test.go)", pkg, imp)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d internal imports seen: go list output unexpected:\n%s", seen, out)
	}
}
