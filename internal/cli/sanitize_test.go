package cli

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// secretsOf collects, independently of internal/redact, the values in a
// trace that sign someone in: cookie values (as net/http parses them),
// Authorization credentials, the signatures of JWTs found anywhere, and
// the values of the OAuth fields of URLs and forms (as net/url parses
// them). Keys are "flow N: where", for messages that never show a value.
func secretsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	_, flows := readAll(t, path)
	out := map[string]string{}
	add := func(f *trace.Flow, where, v string) {
		v = strings.TrimSpace(v)
		if len(v) >= 12 {
			out[fmt.Sprintf("flow %d: %s #%d", f.ID, where, len(out))] = v
		}
	}
	oauth := map[string]bool{"code": true, "access_token": true, "refresh_token": true, "id_token": true, "client_secret": true,
		"password": true, "samlresponse": true, "wresult": true, "sft": true, "ctx": true, "canary": true, "flowtoken": true}
	query := func(f *trace.Flow, where, s string) {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '?' || r == '#' || r == '&' }) {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			if oauth[strings.ToLower(k)] && (strings.ToLower(k) != "code" || strings.ContainsAny(v, "0123456789")) {
				add(f, where+" "+k, v)
			}
		}
	}
	sigs := func(f *trace.Flow, where, s string) {
		for _, m := range jwt.Find(s) {
			if parts := strings.Split(m.Token, "."); len(parts) == 3 && len(parts[2]) >= 16 {
				add(f, where+" jwt signature", parts[2])
			}
		}
	}
	for _, f := range flows {
		q := f.Request
		query(f, "url", q.URL)
		for _, h := range q.Headers {
			switch strings.ToLower(h.Name) {
			case "authorization", "proxy-authorization":
				if _, cred, ok := strings.Cut(h.Value, " "); ok {
					// An NTLM NEGOTIATE message (flags and version) is no
					// secret and is kept (docs/sanitize.md); of an
					// AUTHENTICATE message the NT response is, as well as
					// the message whole.
					typ, nt := ntlmParts(strings.TrimSpace(cred))
					if typ != 1 {
						add(f, "authorization", cred)
					}
					if typ == 3 {
						add(f, "ntlm nt response", nt)
					}
				}
			case "cookie":
				if cs, err := http.ParseCookie(h.Value); err == nil {
					for _, c := range cs {
						if len(c.Value) >= 16 {
							add(f, "cookie "+c.Name, c.Value)
						}
					}
				}
			}
			sigs(f, "request header", h.Value)
		}
		if bytes.Contains(q.Body, []byte("=")) && !bytes.ContainsAny(q.Body, "{<") {
			query(f, "form", string(q.Body))
		}
		sigs(f, "request body", string(q.Body))
		if s := f.Response; s != nil {
			for _, h := range s.Headers {
				if strings.EqualFold(h.Name, "Set-Cookie") {
					if c, err := http.ParseSetCookie(h.Value); err == nil && len(c.Value) >= 16 {
						add(f, "set-cookie "+c.Name, c.Value)
					}
				}
				if strings.EqualFold(h.Name, "Location") {
					query(f, "location", h.Value)
				}
				sigs(f, "response header", h.Value)
			}
			sigs(f, "response body", string(s.Body))
			var j map[string]any
			if json.Unmarshal(s.Body, &j) == nil {
				for _, k := range []string{"access_token", "refresh_token", "id_token"} {
					if v, ok := j[k].(string); ok {
						add(f, "json "+k, v)
					}
				}
			}
		}
	}
	return out
}

// ntlmParts returns the message type of a base64 NTLM message (0 for
// anything else) and, for an AUTHENTICATE message, its NT response bytes
// (MS-NLMP 2.2.1.3: the security buffer at offset 20).
func ntlmParts(cred string) (typ int, nt string) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil || len(b) < 12 || string(b[:8]) != "NTLMSSP\x00" {
		return 0, ""
	}
	typ = int(binary.LittleEndian.Uint32(b[8:12]))
	if typ == 3 && len(b) >= 28 {
		n, off := int(binary.LittleEndian.Uint16(b[20:])), int(binary.LittleEndian.Uint32(b[24:]))
		if off <= len(b) && n <= len(b)-off {
			nt = string(b[off : off+n])
		}
	}
	return typ, nt
}

// outputBytes returns what a file holds for a reader: a HAR's bytes, a
// SAZ's entries uncompressed.
func outputBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".saz") {
		return b
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var all bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&all, rc)
		rc.Close()
		all.WriteByte('\n')
	}
	return all.Bytes()
}

// valueForms are the encodings a value can take in an output.
func valueForms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v)}
	jb, _ := json.Marshal(v)
	out = append(out, string(jb[1:len(jb)-1]))
	for k := 0; k < 3; k++ {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString(append(make([]byte, k), v...))
			start, end := (k*8+5)/6, (k+len(v))*8/6
			if end-start >= 12 {
				out = append(out, e[start:end])
			}
		}
	}
	return out
}

var sanitizeSamples = []string{
	"har/bluecore_chrome_entra-sharepoint-login.har", "har/nullmicgo_chrome_azure-portal_bearer.har",
	"har/cloudflare_scrubbed_google_oauth_chrome.har", "har/mitmproxy_full_chrome.har", "har/fluxzy_with-payload.har",
	"saz/officeinspectors_NewCaseName.saz", "saz/knapcode_httpbin-test.saz", "saz/fluxzy_minimal.saz",
}

// TestSanitizeRealTraces: on the real Entra HARs and SAZ files, no secret
// of the input survives in the HAR or SAZ output, in any encoding; --check
// fails on the input and passes on the output; the output reads back.
func TestSanitizeRealTraces(t *testing.T) {
	dir := t.TempDir()
	total := 0
	for _, rel := range sanitizeSamples {
		in := filepath.Join(testutil.SharedDir(t, filepath.Dir(rel)), filepath.Base(rel))
		secrets := secretsOf(t, in)
		total += len(secrets)
		code, _, _ := run(t, "", "sanitize", "--check", in)
		if len(secrets) > 0 && code != 3 {
			t.Errorf("%s: --check on the input exited %d, want 3 (it holds %d secrets)", rel, code, len(secrets))
		}
		for _, ext := range []string{".har", ".saz"} {
			out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))+ext)
			if code, _, stderr := run(t, "", "sanitize", in, "-o", out); code != 0 {
				t.Fatalf("%s -> %s: exit %d: %s", rel, ext, code, stderr)
			}
			b := outputBytes(t, out)
			keys := make([]string, 0, len(secrets))
			for k := range secrets {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				for i, form := range valueForms(secrets[k]) {
					if bytes.Contains(b, []byte(form)) {
						t.Errorf("%s -> %s: the secret at %s survives (encoding #%d)", rel, ext, k, i)
						break
					}
				}
			}
			if code, stdout, stderr := run(t, "", "sanitize", "--check", out); code != 0 {
				t.Errorf("%s -> %s: --check on the output exited %d: %s%s", rel, ext, code, stdout, stderr)
			}
			_, a := readAll(t, in)
			_, c := readAll(t, out)
			if len(a) != len(c) {
				t.Errorf("%s -> %s: %d flows in, %d out", rel, ext, len(a), len(c))
			}
		}
	}
	if total < 100 {
		t.Fatalf("the samples hold only %d secrets: the extractor is broken", total)
	}
}

// analysisView is what must not change when a trace is sanitized: the
// sign-ins (protocol, grant, client, tenant, result, error and correlation
// ID), the findings, and the tokens' kinds, places and claims.
type analysisView struct {
	Flows    []map[string]any
	Findings []map[string]any
	Tokens   []string
}

func analysisOf(t *testing.T, path string) analysisView {
	t.Helper()
	code, stdout, stderr := run(t, "", "analyze", "--format", "json", path)
	if code != 0 {
		t.Fatalf("analyze %s: exit %d: %s", path, code, stderr)
	}
	var rep struct {
		Flows    []map[string]any `json:"flows"`
		Findings []map[string]any `json:"findings"`
		Tokens   []struct {
			FlowID int            `json:"flow_id"`
			Where  string         `json:"where"`
			Kind   string         `json:"kind"`
			Claims map[string]any `json:"claims"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	v := analysisView{Flows: rep.Flows, Findings: rep.Findings}
	for _, f := range v.Flows {
		delete(f, "steps") // step URLs hold pseudonyms instead of codes
	}
	for _, tk := range rep.Tokens {
		cb, _ := json.Marshal(tk.Claims)
		v.Tokens = append(v.Tokens, fmt.Sprintf("%d %s %s %s", tk.FlowID, tk.Where, tk.Kind, cb))
	}
	return v
}

// TestSanitizedTracesAnalyzeTheSame: analyze reports the same sign-ins,
// errors, correlation IDs and token claims before and after, and a token
// whose signature sanitize removed is reported as such, never as invalid.
func TestSanitizedTracesAnalyzeTheSame(t *testing.T) {
	dir := t.TempDir()
	signins := 0
	for _, rel := range append(sanitizeSamples, "har/mitmproxy_full_edge.har", "har/h2o_kofax_fiddler-export.har") {
		in := filepath.Join(testutil.SharedDir(t, filepath.Dir(rel)), filepath.Base(rel))
		out := filepath.Join(dir, filepath.Base(rel))
		if code, _, stderr := run(t, "", "sanitize", in, "-o", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", rel, code, stderr)
		}
		a, b := analysisOf(t, in), analysisOf(t, out)
		signins += len(a.Flows)
		if !reflect.DeepEqual(a.Flows, b.Flows) {
			t.Errorf("%s: sign-ins differ after sanitize:\nbefore %v\nafter  %v", rel, a.Flows, b.Flows)
		}
		if !reflect.DeepEqual(a.Findings, b.Findings) {
			t.Errorf("%s: findings differ after sanitize:\nbefore %v\nafter  %v", rel, a.Findings, b.Findings)
		}
		if !reflect.DeepEqual(a.Tokens, b.Tokens) {
			t.Errorf("%s: tokens differ after sanitize (%d before, %d after)", rel, len(a.Tokens), len(b.Tokens))
		}
		_, stdout, _ := run(t, "", "analyze", out)
		if strings.Contains(stdout, "INVALID") || strings.Contains(stdout, "bad_signature") {
			t.Errorf("%s: analysis of the sanitized trace calls a signature invalid", rel)
		}
		if len(b.Tokens) > 0 && !strings.Contains(stdout, "removed by sanitize") {
			t.Errorf("%s: analysis does not say the signatures were removed by sanitize", rel)
		}
	}
	if signins == 0 {
		t.Fatal("no sign-in in the samples: the comparison proves nothing")
	}
}

// TestSanitizedHARValidates runs har-validator over the HAR outputs.
func TestSanitizedHARValidates(t *testing.T) {
	dir := filepath.Join(testutil.Root(), "tools", "harvalidate")
	node, errNode := exec.LookPath("node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "har-validator")); err != nil || errNode != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("har-validator or node is missing (./test.sh runs npm ci in tools/harvalidate)")
		}
		t.Skip("har-validator or node is missing")
	}
	out := t.TempDir()
	var files []string
	for _, rel := range sanitizeSamples {
		in := filepath.Join(testutil.SharedDir(t, filepath.Dir(rel)), filepath.Base(rel))
		o := filepath.Join(out, filepath.Base(rel)+".har")
		if code, _, stderr := run(t, "", "sanitize", "--pii", in, "-o", o); code != 0 {
			t.Fatalf("%s: exit %d: %s", rel, code, stderr)
		}
		files = append(files, o)
	}
	res, err := exec.Command(node, append([]string{filepath.Join(dir, "validate.js")}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("har-validator rejects sanitized output: %v\n%s", err, res)
	}
	if n := strings.Count(string(res), "ok "); n != len(files) {
		t.Fatalf("har-validator accepted %d of %d files:\n%s", n, len(files), res)
	}
}

// TestSanitizedSAZReadsWithNetHTTP reads every raw/N_c.txt and N_s.txt of
// the SAZ outputs with Go's net/http ReadRequest and ReadResponse.
func TestSanitizedSAZReadsWithNetHTTP(t *testing.T) {
	dir := t.TempDir()
	msgs := 0
	// SAZ inputs, whose messages are HTTP/1.1 on the wire (a HAR's HTTP/2
	// flows are written with an "HTTP/2" version, which net/http refuses).
	for _, rel := range []string{"saz/officeinspectors_NewCaseName.saz", "saz/knapcode_httpbin-test.saz", "saz/fluxzy_minimal.saz",
		"saz/nodesazparser_simple.saz", "saz/saz2jmx_test.saz"} {
		in := filepath.Join(testutil.SharedDir(t, filepath.Dir(rel)), filepath.Base(rel))
		o := filepath.Join(dir, filepath.Base(rel)+".saz")
		if code, _, stderr := run(t, "", "sanitize", in, "-o", o); code != 0 {
			t.Fatalf("%s: exit %d: %s", rel, code, stderr)
		}
		// Messages the input itself stores truncated (a Content-Length with
		// no body) stay so; only new failures count.
		inherited := map[string]bool{}
		for _, e := range netHTTPErrors(t, in) {
			inherited[e] = true
		}
		for _, e := range netHTTPErrors(t, o) {
			if !inherited[e] {
				t.Errorf("%s: %s", rel, e)
			}
		}
		msgs += countMessages(t, o)
	}
	if msgs < 50 {
		t.Fatalf("only %d messages read", msgs)
	}
}

func countMessages(t *testing.T, path string) int {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "_c.txt") || strings.HasSuffix(f.Name, "_s.txt") {
			n++
		}
	}
	return n
}

// netHTTPErrors reads each message of a SAZ with net/http and returns its
// failures as "session N request|response: error".
func netHTTPErrors(t *testing.T, path string) []string {
	t.Helper()
	var errs []string
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		isReq, isResp := strings.HasSuffix(f.Name, "_c.txt"), strings.HasSuffix(f.Name, "_s.txt")
		if !isReq && !isResp {
			continue
		}
		num := strings.TrimLeft(strings.TrimPrefix(f.Name[:len(f.Name)-6], "raw/"), "0")
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if len(b) == 0 {
			continue
		}
		br := bufio.NewReader(bytes.NewReader(b))
		var body io.Reader
		what := "session " + num + " request"
		if isReq {
			r, err := http.ReadRequest(br)
			if err != nil {
				errs = append(errs, what+": "+err.Error())
				continue
			}
			body = r.Body
		} else {
			what = "session " + num + " response"
			r, err := http.ReadResponse(br, nil)
			if err != nil {
				errs = append(errs, what+": "+err.Error())
				continue
			}
			body = r.Body
		}
		if _, err := io.ReadAll(body); err != nil {
			errs = append(errs, what+" body: "+err.Error())
		}
	}
	return errs
}

// TestConvertSanitize: convert --sanitize writes the same kind of output
// as sanitize: nothing that --check finds, and the flows all there.
func TestConvertSanitize(t *testing.T) {
	in := filepath.Join(testutil.SharedDir(t, "har"), "bluecore_chrome_entra-sharepoint-login.har")
	out := filepath.Join(t.TempDir(), "clean.saz")
	if code, _, stderr := run(t, "", "convert", "--sanitize", in, out); code != 0 {
		t.Fatalf("convert --sanitize: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := run(t, "", "sanitize", "--check", out); code != 0 {
		t.Errorf("convert --sanitize output fails --check:\n%s", stdout)
	}
	if code, _, _ := run(t, "", "sanitize", "--check", in); code != 3 {
		t.Errorf("--check on the raw input exited %d, want 3", code)
	}
	_, a := readAll(t, in)
	_, b := readAll(t, out)
	if len(a) != len(b) || len(b) == 0 {
		t.Errorf("%d flows in, %d out", len(a), len(b))
	}
}

// TestSanitizeUsage: flags are validated and misuse exits 2; a malformed
// input exits 1 with one line; the output never replaces the input.
func TestSanitizeUsage(t *testing.T) {
	in := filepath.Join(testutil.SharedDir(t, "har"), "bluecore_chrome_entra-sharepoint-login.har")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"sanitize", in},
		{"sanitize", in, "-o", filepath.Join(dir, "x.txt")},
		{"sanitize", "--tokens", "maybe", in, "-o", filepath.Join(dir, "x.har")},
		{"sanitize", "--check", in, "-o", filepath.Join(dir, "x.har")},
		{"sanitize", in, "-o", in},
		{"sanitize", "--out-password", "p", in, "-o", filepath.Join(dir, "x.har")},
	} {
		if code, _, stderr := run(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args[1:], code, stderr)
		}
	}
	bad := filepath.Join(testutil.SharedDir(t, "har"), "mitmproxy_corrupted_brokenfile.har")
	code, _, stderr := run(t, "", "sanitize", bad, "-o", filepath.Join(dir, "bad.har"))
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "mitmproxy_corrupted_brokenfile.har") {
		t.Errorf("malformed input: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.har")); err == nil {
		t.Errorf("a failed sanitize left an output file")
	}
	// The report names rules and places, never values.
	rep := filepath.Join(dir, "report.tsv")
	if code, _, stderr := run(t, "", "sanitize", in, "-o", filepath.Join(dir, "ok.har"), "--report", rep); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(rep)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 100 || lines[0] != "flow\trule\twhere" || !strings.Contains(string(b), "cookie\trequest.header cookie: ESTSAUTH") {
		t.Errorf("report has %d lines and lacks the ESTSAUTH cookie", len(lines))
	}
	for k, v := range secretsOf(t, in) {
		if strings.Contains(string(b), v) {
			t.Errorf("the report holds the secret at %s", k)
		}
	}
}

// TestSanitizePII: with --pii, the user's e-mail, names and object ID
// taken from the input's own tokens appear nowhere in the output, and the
// sign-in still analyzes the same.
func TestSanitizePII(t *testing.T) {
	in := filepath.Join(testutil.SharedDir(t, "har"), "nullmicgo_chrome_azure-portal_bearer.har")
	_, flows := readAll(t, in)
	pii := map[string]string{}
	for _, f := range flows {
		for _, m := range jwt.Find(f.Request.Headers.Get("Authorization")) {
			tok, err := jwt.Parse(m.Token)
			if err != nil {
				continue
			}
			for _, c := range []string{"email", "unique_name", "given_name", "family_name", "oid", "ipaddr", "name"} {
				if v := tok.Claims.Str(c); len(v) >= 4 {
					pii[c] = v
				}
			}
		}
	}
	if len(pii) < 5 {
		t.Fatalf("found only %d PII claims in the sample's tokens", len(pii))
	}
	out := filepath.Join(t.TempDir(), "pii.har")
	if code, _, stderr := run(t, "", "sanitize", "--pii", in, "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b := outputBytes(t, out)
	for c, v := range pii {
		for i, form := range valueForms(v) {
			if len(form) >= 4 && bytes.Contains(b, []byte(form)) {
				t.Errorf("--pii output still holds the %s claim's value (encoding #%d)", c, i)
				break
			}
		}
	}
	a, z := analysisOf(t, in), analysisOf(t, out)
	if len(a.Flows) != len(z.Flows) || !reflect.DeepEqual(a.Findings, z.Findings) {
		t.Errorf("--pii changed the sign-ins or findings")
	}
}
