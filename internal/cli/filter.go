package cli

import (
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/trace"
)

// Selection is the set of flags every command that selects flows shares
// (ls today; show, convert and others can add them with addSelectionFlags).
// Filters combine with AND; a repeated filter matches any of its values.
type Selection struct {
	Hosts   []string
	Status  []string
	Methods []string
	Grep    string
	// Ranges are session numbers as ls numbers them: "10-40", "7", "10-", "-40".
	Ranges []string
}

// selectionHelp documents the selection flags for a command's long help.
const selectionHelp = `Selection flags combine with AND; a repeated flag matches any of its values:
  --host    host name; "*" wildcards (*.microsoftonline.com), else a substring
  --status  200, 4xx, 400-499, or "-" for sessions without a response
  --method  GET, POST, ...
  --grep    regular expression (case-insensitive) over the URL, headers and text bodies
  --range   session numbers as ls shows them: 10-40, 7, 10- or -40`

// addSelectionFlags adds --host --status --method --grep --range to cmd.
func addSelectionFlags(cmd *cobra.Command, s *Selection) {
	f := cmd.Flags()
	f.StringSliceVar(&s.Hosts, "host", nil, "select flows to these hosts")
	f.StringSliceVar(&s.Status, "status", nil, "select these statuses (200, 4xx, 400-499, -)")
	f.StringSliceVar(&s.Methods, "method", nil, "select these methods")
	f.StringVar(&s.Grep, "grep", "", "select flows matching this regular expression")
	f.StringSliceVar(&s.Ranges, "range", nil, "select these session numbers (10-40, 7, 10-, -40)")
}

// checkSelectionFlags rejects selection flags given with an empty value.
func checkSelectionFlags(cmd *cobra.Command) error {
	for _, name := range []string{"host", "status", "method", "range"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed && fl.Value.String() == "[]" {
			return usageErr("--%s: empty value", name)
		}
	}
	return nil
}

// parseRange parses one --range value into inclusive bounds.
func parseRange(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	bad := usageErr("--range %q: want session numbers such as 10-40, 7, 10- or -40", s)
	a, b, isRange := strings.Cut(s, "-")
	num := func(v string, def int) (int, bool) {
		if v == "" {
			return def, true
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 1
	}
	if !isRange {
		n, ok := num(s, -1)
		if !ok || n < 1 {
			return 0, 0, bad
		}
		return n, n, nil
	}
	lo, ok1 := num(a, 1)
	hi, ok2 := num(b, math.MaxInt)
	if !ok1 || !ok2 || lo > hi || (a == "" && b == "") {
		return 0, 0, bad
	}
	return lo, hi, nil
}

// flowFilter decides which flows a command selects.
type flowFilter struct {
	ranges  [][2]int
	hosts   []string
	status  []func(int, bool) bool
	methods []string
	grep    *regexp.Regexp
}

func newFlowFilter(o *Selection) (*flowFilter, error) {
	ff := &flowFilter{methods: o.Methods}
	for _, r := range o.Ranges {
		lo, hi, err := parseRange(r)
		if err != nil {
			return nil, err
		}
		ff.ranges = append(ff.ranges, [2]int{lo, hi})
	}
	for _, h := range o.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			return nil, usageErr("--host: empty value")
		}
		if _, err := path.Match(h, ""); err != nil {
			return nil, usageErr("--host %q: not a valid pattern (%v); use * as a wildcard, [ ] for a character class", h, err)
		}
		ff.hosts = append(ff.hosts, h)
	}
	for _, m := range o.Methods {
		if !validMethod(m) {
			return nil, usageErr("--method %q: want a method name such as GET or POST", m)
		}
	}
	for _, s := range o.Status {
		m, err := statusMatcher(s)
		if err != nil {
			return nil, err
		}
		ff.status = append(ff.status, m)
	}
	if o.Grep != "" {
		re, err := regexp.Compile("(?i)" + o.Grep)
		if err != nil {
			return nil, usageErr("--grep: %v", err)
		}
		ff.grep = re
	}
	return ff, nil
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func (ff *flowFilter) active() bool {
	return len(ff.ranges)+len(ff.hosts)+len(ff.status)+len(ff.methods) > 0 || ff.grep != nil
}

// statusMatcher parses one --status value.
func statusMatcher(s string) (func(status int, has bool) bool, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "-":
		return func(_ int, has bool) bool { return !has }, nil
	case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
		c := int(s[0]-'0') * 100
		return func(st int, has bool) bool { return has && st >= c && st < c+100 }, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || lo > hi {
			return nil, usageErr("--status %q: want 200, 4xx, 400-499 or -", s)
		}
		return func(st int, has bool) bool { return has && st >= lo && st <= hi }, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, usageErr("--status %q: want 200, 4xx, 400-499 or -", s)
	}
	return func(st int, has bool) bool { return has && st == n }, nil
}

func (ff *flowFilter) match(f *trace.Flow) bool {
	if len(ff.ranges) > 0 {
		ok := false
		for _, r := range ff.ranges {
			if f.ID >= r[0] && f.ID <= r[1] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(ff.hosts) > 0 {
		h := strings.ToLower(f.Request.Host())
		if hh, _, ok := strings.Cut(h, ":"); ok && !strings.Contains(hh, "[") {
			h = hh
		}
		ok := false
		for _, want := range ff.hosts {
			if strings.Contains(want, "*") {
				if m, _ := path.Match(want, h); m {
					ok = true
				}
			} else if strings.Contains(h, want) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(ff.methods) > 0 {
		ok := false
		for _, m := range ff.methods {
			if strings.EqualFold(m, f.Request.Method) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(ff.status) > 0 {
		st, has := 0, f.Response != nil
		if has {
			st = f.Response.Status
		}
		ok := false
		for _, m := range ff.status {
			if m(st, has) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if ff.grep != nil && !grepFlow(ff.grep, f) {
		return false
	}
	return true
}

func grepFlow(re *regexp.Regexp, f *trace.Flow) bool {
	if re.MatchString(f.Request.URL) {
		return true
	}
	for _, h := range f.Request.Headers {
		if re.MatchString(h.Name + ": " + h.Value) {
			return true
		}
	}
	if utf8.Valid(f.Request.Body) && re.Match(f.Request.Body) {
		return true
	}
	if r := f.Response; r != nil {
		for _, h := range r.Headers {
			if re.MatchString(h.Name + ": " + h.Value) {
				return true
			}
		}
		if utf8.Valid(r.Body) && re.Match(r.Body) {
			return true
		}
	}
	return false
}
