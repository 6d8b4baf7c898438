package kql

import (
	"fmt"
	"slices"
	"strings"
)

// Script is a parsed query: let statements and one or more tabular
// expressions.
type Script struct {
	Lets      []string    // names bound by let, in order
	Pipelines []*Pipeline // every tabular pipeline, including those inside lets and joins
	Tables    []string    // table names read (sources that are not let-bound names)
	Functions []string    // scalar and aggregation functions called
}

// Pipeline is one tabular expression: a source and its piped operators.
type Pipeline struct {
	Source    string   // table or let name, "union", "datatable", "(...)", or "" for a scalar let
	Operators []string // tabular operator names in order
}

// MaxDepth caps expression nesting.
const MaxDepth = 200

// KnownTables are the Log Analytics tables a query may read.
var KnownTables = []string{"AuditLogs", "SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs", "AADProvisioningLogs", "IdentityInfo"}

var tabularOps = []string{"where", "filter", "extend", "project", "project-away", "project-rename", "project-keep", "project-reorder",
	"summarize", "join", "lookup", "union", "sort", "order", "take", "limit", "top", "distinct", "count", "mv-expand", "as", "sample", "serialize", "getschema"}

// KnownFunctions are the scalar and aggregation functions the parser accepts.
var KnownFunctions = []string{
	// scalar
	"ago", "now", "bin", "floor", "iff", "iif", "case", "coalesce", "isempty", "isnotempty", "isnull", "isnotnull", "not",
	"tostring", "toint", "tolong", "todouble", "toreal", "tobool", "todatetime", "totimespan", "todynamic", "parse_json", "tolower", "toupper",
	"strcat", "strcat_array", "strlen", "substring", "split", "trim", "replace_string", "extract", "format_datetime", "format_timespan",
	"array_length", "bag_keys", "pack", "pack_array", "bag_pack", "column_ifexists", "dynamic", "datetime", "timespan",
	"startofday", "endofday", "datetime_diff", "hash_sha256", "indexof", "countof", "set_has_element", "array_index_of",
	// aggregations
	"count", "countif", "dcount", "dcountif", "sum", "sumif", "min", "max", "minif", "maxif", "avg", "avgif", "make_list", "make_list_if",
	"make_set", "make_set_if", "make_bag", "arg_max", "arg_min", "take_any", "take_anyif", "any", "percentile",
}

type parser struct {
	toks  []Token
	pos   int
	depth int
	s     *Script
	lets  map[string]bool
}

// Parse parses src and checks that it only uses known tabular operators,
// functions and tables (or names bound by let).
func Parse(src string) (*Script, error) {
	toks, err := Lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, s: &Script{}, lets: map[string]bool{}}
	if err := p.script(); err != nil {
		return nil, err
	}
	return p.s, nil
}

func (p *parser) peek() Token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) Token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() Token {
	t := p.toks[p.pos]
	if t.Kind != EOF {
		p.pos++
	}
	return t
}

func (p *parser) errf(t Token, format string, a ...any) error {
	return &Error{t.Line, t.Col, fmt.Sprintf(format, a...)}
}

func (p *parser) is(kind TokKind, text string) bool {
	t := p.peek()
	return t.Kind == kind && (text == "" || t.Text == text)
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.Kind == Ident && strings.EqualFold(t.Text, w)
}

func (p *parser) accept(text string) bool {
	if t := p.peek(); t.Kind == Punct && t.Text == text {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(text string) error {
	if p.accept(text) {
		return nil
	}
	t := p.peek()
	return p.errf(t, "expected %q, found %s", text, describe(t))
}

func (p *parser) acceptWord(w string) bool {
	if p.isWord(w) {
		p.pos++
		return true
	}
	return false
}

func describe(t Token) string {
	if t.Kind == EOF {
		return "end of query"
	}
	return fmt.Sprintf("%s %q", t.Kind, t.Text)
}

func (p *parser) script() error {
	sawTabular := false
	for {
		for p.accept(";") {
		}
		if p.is(EOF, "") {
			break
		}
		if p.acceptWord("let") {
			name := p.next()
			if name.Kind != Ident {
				return p.errf(name, "let: expected a name, found %s", describe(name))
			}
			if err := p.expect("="); err != nil {
				return err
			}
			if _, err := p.pipeline(); err != nil {
				return err
			}
			p.lets[strings.ToLower(name.Text)] = true
			p.s.Lets = append(p.s.Lets, name.Text)
		} else {
			pl, err := p.pipeline()
			if err != nil {
				return err
			}
			if pl.Source == "" {
				return p.errf(p.peek(), "a query must end with a tabular expression")
			}
			sawTabular = true
		}
		if !p.is(EOF, "") {
			if err := p.expect(";"); err != nil {
				return err
			}
		}
	}
	if !sawTabular {
		return p.errf(p.peek(), "no tabular expression: a query needs one after its let statements")
	}
	return nil
}

// pipeline parses a source expression followed by | operators. A let of a
// scalar (dynamic([...]), 10m) is a pipeline with no operators and Source "".
func (p *parser) pipeline() (*Pipeline, error) {
	pl := &Pipeline{}
	t := p.peek()
	switch {
	case p.isWord("union"):
		p.next()
		pl.Source = "union"
		if err := p.union(); err != nil {
			return nil, err
		}
	case p.isWord("datatable"):
		p.next()
		pl.Source = "datatable"
		if err := p.datatable(); err != nil {
			return nil, err
		}
	case t.Kind == Ident && (p.peekAt(1).Kind == EOF || p.peekAt(1).Kind == Punct && slices.Contains([]string{"|", ";", ")", ","}, p.peekAt(1).Text)):
		p.next()
		pl.Source = t.Text
		if err := p.source(t); err != nil {
			return nil, err
		}
	case t.Kind == Punct && t.Text == "(" && p.parenIsTabular():
		p.next()
		if _, err := p.pipeline(); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		pl.Source = "(...)"
	default:
		if err := p.expr(); err != nil {
			return nil, err
		}
		if !p.is(Punct, "|") {
			return pl, nil // a scalar let
		}
		pl.Source = "(expression)"
	}
	for p.accept("|") {
		op := p.next()
		if op.Kind != Ident || !slices.Contains(tabularOps, strings.ToLower(op.Text)) {
			return nil, p.errf(op, "unknown tabular operator %s", describe(op))
		}
		name := strings.ToLower(op.Text)
		pl.Operators = append(pl.Operators, name)
		if err := p.operator(name); err != nil {
			return nil, err
		}
	}
	p.s.Pipelines = append(p.s.Pipelines, pl)
	return pl, nil
}

// parenIsTabular reports whether the "(" at the cursor opens a tabular
// expression (a table or let name followed by "|" or ")"), not a scalar one.
func (p *parser) parenIsTabular() bool {
	t1, t2 := p.peekAt(1), p.peekAt(2)
	if t1.Kind == Ident && (strings.EqualFold(t1.Text, "union") || strings.EqualFold(t1.Text, "datatable")) {
		return true
	}
	return t1.Kind == Ident && t2.Kind == Punct && t2.Text == "|"
}

func (p *parser) source(t Token) error {
	if p.lets[strings.ToLower(t.Text)] {
		return nil
	}
	if !slices.Contains(KnownTables, t.Text) {
		return p.errf(t, "unknown table or name %q (known tables: %s)", t.Text, strings.Join(KnownTables, ", "))
	}
	if !slices.Contains(p.s.Tables, t.Text) {
		p.s.Tables = append(p.s.Tables, t.Text)
	}
	return nil
}

func (p *parser) union() error {
	for p.peek().Kind == Ident && p.peekAt(1).Text == "=" && p.peekAt(1).Kind == Punct {
		p.next()
		p.next()
		if v := p.next(); v.Kind == EOF {
			return p.errf(v, "union: expected a parameter value")
		}
	}
	for {
		t := p.peek()
		switch {
		case t.Kind == Ident:
			p.next()
			if err := p.source(t); err != nil {
				return err
			}
		case t.Kind == Punct && t.Text == "(":
			p.next()
			if _, err := p.pipeline(); err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
		default:
			return p.errf(t, "union: expected a table, found %s", describe(t))
		}
		if !p.accept(",") {
			return nil
		}
	}
}

func (p *parser) datatable() error {
	if err := p.expect("("); err != nil {
		return err
	}
	for {
		name := p.next()
		if name.Kind != Ident {
			return p.errf(name, "datatable: expected a column name, found %s", describe(name))
		}
		if err := p.expect(":"); err != nil {
			return err
		}
		typ := p.next()
		if typ.Kind != Ident {
			return p.errf(typ, "datatable: expected a column type, found %s", describe(typ))
		}
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return err
	}
	if err := p.expect("["); err != nil {
		return err
	}
	if p.accept("]") {
		return nil
	}
	if err := p.exprList("]"); err != nil {
		return err
	}
	return nil
}

// exprList parses expr (, expr)* and the closing punctuation.
func (p *parser) exprList(close string) error {
	for {
		if err := p.expr(); err != nil {
			return err
		}
		if p.accept(",") {
			continue
		}
		return p.expect(close)
	}
}

// namedExprs parses [name =] expr (, ...)*; stop before "by" when inBy.
func (p *parser) namedExprs() error {
	for {
		if p.peek().Kind == Ident && p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "=" {
			p.pos += 2
		} else if p.is(Punct, "(") && p.peekAt(1).Kind == Ident && p.peekAt(2).Text == "," {
			// (A, B) = arg_max(...)
			p.next()
			for {
				if n := p.next(); n.Kind != Ident {
					return p.errf(n, "expected a column name, found %s", describe(n))
				}
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return err
			}
			if err := p.expect("="); err != nil {
				return err
			}
		}
		if err := p.expr(); err != nil {
			return err
		}
		if !p.accept(",") {
			return nil
		}
	}
}

func (p *parser) operator(name string) error {
	switch name {
	case "where", "filter":
		return p.expr()
	case "extend", "project", "project-keep", "project-reorder", "distinct":
		return p.namedExprs()
	case "project-away":
		return p.identList()
	case "project-rename":
		return p.namedExprs()
	case "summarize":
		for p.peek().Kind == Ident && p.peekAt(1).Text == "=" && strings.HasPrefix(strings.ToLower(p.peek().Text), "hint.") {
			p.pos += 3
		}
		if !p.isWord("by") {
			if err := p.namedExprs(); err != nil {
				return err
			}
		}
		if p.acceptWord("by") {
			return p.namedExprs()
		}
		return nil
	case "sort", "order":
		if !p.acceptWord("by") {
			return p.errf(p.peek(), "%s: expected \"by\", found %s", name, describe(p.peek()))
		}
		return p.sortList()
	case "top":
		if err := p.expr(); err != nil {
			return err
		}
		if !p.acceptWord("by") {
			return p.errf(p.peek(), "top: expected \"by\", found %s", describe(p.peek()))
		}
		return p.sortList()
	case "take", "limit", "sample":
		return p.expr()
	case "count", "serialize", "getschema":
		return nil
	case "as":
		t := p.next()
		if t.Kind != Ident {
			return p.errf(t, "as: expected a name, found %s", describe(t))
		}
		p.lets[strings.ToLower(t.Text)] = true
		return nil
	case "mv-expand":
		return p.namedExprs()
	case "union":
		return p.union()
	case "join", "lookup":
		for p.peek().Kind == Ident && p.peekAt(1).Kind == Punct && p.peekAt(1).Text == "=" {
			param := strings.ToLower(p.next().Text)
			p.next()
			v := p.next()
			if param == "kind" && !slices.Contains([]string{"inner", "innerunique", "leftouter", "rightouter", "fullouter", "leftanti", "rightanti", "leftsemi", "rightsemi", "anti", "leftantisemi", "rightantisemi"}, strings.ToLower(v.Text)) {
				return p.errf(v, "join: unknown kind %s", describe(v))
			}
		}
		t := p.peek()
		switch {
		case t.Kind == Punct && t.Text == "(":
			p.next()
			if _, err := p.pipeline(); err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
		case t.Kind == Ident:
			p.next()
			if err := p.source(t); err != nil {
				return err
			}
		default:
			return p.errf(t, "%s: expected a table, found %s", name, describe(t))
		}
		if !p.acceptWord("on") {
			return p.errf(p.peek(), "%s: expected \"on\", found %s", name, describe(p.peek()))
		}
		for {
			if err := p.expr(); err != nil {
				return err
			}
			if !p.accept(",") {
				return nil
			}
		}
	}
	return p.errf(p.peek(), "operator %s is not supported", name)
}

func (p *parser) identList() error {
	for {
		t := p.next()
		if t.Kind != Ident {
			return p.errf(t, "expected a column name, found %s", describe(t))
		}
		if !p.accept(",") {
			return nil
		}
	}
}

func (p *parser) sortList() error {
	for {
		if err := p.expr(); err != nil {
			return err
		}
		if p.acceptWord("asc") || p.acceptWord("desc") {
		}
		if p.acceptWord("nulls") {
			if !p.acceptWord("first") && !p.acceptWord("last") {
				return p.errf(p.peek(), "expected \"first\" or \"last\" after nulls")
			}
		}
		if !p.accept(",") {
			return nil
		}
	}
}
