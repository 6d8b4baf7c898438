package kql

import (
	"slices"
	"strings"
)

// Binary string and membership operators written as words.
var wordOps = []string{"has", "has_cs", "has_any", "has_all", "contains", "contains_cs", "startswith", "startswith_cs", "endswith", "endswith_cs",
	"hasprefix", "hassuffix", "in", "matches", "between", "like"}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf(p.peek(), "expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// expr := or
func (p *parser) expr() error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if err := p.and(); err != nil {
		return err
	}
	for p.acceptWord("or") {
		if err := p.and(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) and() error {
	if err := p.comparison(); err != nil {
		return err
	}
	for p.acceptWord("and") {
		if err := p.comparison(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) comparison() error {
	if err := p.additive(); err != nil {
		return err
	}
	for {
		t := p.peek()
		switch {
		case t.Kind == Punct && slices.Contains([]string{"==", "!=", "<>", "<", "<=", ">", ">=", "=~", "!~", "!contains", "!contains_cs", "!startswith", "!has", "!has_cs"}, t.Text):
			p.next()
			if err := p.additive(); err != nil {
				return err
			}
		case t.Kind == Punct && (t.Text == "!in" || t.Text == "!in~"):
			p.next()
			if err := p.inList(); err != nil {
				return err
			}
		case t.Kind == Punct && t.Text == "!between":
			p.next()
			if err := p.between(); err != nil {
				return err
			}
		case t.Kind == Ident && slices.Contains(wordOps, strings.ToLower(t.Text)):
			p.next()
			op := strings.ToLower(t.Text)
			switch op {
			case "in":
				p.accept("~")
				if err := p.inList(); err != nil {
					return err
				}
			case "has_any", "has_all":
				if err := p.inList(); err != nil {
					return err
				}
			case "between":
				if err := p.between(); err != nil {
					return err
				}
			case "matches":
				if !p.acceptWord("regex") {
					return p.errf(p.peek(), "expected \"regex\" after matches")
				}
				if err := p.additive(); err != nil {
					return err
				}
			default:
				if err := p.additive(); err != nil {
					return err
				}
			}
		default:
			return nil
		}
	}
}

// inList parses the right side of in / in~ / has_any: "(" expr, ... ")".
func (p *parser) inList() error {
	if err := p.expect("("); err != nil {
		return err
	}
	return p.exprList(")")
}

func (p *parser) between() error {
	if err := p.expect("("); err != nil {
		return err
	}
	if err := p.additive(); err != nil {
		return err
	}
	if err := p.expect(".."); err != nil {
		return err
	}
	if err := p.additive(); err != nil {
		return err
	}
	return p.expect(")")
}

func (p *parser) additive() error {
	if err := p.multiplicative(); err != nil {
		return err
	}
	for p.is(Punct, "+") || p.is(Punct, "-") {
		p.next()
		if err := p.multiplicative(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) multiplicative() error {
	if err := p.unary(); err != nil {
		return err
	}
	for p.is(Punct, "*") || p.is(Punct, "/") || p.is(Punct, "%") {
		p.next()
		if err := p.unary(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) unary() error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if p.is(Punct, "-") || p.is(Punct, "+") {
		p.next()
		return p.unary()
	}
	return p.postfix()
}

func (p *parser) postfix() error {
	if err := p.primary(); err != nil {
		return err
	}
	for {
		switch {
		case p.accept("."):
			t := p.next()
			if t.Kind != Ident {
				return p.errf(t, "expected a property name after \".\", found %s", describe(t))
			}
		case p.accept("["):
			if err := p.expr(); err != nil {
				return err
			}
			if err := p.expect("]"); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (p *parser) primary() error {
	t := p.next()
	switch t.Kind {
	case Number, Timespan, String:
		return nil
	case Punct:
		switch t.Text {
		case "(":
			if err := p.expr(); err != nil {
				return err
			}
			return p.expect(")")
		case "[":
			// ['column name']
			s := p.next()
			if s.Kind != String {
				return p.errf(s, "expected a quoted column name, found %s", describe(s))
			}
			return p.expect("]")
		}
		return p.errf(t, "unexpected %s", describe(t))
	case Ident:
		name := strings.ToLower(t.Text)
		switch name {
		case "true", "false", "null":
			return nil
		case "dynamic":
			if err := p.expect("("); err != nil {
				return err
			}
			if err := p.jsonValue(); err != nil {
				return err
			}
			p.note("dynamic")
			return p.expect(")")
		case "datetime", "timespan":
			if !p.is(Punct, "(") {
				return nil // a column named so
			}
			p.next()
			// The literal's body is raw text: skip to the closing parenthesis.
			for !p.is(Punct, ")") {
				if p.is(EOF, "") {
					return p.errf(p.peek(), "%s(: missing \")\"", name)
				}
				p.next()
			}
			p.next()
			p.note(name)
			return nil
		case "not":
			if p.is(Punct, "(") {
				p.next()
				p.note("not")
				if err := p.expr(); err != nil {
					return err
				}
				return p.expect(")")
			}
		}
		if p.is(Punct, "(") {
			p.next()
			if !slices.Contains(KnownFunctions, name) {
				return p.errf(t, "unknown function %q", t.Text)
			}
			p.note(name)
			if p.accept(")") {
				return nil
			}
			// Arguments; a "*" stands for all columns (count(*) is not valid, but pack_all-like calls use it).
			return p.exprList(")")
		}
		return nil // a column, let name or $left/$right
	}
	return p.errf(t, "unexpected %s", describe(t))
}

func (p *parser) note(fn string) {
	if !slices.Contains(p.s.Functions, fn) {
		p.s.Functions = append(p.s.Functions, fn)
	}
}

// jsonValue parses the literal inside dynamic(): JSON with KQL literals.
func (p *parser) jsonValue() error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	t := p.next()
	switch {
	case t.Kind == String || t.Kind == Number || t.Kind == Timespan:
		return nil
	case t.Kind == Ident && slices.Contains([]string{"true", "false", "null"}, strings.ToLower(t.Text)):
		return nil
	case t.Kind == Punct && t.Text == "-":
		n := p.next()
		if n.Kind != Number {
			return p.errf(n, "expected a number after \"-\"")
		}
		return nil
	case t.Kind == Punct && t.Text == "[":
		if p.accept("]") {
			return nil
		}
		for {
			if err := p.jsonValue(); err != nil {
				return err
			}
			if p.accept(",") {
				continue
			}
			return p.expect("]")
		}
	case t.Kind == Punct && t.Text == "{":
		if p.accept("}") {
			return nil
		}
		for {
			k := p.next()
			if k.Kind != String {
				return p.errf(k, "dynamic: expected a quoted key, found %s", describe(k))
			}
			if err := p.expect(":"); err != nil {
				return err
			}
			if err := p.jsonValue(); err != nil {
				return err
			}
			if p.accept(",") {
				continue
			}
			return p.expect("}")
		}
	}
	return p.errf(t, "dynamic: unexpected %s", describe(t))
}
