package kql_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/actors/kql"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		tables []string
		ops    []string // operators of the last pipeline
	}{
		{"where has", `AuditLogs | where OperationName has "password"`, []string{"AuditLogs"}, []string{"where"}},
		{"let dynamic and in~", "let L = dynamic([\"a\", 'b', 1, -2, {\"k\": [true, null]}]);\nSigninLogs | where AppId in~ (L) and not(UserPrincipalName startswith \"Sync_\")", []string{"SigninLogs"}, []string{"where"}},
		{"extend case iff parse_json", `AuditLogs | extend U = tostring(parse_json(tostring(InitiatedBy)).user.userPrincipalName), C = case(U =~ "a", "x", U !~ "b", "y", "z"), I = iff(isempty(U), 1, 2) | project U, C, I`, []string{"AuditLogs"}, []string{"extend", "project"}},
		{"summarize by bin ago", `SigninLogs | where TimeGenerated > ago(1d) | summarize Count = count(), Users = dcount(UserPrincipalName) by bin(TimeGenerated, 1h), AppId | sort by Count desc nulls last, AppId asc`, []string{"SigninLogs"}, []string{"where", "summarize", "sort"}},
		{"summarize arg_max", `SigninLogs | summarize arg_max(TimeGenerated, ResultType), n = countif(ResultType in ("50074", "50076")) by CorrelationId`, []string{"SigninLogs"}, []string{"summarize"}},
		{"join kind on", `let A = AuditLogs | project CorrelationId, X = 1; let B = AuditLogs | project CorrelationId, Y = 2; A | join kind=leftouter (B | where Y > 0) on CorrelationId | join kind=inner B on $left.CorrelationId == $right.CorrelationId`, []string{"AuditLogs"}, []string{"join", "join"}},
		{"union fuzzy and datatable", "union isfuzzy=true SigninLogs, AADNonInteractiveUserSignInLogs | take 10;\n", []string{"SigninLogs", "AADNonInteractiveUserSignInLogs"}, []string{"take"}},
		{"datatable", `datatable(Name: string, N: int) ["a", 1, "b", 2] | where N between (1 .. 2) and Name matches regex @"(?i)^a" | top 5 by N desc`, nil, []string{"where", "top"}},
		{"datetime timespan literal comments", "// header\nlet W = 10m;\nAuditLogs // trailing\n| where TimeGenerated between (datetime(2026-01-01T00:00:00Z) .. (datetime(2026-01-02) + W))\n| project-away Id | distinct OperationName", []string{"AuditLogs"}, []string{"where", "project-away", "distinct"}},
		{"negated operators", `AuditLogs | where OperationName !has "x" and OperationName !contains "y" and Result !in ("a") and Result !in~ ("b") and Result != "c" and Result !startswith "d"`, []string{"AuditLogs"}, []string{"where"}},
		{"mv-expand and index", `AuditLogs | mv-expand T = TargetResources | extend P = T.modifiedProperties[0].displayName, Q = TargetResources[0]["id"] | where tostring(P) has_any ("StrongAuthenticationMethod", "x")`, []string{"AuditLogs"}, []string{"mv-expand", "extend", "where"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := kql.Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Tables, tc.tables) {
				t.Errorf("tables = %v, want %v", s.Tables, tc.tables)
			}
			last := s.Pipelines[len(s.Pipelines)-1]
			if !slices.Equal(last.Operators, tc.ops) {
				t.Errorf("operators = %v, want %v", last.Operators, tc.ops)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, src, msg string
		line, col      int
	}{
		{"misspelt operator", "AuditLogs\n| sumarize count()", "unknown tabular operator", 2, 3},
		{"unknown function", `AuditLogs | extend x = tostrin(Id)`, `unknown function "tostrin"`, 1, 24},
		{"unknown table", `AuditLog | take 1`, `unknown table or name "AuditLog"`, 1, 1},
		{"unclosed paren", `AuditLogs | where (a == 1`, `expected ")"`, 1, 26},
		{"unterminated string", `AuditLogs | where a == "x`, "unterminated string", 1, 24},
		{"missing by", `AuditLogs | sort Count`, `expected "by"`, 1, 18},
		{"bad join kind", `AuditLogs | join kind=sideways AuditLogs on Id`, "unknown kind", 1, 23},
		{"only lets", `let x = 1;`, "no tabular expression", 1, 11},
		{"dangling pipe", `AuditLogs |`, "unknown tabular operator", 1, 12},
		{"bad dynamic", `AuditLogs | where x in (dynamic([1,]))`, "dynamic: unexpected", 1, 36},
		{"stray character", "AuditLogs | where a == #", "unexpected character", 1, 24},
		{"in without list", `AuditLogs | where a in~ "x"`, `expected "("`, 1, 25},
		{"deep nesting", "AuditLogs | where " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500), "nested too deeply", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kql.Parse(tc.src)
			var ke *kql.Error
			if !errors.As(err, &ke) {
				t.Fatalf("err = %v, want a *kql.Error", err)
			}
			if !strings.Contains(ke.Msg, tc.msg) {
				t.Errorf("msg = %q, want %q", ke.Msg, tc.msg)
			}
			if tc.line != 0 && (ke.Line != tc.line || ke.Col != tc.col) {
				t.Errorf("at %d:%d, want %d:%d", ke.Line, ke.Col, tc.line, tc.col)
			}
		})
	}
}

// TestGeneratedQueriesParse: every query `idtrace logs --kql` prints parses
// and reads only the Entra tables.
func TestGeneratedQueriesParse(t *testing.T) {
	qs := actors.DefaultQueries()
	if len(qs) < 8 {
		t.Fatalf("only %d queries", len(qs))
	}
	for _, q := range qs {
		t.Run(q.Name, func(t *testing.T) {
			s, err := kql.Parse(q.Text)
			if err != nil {
				t.Fatalf("%v\n%s", err, q.Text)
			}
			if len(s.Tables) == 0 {
				t.Error("reads no table")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range actors.DefaultQueries() {
		f.Add(q.Text)
	}
	f.Add(`AuditLogs | where a in~ (dynamic(["x"]))`)
	f.Fuzz(func(t *testing.T, src string) {
		s, err := kql.Parse(src)
		if err == nil && s == nil {
			t.Fatal("nil script without error")
		}
	})
}
