package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runEnv runs idtrace with a chosen environment and terminal flag.
func runEnv(t *testing.T, tty bool, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := Env{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTTY: tty}, Getenv: func(k string) string { return env[k] }}
	code := Main(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestLsFailedColoursAndWidth(t *testing.T) {
	p := writeSecretHAR(t)
	_, out, _ := runEnv(t, false, nil, "ls", p)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "#  START  ") {
		t.Fatalf("ls: want a heading and 6 rows, got %d lines", len(lines))
	}
	last := lines[6]
	if !strings.Contains(last, "failed") || strings.Contains(last, " 0 ") || strings.Contains(last, "x-unknown") {
		t.Errorf("a flow without response is not shown as failed: %q", last)
	}
	for name, v := range fakeSecrets {
		if strings.Contains(out, v) {
			t.Errorf("ls prints the %s in clear", name)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour escapes written to a pipe")
	}
	// On a terminal: colour, unless NO_COLOR or TERM=dumb.
	_, out, _ = runEnv(t, true, map[string]string{"COLUMNS": "80"}, "ls", p)
	if !strings.Contains(out, "\x1b[31mfailed\x1b[0m") || !strings.Contains(out, "\x1b[36m302\x1b[0m") {
		t.Errorf("ls on a terminal: result colours missing")
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := len([]rune(stripEscapes(l))); n > 80 {
			t.Errorf("ls on an 80-column terminal: a line of %d columns", n)
		}
	}
	for _, env := range []map[string]string{{"NO_COLOR": "1"}, {"TERM": "dumb"}} {
		if _, out, _ := runEnv(t, true, env, "ls", p); strings.Contains(out, "\x1b[") {
			t.Errorf("ls with %v: colour escapes written", env)
		}
	}
	_, out, _ = runEnv(t, false, map[string]string{"COLUMNS": "60"}, "ls", "--wide", p)
	if !strings.Contains(out, "/common/login?code=***(") {
		t.Errorf("ls --wide cut the path")
	}
}

func TestLsSelectionSortAndFormat(t *testing.T) {
	p := writeSecretHAR(t)
	ids := func(args ...string) []int {
		t.Helper()
		code, out, e := run(t, "", append(append([]string{"ls", "--json"}, args...), p)...)
		if code != 0 {
			t.Fatalf("ls %v: exit %d %s", args, code, e)
		}
		var got []int
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var r lsRecord
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			got = append(got, r.ID)
		}
		return got
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--range", "2-4"}, "[2 3 4]"},
		{[]string{"--range", "5-,1"}, "[1 5 6]"},
		{[]string{"--range", "-2"}, "[1 2]"},
		{[]string{"--sort", "-size"}, "[4 5 2 3 1 6]"},
		{[]string{"--sort", "time", "--method", "POST"}, "[1 2 3]"},
		{[]string{"--status", "-"}, "[6]"},
		{[]string{"--host", "*.example.com", "--status", "3xx"}, "[1]"},
	} {
		if got := ids(tc.args...); strings.ReplaceAll(jsonInts(got), ",", " ") != tc.want {
			t.Errorf("ls %v: %v, want %s", tc.args, got, tc.want)
		}
	}
	code, out, _ := run(t, "", "ls", "--format", "ndjson", "--range", "6", p)
	var r lsRecord
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || !r.Failed || r.Error == "" {
		t.Errorf("ls --format ndjson: a failed flow is not marked failed: %q", out)
	}
	for _, bad := range [][]string{{"--range", "0"}, {"--range", "5-2"}, {"--range", "x"}, {"--sort", "colour"}, {"--format", "xml"}} {
		if code, _, _ := run(t, "", append(append([]string{"ls"}, bad...), p)...); code != 2 {
			t.Errorf("ls %v: exit %d, want 2", bad, code)
		}
	}
}

func jsonInts(v []int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// stripEscapes removes ANSI colour sequences.
func stripEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
