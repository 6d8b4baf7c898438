package entralog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// countRecords counts the records of an export independently of the reader
// under test, with the standard library: CSV rows after the header, JSON
// array elements and Graph "value" elements (or 1 for a bare object), and
// non-blank NDJSON lines.
func countRecords(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trim := bytes.TrimSpace(data)
	switch {
	case len(trim) > 0 && trim[0] == '[' || bytes.HasPrefix(trim, []byte("{\n")) || bytes.HasPrefix(trim, []byte("{\r\n")):
		dec := json.NewDecoder(bytes.NewReader(data))
		n := 0
		for {
			var v any
			if err := dec.Decode(&v); err == io.EOF {
				return n
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch x := v.(type) {
			case []any:
				n += len(x)
			case map[string]any:
				if a, ok := x["value"].([]any); ok {
					n += len(a)
				} else {
					n++
				}
			}
		}
	case len(trim) > 0 && trim[0] == '{':
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				if !json.Valid(sc.Bytes()) {
					t.Fatalf("%s: invalid JSON line", path)
				}
				n++
			}
		}
		return n
	default:
		cr := csv.NewReader(bytes.NewReader(data))
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return len(rows) - 1
	}
}

func readAll(t *testing.T, path string) (string, []*trace.Event) {
	t.Helper()
	r, c, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer c.Close()
	var evs []*trace.Event
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatalf("%s: after %d events: %v", path, len(evs), err)
		}
		evs = append(evs, ev)
	}
	return r.Shape(), evs
}

func extra(ev *trace.Event, key string) (string, bool) {
	for _, kv := range ev.Extra {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// check is one hand-checked expectation on one event.
type check struct {
	i    int // event index
	name string
	got  func(*trace.Event) any
	want any
}

func kind(e *trace.Event) any     { return e.Kind }
func activity(e *trace.Event) any { return e.Activity }
func actorUPN(e *trace.Event) any { return e.Actor.UPN }
func appID(e *trace.Event) any    { return e.App.AppID }
func errCode(e *trace.Event) any  { return e.ErrorCode }
func ts(e *trace.Event) any       { return e.Time.UTC().Format(time.RFC3339Nano) }

func TestSharedFiles(t *testing.T) {
	files := testutil.SharedFiles(t, "entra", "*")
	checks := map[string]struct {
		shape  string
		checks []check
	}{
		"graphdocs_v1_directoryAudits_list_example.json": {ShapeGraphJSON, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "activity", activity, "Add member to group"},
			{0, "service", func(e *trace.Event) any { return e.Service }, "Core Directory"},
			{0, "actor", actorUPN, "bob@wingtiptoysonline.com"},
			{0, "actor type", func(e *trace.Event) any { return e.Actor.Type }, "user"},
			{0, "actor ip", func(e *trace.Event) any { return e.Actor.IPAddress }, "127.0.0.1"},
			{0, "target types (capitalised Type key)", func(e *trace.Event) any {
				var s []string
				for _, tg := range e.Targets {
					s = append(s, tg.Type)
				}
				return strings.Join(s, ",")
			}, "Group,User"},
			{0, "target 2 upn", func(e *trace.Event) any { return e.Targets[1].UPN }, "bob@contoso.com"},
			{0, "modified", func(e *trace.Event) any { return e.Targets[0].Modified[0] }, trace.ModifiedProperty{Name: "Action Client Name", New: "DirectorySync"}},
			{0, "details", func(e *trace.Event) any { return e.Details[0] }, trace.KV{Key: "Additional Detail Name", Value: "Additional Detail Value"}},
			{0, "unmapped nested key kept", func(e *trace.Event) any { v, _ := extra(e, "targetResources[0].groupType"); return v }, "unifiedGroups"},
			{0, "time", ts, "2018-01-09T21:20:02.7215374Z"},
		}},
		"graphdocs_ptBR_beta_signIns_example2_password.json": {ShapeGraphJSON, []check{
			{0, "kind", kind, trace.KindSignIn},
			{0, "app", appID, "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
			{0, "resource", func(e *trace.Event) any { return e.Resource.AppID }, "797f4846-ba00-4fd7-ba43-dac1f8f63013"},
			{0, "actor", actorUPN, "jdoe@contoso.com"},
			{0, "interactive", func(e *trace.Event) any { return e.Interactive }, true},
			{0, "empty status: no result", func(e *trace.Event) any { return e.Result }, ""},
			{0, "odd-cased key kept", func(e *trace.Event) any { v, _ := extra(e, "riskLevelDuringsignIn"); return v }, "none"},
			{0, "auth step", func(e *trace.Event) any { return e.Details[0].Key }, "authentication: Password (Cloud password)"},
		}},
		"elastic_diag_SignInLogs_raw_5categories.log": {ShapeDiagnostic, []check{
			{0, "kind", kind, trace.KindSignIn},
			{1, "kind", kind, trace.KindSignInNonInteractive},
			{2, "kind", kind, trace.KindSignInServicePrincipal},
			{3, "kind", kind, trace.KindSignInServicePrincipal},
			{3, "category as written", func(e *trace.Event) any { return e.Category }, "MicrosoftServicePrincipalSignInLogs"},
			{4, "kind", kind, trace.KindSignInManagedIdentity},
			{0, "error code", errCode, 50140},
			{0, "offset time", ts, "2019-10-18T09:45:48.0729893Z"},
			{0, "line", func(e *trace.Event) any { return e.Line }, 1},
			{1, "status.additionalDetails", func(e *trace.Event) any { return e.Details }, []trace.KV{{Key: "status.additionalDetails", Value: "MFA required"}}},
			{0, "Level string kept", func(e *trace.Event) any { v, _ := extra(e, "Level"); return v }, "4"},
		}},
		"elastic_diag_AuditLogs_sample.log": {ShapeDiagnostic, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "activity", activity, "Add service principal credentials"},
			{0, "actor is app", func(e *trace.Event) any {
				return e.Actor.Type + "|" + e.Actor.DisplayName + "|" + e.Actor.ServicePrincipalID
			},
				"app|Managed Service Identity|b9814691-9ca1-4e55-a1ac-8ef5dd010ec0"},
			{0, "category from properties", func(e *trace.Event) any { return e.Category }, "ApplicationManagement"},
			{0, "ip from envelope", func(e *trace.Event) any { return e.IPAddress }, "1.128.3.4"},
			{1, "activity", activity, "Update service principal"},
		}},
		"sentinel-lab_AuditLogs_app_credentials.csv": {ShapeLACSV, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "activity with en dash", activity, "Update application – Certificates and secrets management "},
			{0, "actor", actorUPN, "victim@buildseccxpninja.onmicrosoft.com"},
			{0, "target type", func(e *trace.Event) any { return e.Targets[0].Type }, "Application"},
			{0, "line", func(e *trace.Event) any { return e.Line }, 2},
		}},
		"sentinel-lab_SigninLogs_adelev.csv": {ShapeLACSV, []check{
			{0, "kind", kind, trace.KindSignIn},
			{0, "app", func(e *trace.Event) any { return e.App.DisplayName }, "Azure Portal"},
			{0, "US time", ts, "2021-04-28T14:08:45.221Z"},
			{55, "last app", func(e *trace.Event) any { return e.App.DisplayName }, "SharePoint Online Web Client Extensibility"},
			{55, "last id", func(e *trace.Event) any { return e.ID }, "3b50929d-3d7e-420d-a2bf-cf8189a36c01"},
			{55, "last time", ts, "2021-04-28T15:19:08.373Z"},
			{0, "multi-line JSON cell kept as written", func(e *trace.Event) any {
				v, _ := extra(e, "AuthenticationDetails")
				return strings.HasPrefix(v, "[\n  {\n    \"authenticationStepDateTime\"")
			}, true},
			{0, "auth step summary", func(e *trace.Event) any { return e.Details[0] },
				trace.KV{Key: "authentication: Previously satisfied", Value: "succeeded: First factor requirement satisfied by claim in the token"}},
		}},
		"sentinel-lab_SigninLogs_disabled_accounts.csv": {ShapeLACSV, []check{
			{0, "error", errCode, 50057},
			{3, "error", errCode, 50057},
			{0, "result", func(e *trace.Event) any { return e.Result }, "failure"},
			{0, "reason", func(e *trace.Event) any { return e.FailureReason }, "User account is disabled. The account has been disabled by an administrator."},
		}},
	}
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			shape, evs := readAll(t, f)
			if want := countRecords(t, f); len(evs) != want {
				t.Errorf("%d events, want %d records", len(evs), want)
			}
			c, ok := checks[base]
			if !ok {
				t.Logf("no hand-checked expectations for %s", base)
				return
			}
			if shape != c.shape {
				t.Errorf("shape %q, want %q", shape, c.shape)
			}
			runChecks(t, evs, c.checks)
		})
	}
}

func runChecks(t *testing.T, evs []*trace.Event, cs []check) {
	t.Helper()
	for _, c := range cs {
		if c.i >= len(evs) {
			t.Errorf("event %d missing (have %d)", c.i, len(evs))
			continue
		}
		if got := c.got(evs[c.i]); !equal(got, c.want) {
			t.Errorf("event %d %s: got %#v, want %#v", c.i, c.name, got, c.want)
		}
	}
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

const fim = "fim_password_service@support.onmicrosoft.com"

func TestSyntheticFixtures(t *testing.T) {
	tests := []struct {
		file   string
		shape  string
		checks []check
	}{
		{"AuditLogs_2024-05-14.csv", ShapePortalCSV, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "activity", activity, "Self-service password reset flow activity progress"},
			{0, "reason", func(e *trace.Event) any { return e.ResultReason }, "User started the password reset process"},
			{0, "service", func(e *trace.Event) any { return e.Service }, "Self-service Password Management"},
			{0, "time", ts, "2024-05-14T09:01:10.1234567Z"},
			{0, "user agent", func(e *trace.Event) any { return strings.HasPrefix(e.UserAgent, "Mozilla/5.0") }, true},
			{2, "activity", activity, "Reset password (self-service)"},
			{3, "fim actor", actorUPN, fim},
			{3, "fim actor type", func(e *trace.Event) any { return e.Actor.Type }, "user"},
			{3, "details", func(e *trace.Event) any { return e.Details }, []trace.KV{{Key: "TargetId.UserType", Value: "Member"}}},
			{4, "multi-line modified value", func(e *trace.Event) any { return e.Targets[0].Modified[0].New },
				"[{\"DeviceName\":\"Pixel 8\",\"DeviceToken\":\"<redacted>\",\n\"NotificationType\":\"APNS\"}]"},
			{4, "targets (empty target 2 not invented)", func(e *trace.Event) any { return len(e.Targets) }, 1},
			{4, "modified count", func(e *trace.Event) any { return len(e.Targets[0].Modified) }, 2},
			{5, "line after multi-line cell", func(e *trace.Event) any { return e.Line }, 8},
			{5, "security info", activity, "User started security info registration"},
			{7, "app actor", func(e *trace.Event) any {
				return e.Actor.Type + "|" + e.Actor.DisplayName + "|" + e.App.ServicePrincipalID
			},
				"app|Microsoft Azure AD Internal - Jit Provisioning|aaaaaaaa-0000-4000-8000-0000000000a1"},
			{7, "target name with comma and quotes", func(e *trace.Event) any { return e.Targets[0].DisplayName }, `Contoso HR, "Payroll"`},
			{7, "second target", func(e *trace.Event) any { return e.Targets[1].UPN }, "admin@contoso.example"},
			{0, "unmapped column kept", func(e *trace.Event) any { _, ok := extra(e, "ActorHomeTenantId"); return ok }, true},
		}},
		{"InteractiveSignIns_2024-05-14_2024-05-15.csv", ShapePortalCSV, []check{
			{0, "kind", kind, trace.KindSignIn},
			{0, "app id from trailing-space column", appID, "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7"},
			{0, "app", func(e *trace.Event) any { return e.App.DisplayName }, "Office 365 Shell WCSS-Client"},
			{0, "owner tenant", func(e *trace.Event) any { return e.App.OwnerTenantID }, "f8cdef31-a31e-4b4a-93e4-5f571e91255a"},
			{0, "resource", func(e *trace.Event) any { return e.Resource.AppID }, "00000002-0000-0ff1-ce00-000000000000"},
			{0, "actor", actorUPN, "alex.wilber@contoso.example"},
			{0, "request id", func(e *trace.Event) any { return e.ID }, "c0ffee00-0000-4000-8000-000000000001"},
			{0, "interactive", func(e *trace.Event) any { return e.Interactive }, true},
			{0, "both repeated columns kept in order", func(e *trace.Event) any {
				var v []string
				for _, kv := range e.Extra {
					if kv.Key == "Incoming token type" {
						v = append(v, kv.Value)
					}
				}
				return v
			}, []string{"none", "primaryRefreshToken"}},
			{1, "interrupted", func(e *trace.Event) any { return e.Result }, "interrupted"},
			{1, "code", errCode, 50140},
			{2, "failure", func(e *trace.Event) any { return e.Result + "|" + e.FailureReason }, "failure|Error validating credentials due to invalid username or password."},
		}},
		{"NonInteractiveSignIns_2024-05-14_2024-05-15.csv", ShapePortalCSV, []check{
			{0, "kind from file name", kind, trace.KindSignInNonInteractive},
			{0, "category", func(e *trace.Event) any { return e.Category }, "NonInteractiveUserSignInLogs"},
			{0, "client app", func(e *trace.Event) any { return e.ClientApp }, "Mobile Apps and Desktop clients"},
		}},
		{"ApplicationSignIns_2024-05-14_2024-05-15.csv", ShapePortalCSV, []check{
			{0, "kind", kind, trace.KindSignInServicePrincipal},
			{0, "actor sp", func(e *trace.Event) any {
				return e.Actor.Type + "|" + e.Actor.ServicePrincipalID + "|" + e.Actor.DisplayName
			},
				"app|dddddddd-0000-4000-8000-0000000000d4|Contoso Nightly Export"},
			{0, "code", errCode, 7000215},
		}},
		{"portal_audit_sspr.json", ShapePortalJSON, []check{
			{0, "kind", kind, trace.KindAudit},
			{1, "activity", activity, "Reset password (self-service)"},
			{2, "fim", actorUPN, fim},
			{3, "strong auth", func(e *trace.Event) any { return e.Targets[0].Modified[0].Name }, "StrongAuthenticationMethod"},
			{3, "line is record number", func(e *trace.Event) any { return e.LineKind + " " + string(rune('0'+e.Line)) }, "record 4"},
		}},
		{"portal_signins.json", ShapePortalJSON, []check{
			{0, "kind", kind, trace.KindSignIn},
			{0, "owner", func(e *trace.Event) any { return e.App.OwnerTenantID }, "f8cdef31-a31e-4b4a-93e4-5f571e91255a"},
			{0, "success", func(e *trace.Event) any { return e.Result }, "success"},
			{1, "kind from signInEventTypes", kind, trace.KindSignInNonInteractive},
			{1, "interactive", func(e *trace.Event) any { return e.Interactive }, false},
		}},
		{"graph_audit_paged.json", ShapeGraphJSON, []check{
			{0, "page 1", activity, "Self-service password reset flow activity progress"},
			{2, "page 2", activity, "Reset user password"},
			{2, "record numbers run across pages", func(e *trace.Event) any { return e.Line }, 3},
			{4, "jit app", func(e *trace.Event) any { return e.App.DisplayName }, "Microsoft Azure AD Internal - Jit Provisioning"},
			{4, "capitalised Type", func(e *trace.Event) any { return e.Targets[0].Type }, "ServicePrincipal"},
		}},
		{"graph_signins_concat.json", ShapePortalJSON, []check{
			{0, "kind", kind, trace.KindSignIn},
			{1, "kind", kind, trace.KindSignInNonInteractive},
			{2, "kind", kind, trace.KindSignInManagedIdentity},
			{2, "mi actor", func(e *trace.Event) any { return e.Actor.ServicePrincipalName }, "contoso-func-app"},
		}},
		{"la_export.json", ShapeLAJSON, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "fim from JSON string", actorUPN, fim},
			{0, "targets from JSON string", func(e *trace.Event) any { return e.Targets[0].Modified[0].Name }, "StrongAuthenticationPhoneAppDetail"},
			{0, "details", func(e *trace.Event) any { return e.Details }, []trace.KV{{Key: "UserType", Value: "Member"}}},
			{1, "kind", kind, trace.KindSignInNonInteractive},
			{1, "resource", func(e *trace.Event) any { return e.Resource.AppID }, "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"},
		}},
		{"diag_mixed.ndjson", ShapeDiagnostic, []check{
			{0, "kind", kind, trace.KindAudit},
			{0, "activity", activity, "Reset password (self-service)"},
			{1, "kind", kind, trace.KindSignInManagedIdentity},
			{1, "line after blank line", func(e *trace.Event) any { return e.Line }, 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			shape, evs := readAll(t, path)
			if shape != tt.shape {
				t.Errorf("shape %q, want %q", shape, tt.shape)
			}
			if want := countRecords(t, path); len(evs) != want {
				t.Errorf("%d events, want %d", len(evs), want)
			}
			for _, ev := range evs {
				if ev.File != path || ev.Shape != shape || ev.Line <= 0 || ev.Kind == "" {
					t.Errorf("event position/kind not filled: %+v", ev)
				}
			}
			runChecks(t, evs, tt.checks)
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		file       string
		openErr    bool
		events     int // events before the error
		line, col  int
		field      string
		errContain string
	}{
		{file: "truncated.json", events: 1, line: 51, col: 1, field: "/value/1/initiatedBy/user", errContain: "unexpected EOF"},
		{file: "badquote.csv", line: 2, col: 26, errContain: "extraneous or missing \" in quoted-field"},
		{file: "toomany.csv", events: 1, line: 3, errContain: "wrong number of fields: 48, the header has 47"},
		{file: "initiatedby_not_json.csv", events: 1, line: 3, col: 56, field: "InitiatedBy", errContain: "not JSON"},
		{file: "wrong_columns.csv", openErr: true, line: 1, errContain: "lacks OperationName, InitiatedBy, TargetResources"},
		{file: "bad_line.ndjson", events: 1, line: 2, errContain: "unexpected EOF"},
		{file: "bad_time.csv", line: 2, field: "Date (UTC)", errContain: "unrecognised timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			r, c, err := Open(path)
			if tt.openErr {
				checkInputErr(t, err, path, tt.line, tt.col, tt.field, tt.errContain)
				if !errors.Is(err, ErrUnrecognised) {
					t.Errorf("error does not wrap ErrUnrecognised: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			n := 0
			var last error
			for ev, err := range r.Events() {
				if err != nil {
					if ev != nil {
						t.Error("event and error together")
					}
					if last != nil {
						t.Error("more than one error")
					}
					last = err
					continue
				}
				n++
			}
			if n != tt.events {
				t.Errorf("%d events before the error, want %d", n, tt.events)
			}
			checkInputErr(t, last, path, tt.line, tt.col, tt.field, tt.errContain)
		})
	}
}

func checkInputErr(t *testing.T, err error, path string, line, col int, field, contain string) {
	t.Helper()
	var ie *trace.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not a *trace.InputError", err, err)
	}
	if ie.File != path {
		t.Errorf("File %q, want %q", ie.File, path)
	}
	if line != 0 && ie.Line != line {
		t.Errorf("Line %d, want %d (%v)", ie.Line, line, err)
	}
	if col != 0 && ie.Column != col {
		t.Errorf("Column %d, want %d (%v)", ie.Column, col, err)
	}
	if field != "" && ie.Field != field {
		t.Errorf("Field %q, want %q (%v)", ie.Field, field, err)
	}
	if !strings.Contains(err.Error(), contain) {
		t.Errorf("error %q does not contain %q", err, contain)
	}
}

func TestDetectAndOddInputs(t *testing.T) {
	rec := `{"id":"1","activityDisplayName":"Update user","activityDateTime":"2024-05-14T09:02:06Z","initiatedBy":{"user":{"userPrincipalName":"` + fim + `"}}}`
	tests := []struct {
		name  string
		in    []byte
		shape string
		n     int
	}{
		{"empty array", []byte("[]"), ShapePortalJSON, 0},
		{"adjacent arrays", []byte("[" + rec + "][" + rec + "," + rec + "]"), ShapePortalJSON, 3},
		{"single graph object", []byte("{\n  \"@odata.context\": \"x\",\n" + rec[1:]), ShapeGraphJSON, 1},
		{"one-line graph pages", []byte(`{"value":[` + rec + `]}` + "\n" + `{"value":[` + rec + `],"@odata.nextLink":"n"}`), ShapeGraphJSON, 2},
		{"ndjson bare records", []byte(rec + "\n" + rec), ShapeDiagnostic, 2},
		{"utf-16le with BOM", utf16le("\ufeff[" + rec + "]"), ShapePortalJSON, 1},
		{"CSV with LF only and no BOM", []byte("OperationName,InitiatedBy,TargetResources,Type\nUpdate user,\"{\"\"user\"\":{\"\"userPrincipalName\"\":\"\"" + fim + "\"\"}}\",[],AuditLogs\n"), ShapeLACSV, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.in), "x")
			if err != nil {
				t.Fatal(err)
			}
			if r.Shape() != tt.shape {
				t.Errorf("shape %q, want %q", r.Shape(), tt.shape)
			}
			n := 0
			for ev, err := range r.Events() {
				if err != nil {
					t.Fatal(err)
				}
				if ev.Actor.UPN != fim {
					t.Errorf("actor %q", ev.Actor.UPN)
				}
				n++
			}
			if n != tt.n {
				t.Errorf("%d events, want %d", n, tt.n)
			}
			for _, err := range r.Events() {
				if err == nil {
					t.Error("second Events() did not fail")
				}
			}
		})
	}
	for _, in := range []string{"", "   \n", "\xef\xbb\xbf"} {
		if _, err := NewReader(strings.NewReader(in), "empty"); !errors.Is(err, ErrUnrecognised) {
			t.Errorf("NewReader(%q) = %v, want ErrUnrecognised", in, err)
		}
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func TestRecordTooLarge(t *testing.T) {
	defer func(n int) { maxRecordBytes = n }(maxRecordBytes)
	maxRecordBytes = 1 << 20
	big := `{"category":"AuditLogs","operationName":"x","properties":{"activityDisplayName":"` + strings.Repeat("a", maxRecordBytes+10) + `"}}`
	r, err := NewReader(strings.NewReader(big+"\n"), "big")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range r.Events() {
		if !errors.Is(err, errTooLarge) {
			t.Errorf("got %v, want errTooLarge", err)
		}
	}
	csvIn := "OperationName,InitiatedBy,TargetResources\nx,\"" + strings.Repeat("b", maxRecordBytes+128<<10)
	r, err = NewReader(strings.NewReader(csvIn), "big.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range r.Events() {
		if !errors.Is(err, errTooLarge) {
			t.Errorf("csv: got %v, want errTooLarge", err)
		}
	}
}

// TestPowerShellExports covers what Microsoft Graph PowerShell users write:
// PascalCase keys (ConvertTo-Json of SDK objects), Windows PowerShell 5
// "/Date(ms)/" timestamps, nesting cut at ConvertTo-Json's default depth, and
// Export-Csv's "#TYPE" line. Inputs are synthetic.
func TestPowerShellExports(t *testing.T) {
	deep := `[{"ActivityDateTime":"\/Date(1715677326000)\/","ActivityDisplayName":"Update user","Category":"UserManagement",` +
		`"CorrelationId":"c1","Id":"x","InitiatedBy":{"App":null,"User":{"DisplayName":null,"Id":"","UserPrincipalName":"` + fim + `"}},` +
		`"LoggedByService":"Core Directory","Result":"success","TargetResources":[{"DisplayName":null,"Id":"u1","Type":"User",` +
		`"UserPrincipalName":"alex.wilber@contoso.example","ModifiedProperties":[{"DisplayName":"StrongAuthenticationMethod","NewValue":"[]","OldValue":null}]}]}]`
	r, err := NewReader(strings.NewReader(deep), "ps.json")
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Actor.UPN != fim || ev.Targets[0].Modified[0].Name != "StrongAuthenticationMethod" || ev.Kind != trace.KindAudit {
			t.Errorf("PascalCase record mapped wrong: %+v", ev)
		}
		if got := ev.Time.Format(time.RFC3339); got != "2024-05-14T09:02:06Z" {
			t.Errorf("time %s", got)
		}
	}

	shallow := `[{"ActivityDateTime":"2024-05-14T09:02:06Z","ActivityDisplayName":"Update user",` +
		`"InitiatedBy":{"App":null,"User":"Microsoft.Graph.PowerShell.Models.MicrosoftGraphUserIdentity"}}]`
	r, err = NewReader(strings.NewReader(shallow), "shallow.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range r.Events() {
		checkInputErr(t, err, "shallow.json", 0, 0, "InitiatedBy.user", "-Depth")
	}

	typeLine := "#TYPE Selected.System.Management.Automation.PSCustomObject\r\n" +
		"\"OperationName\",\"InitiatedBy\",\"TargetResources\",\"Type\"\r\n" +
		"\"Update user\",\"{\"\"user\"\":{\"\"userPrincipalName\"\":\"\"" + fim + "\"\"}}\",\"[]\",\"AuditLogs\"\r\n"
	r, err = NewReader(strings.NewReader(typeLine), "typeline.csv")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Line != 3 || ev.Actor.UPN != fim {
			t.Errorf("got line %d actor %q", ev.Line, ev.Actor.UPN)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d events", n)
	}
}

// TestOtherCategoriesCounted mixes a ProvisioningLogs record into a real
// diagnostic-settings export: it is passed over and counted, the audit
// records around it are all read.
func TestOtherCategoriesCounted(t *testing.T) {
	audit, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, "entra"), "elastic_diag_AuditLogs_sample.log"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join("testdata", "bad", "unknown_category.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(audit)), "\n")
	mixed := lines[0] + "\n" + strings.TrimSpace(string(other)) + "\n" + strings.Join(lines[1:], "\n") + "\n"
	r, err := NewReader(strings.NewReader(mixed), "mixed.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != trace.KindAudit {
			t.Errorf("line %d: kind %q", ev.Line, ev.Kind)
		}
		n++
	}
	if n != len(lines) {
		t.Errorf("read %d audit records, want %d", n, len(lines))
	}
	if got := r.Skipped(); len(got) != 1 || got["ProvisioningLogs"] != 1 {
		t.Errorf("Skipped() = %v, want ProvisioningLogs: 1", got)
	}
}
