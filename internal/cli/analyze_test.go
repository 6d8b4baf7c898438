package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// idt runs idtrace with args and returns the exit code, stdout and stderr.
func idt(t testing.TB, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{IO: IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

// writeSyntheticHAR writes a small synthetic Entra trace: a sign-in page
// showing AADSTS53003 (error) and a token request with a masked secret.
func writeSyntheticHAR(t *testing.T) string {
	t.Helper()
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	flows := []*trace.Flow{
		{ID: 1, Started: t0, Time: trace.NA, Timings: trace.NoTimings(),
			Request:  &trace.Request{Method: "GET", URL: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=4765445b-32c6-49b0-83e6-1d93765276ca&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2F&scope=openid&state=s", HeadersSize: -1, BodySize: -1},
			Response: &trace.Response{Status: 200, MimeType: "text/html", Body: []byte(`<script>$Config={"iErrorCode":53003,"strServiceExceptionMessage":"AADSTS53003: Access has been blocked by Conditional Access policies."};</script>`), Size: -1, HeadersSize: -1, BodySize: -1}},
		{ID: 2, Started: t0.Add(time.Second), Time: trace.NA, Timings: trace.NoTimings(),
			Request: &trace.Request{Method: "POST", URL: "https://login.microsoftonline.com/common/oauth2/v2.0/token", Headers: trace.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
				Body: []byte("grant_type=client_credentials&client_id=c&client_secret=TopSecretValue42&scope=x%2F.default"), HasBody: true, MimeType: "application/x-www-form-urlencoded", HeadersSize: -1, BodySize: -1},
			Response: &trace.Response{Status: 200, MimeType: "application/json", Body: []byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"opaque"}`), Size: -1, HeadersSize: -1, BodySize: -1}},
	}
	var buf bytes.Buffer
	meta := &trace.Meta{Format: "har", Version: "1.2", Creator: trace.Software{Name: "synthetic", Version: "1"}}
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "synthetic.har")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyzeCommand(t *testing.T) {
	p := writeSyntheticHAR(t)
	tests := []struct {
		args     []string
		code     int
		contains []string
	}{
		{[]string{"analyze", p}, 0, []string{"Sign-ins", "oidc authorization_code — FAILED", "4765445b-32c6-49b0-83e6-1d93765276ca (OfficeHome)", "AADSTS53003", "client_secret_post"}},
		{[]string{"analyze", "--format", "md", p}, 0, []string{"# Sign-in analysis", "### [1]", "**ERROR**"}},
		{[]string{"analyze", "--fail-on", "error", p}, 3, []string{"Findings"}},
		{[]string{"analyze", "--fail-on", "nonsense", p}, 2, nil},
		{[]string{"analyze", "--format", "yaml", p}, 2, nil},
		{[]string{"analyze", filepath.Join(t.TempDir(), "missing.har")}, 1, nil},
		{[]string{"analyze"}, 2, nil},
	}
	for _, tt := range tests {
		code, out, errOut := idt(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", tt.args, code, tt.code, errOut)
		}
		for _, c := range tt.contains {
			if !strings.Contains(out, c) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, c, out)
			}
		}
		if strings.Contains(out, "TopSecretValue42") {
			t.Errorf("%v: client secret printed", tt.args)
		}
	}
}

func TestAnalyzeJSONContract(t *testing.T) {
	code, out, errOut := idt(t, "", "analyze", "--format", "json", writeSyntheticHAR(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Flows []struct {
			ID                                    int
			Protocol, Grant, ClientID, ClientName string
			Tenant, Result                        string
			Steps                                 []struct {
				FlowID int `json:"flow_id"`
			}
		} `json:"flows"`
		Tokens   []json.RawMessage `json:"tokens"`
		Findings []struct {
			Severity, Code, Title, Detail, Hint string
			FlowIDs                             []int `json:"flow_ids"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"verdict", "flows", "tokens", "findings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var verdict []map[string]any
	_ = json.Unmarshal(raw["verdict"], &verdict)
	if len(verdict) != 1 || verdict[0]["code"] != "AADSTS53003" || verdict[0]["category"] != "conditional-access" ||
		verdict[0]["app"] != "4765445b-32c6-49b0-83e6-1d93765276ca (OfficeHome)" || verdict[0]["time"] != "2025-03-01T10:00:00Z" {
		t.Errorf("verdict %v", verdict)
	}
	var flows []map[string]json.RawMessage
	_ = json.Unmarshal(raw["flows"], &flows)
	for _, k := range []string{"id", "protocol", "grant", "client_id", "client_name", "tenant", "steps", "result"} {
		if len(flows) == 0 || flows[0][k] == nil {
			t.Errorf("flow lacks %q", k)
		}
	}
	if len(doc.Flows) != 2 || doc.Flows[0].Result != "error" || doc.Flows[1].Grant != "client_credentials" {
		t.Errorf("flows %+v", doc.Flows)
	}
	if len(doc.Findings) == 0 || doc.Findings[0].Code != "conditional_access.aadsts53003" || doc.Findings[0].Severity != "error" || len(doc.Findings[0].FlowIDs) == 0 {
		t.Errorf("findings %+v", doc.Findings)
	}
}

func TestAnalyzeRealHAR(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "har"), "bluecore_chrome_entra-sharepoint-login.har")
	code, out, errOut := idt(t, "", "analyze", "--fail-on", "error", p)
	if code != 3 || !strings.Contains(out, "AADSTS50196") || !strings.Contains(errOut, "finding") {
		t.Errorf("exit %d, stderr %s, out %s", code, errOut, out)
	}
}
