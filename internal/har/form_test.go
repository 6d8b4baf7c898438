package har

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/trace"
)

// quoteSeeds are strings whose quoting has edges: escapes at each offset of
// an 8-byte group, invalid UTF-8, U+2028, characters HTML encoders escape.
var quoteSeeds = []string{
	"", "a", "plain ascii text of some length, no escapes at all here",
	"\"", "\\", "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<a href=\"x&y\">",
	"1234567\"", "12345678\"", "123456789\\", "\u2028\u2029", "é日本\U0001F600",
	"\xff", "abc\xffdef", "1234567\xe2\x82", "\xed\xa0\x80 surrogate", "\ufffd kept",
	strings.Repeat("{\"k\":\"v\\n\"}", 20), strings.Repeat("x", 8) + "\x1f" + strings.Repeat("y", 9),
}

func TestAppendQuotedIsJSONText(t *testing.T) {
	for _, s := range quoteSeeds {
		want, _ := jsontext.AppendQuote(nil, s) // invalid UTF-8 is replaced; the error only says so
		if got := appendQuoted(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendQuoted(%q) = %s, jsontext writes %s", s, got, want)
		}
	}
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := jsontext.AppendQuote(nil, s)
		if got := appendQuoted([]byte("prefix"), s); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("appendQuoted(%q) = %s, jsontext writes %s", s, got[len("prefix"):], want)
		}
	})
}

func TestWriterNumbersAreJSONText(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 120, 0.5, 1.25, 1e-7, 1e-6, 123456.789,
		1e15 - 1, 1e15, 1e15 + 1, 9007199254740993, 1e20, 1e21, 1e300, -1e21, math.SmallestNonzeroFloat64, -42.000001} {
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		w.float(v)
		if got, want := string(w.buf), jsontext.Float(v).String(); got != want {
			t.Errorf("float(%v) = %s, jsontext writes %s", v, got, want)
		}
	}
}

// TestWriterFormIsJSONTextIndent checks that the writer's layout is
// exactly jsontext's indented form (which the HAR writer used to produce
// through jsontext.Encoder), on flows with odd strings, numbers and
// nested vendor fields.
func TestWriterFormIsJSONTextIndent(t *testing.T) {
	flows := syntheticFlows()
	for i, s := range quoteSeeds {
		flows = append(flows, &trace.Flow{ID: 100 + i, Time: float64(i) / 3,
			Request: &trace.Request{Method: "GET", URL: "https://x.test/?q=" + s, Headers: trace.Headers{{Name: s, Value: s}},
				Extra: trace.Extensions{{Name: "_v", JSON: []byte(`{"a":[1,{"b":[]},{}],"s":"` + "x\\u0041" + `","n":-0.0}`)}}},
			Response: &trace.Response{Status: 200, Body: []byte(s), Size: trace.Unknown,
				ContentExtra: trace.Extensions{{Name: "_e", JSON: []byte(`  [ 1 , "two" , null ]  `)}}},
			Extra: trace.Extensions{{Name: "_n", JSON: []byte(`1.50`)}, {Name: "_o", JSON: []byte(`{"deep":{"deeper":{"k":true}}}`)}},
		})
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, &trace.Meta{Creator: trace.Software{Name: "t", Version: "1"},
		Extra: trace.Extensions{{Name: "_top", JSON: []byte(`{"x":[]}`)}}})
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	if !bytes.HasSuffix(out, []byte("}\n")) {
		t.Fatalf("output does not end with the top-level newline: %q", out[max(0, len(out)-10):])
	}
	v := jsontext.Value(bytes.Clone(out[:len(out)-1]))
	if err := v.Indent(jsontext.WithIndent("  ")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v, out[:len(out)-1]) {
		a, b := string(out), string(v)
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("layout differs from jsontext's at byte %d: writer %q, jsontext %q", i, a[i:min(len(a), i+60)], b[i:min(len(b), i+60)])
	}
	if !strings.Contains(string(out), `"_v": {`+"\n") || !strings.Contains(string(out), `"_n": 1.50`) {
		t.Errorf("vendor values not written as given")
	}
}

// TestWriterRawValuesAreJSONText writes vendor values inside two objects
// with the writer and with jsontext.Encoder (the writer's former engine)
// and wants the same bytes.
func TestWriterRawValuesAreJSONText(t *testing.T) {
	for _, raw := range []string{`1.50`, `-0.0`, `"x\u0041\ud800\u2028"`, "\"a\xffb\"", `null`, `[ ]`, ` { } `,
		`{"a":[1,{"b":[]},{}],"s":"v","dup":1,"dup":2}`, `[[[["deep"]]],{"k":{"k":{"k":true}}}]`} {
		var old bytes.Buffer
		e := jsontext.NewEncoder(&old, jsontext.WithIndent("  "), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
		for _, tok := range []jsontext.Token{jsontext.BeginObject, jsontext.String("a"), jsontext.BeginObject, jsontext.String("k")} {
			if err := e.WriteToken(tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.WriteValue(jsontext.Value(raw)); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if err := errors.Join(e.WriteToken(jsontext.EndObject), e.WriteToken(jsontext.EndObject)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := NewWriter(&got, nil)
		w.open('{')
		w.begin("a", '{')
		w.key("k")
		if err := w.raw([]byte(raw)); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		w.close('}')
		w.close('}')
		if w.err != nil || got.String() != old.String() {
			t.Errorf("%s: writer %q (err %v), jsontext %q", raw, got.String(), w.err, old.String())
		}
	}
}
