package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzShowBody feeds arbitrary bodies to show's renderer: it must not
// panic, valid JSON must stay valid JSON once indented, and a secret field
// added to a form or JSON body must never come out whole.
func FuzzShowBody(f *testing.F) {
	f.Add([]byte(`{"a":[1,2.50,{"b":null}],"access_token":"x"}`), "application/json")
	f.Add([]byte("a=1&code=2&b"), "application/x-www-form-urlencoded")
	f.Add([]byte(`<a><b x="1">t</b></a>`), "text/xml")
	f.Add([]byte("\x00\x01binary"), "")
	f.Add([]byte(`<input name="code" value="v">`), "text/html")
	const secret = "Zq9SecretValueNotToShow"
	f.Fuzz(func(t *testing.T, body []byte, mt string) {
		m := masker{}
		renderBody(body, mt, m)
		if json.Valid(body) {
			var b bytes.Buffer
			if err := prettyJSON(&b, bytes.TrimSpace(body), m, 1<<20); err == nil && !json.Valid(b.Bytes()) {
				t.Fatalf("indented JSON is not valid: %q", b.String())
			}
		}
		if !strings.ContainsAny(string(body), "&=#") {
			if out := m.query(string(body) + "&password=" + secret); strings.Contains(out, secret) {
				t.Fatalf("form secret shown: %q", out)
			}
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) == nil && obj != nil {
			obj["client_secret"] = json.RawMessage(`"` + secret + `"`)
			doc, _ := json.Marshal(obj)
			if s, _ := renderBody(doc, "application/json", m); strings.Contains(s, secret) {
				t.Fatalf("JSON secret shown: %q", s)
			}
		}
	})
}
