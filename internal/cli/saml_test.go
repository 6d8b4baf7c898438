package cli

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

const synthResponse = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" Destination="https://sp.example/acs"><saml:Issuer>https://idp.example/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>https://idp.example/</saml:Issuer><saml:Subject><saml:NameID>alice@example.test</saml:NameID></saml:Subject><saml:Conditions NotBefore="2025-03-01T09:55:00Z" NotOnOrAfter="2025-03-01T11:00:00Z"><saml:AudienceRestriction><saml:Audience>https://sp.example/</saml:Audience></saml:AudienceRestriction></saml:Conditions></saml:Assertion></samlp:Response>`

const synthRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_q1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" AssertionConsumerServiceURL="https://sp.example/acs"><saml:Issuer>https://sp.example/</saml:Issuer></samlp:AuthnRequest>`

func TestSAMLCommand(t *testing.T) {
	var d bytes.Buffer
	w, _ := flate.NewWriter(&d, flate.DefaultCompression)
	_, _ = w.Write([]byte(synthRequest))
	w.Close()
	redirect := "https://idp.example/sso?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(d.Bytes()))
	post := base64.StdEncoding.EncodeToString([]byte(synthResponse))
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		contains []string
	}{
		{"POST binding, json, within conditions", "", []string{"saml", "--format", "json", "--at", "2025-03-01T10:01:00Z", post}, 0, []string{`"binding": "post"`, `"name_id": "alice@example.test"`, `"verified": false`, "unsigned"}},
		{"POST binding after expiry", "", []string{"saml", "--at", "2025-03-01T12:00:00Z", post}, 0, []string{"saml_conditions_expired", "Signature: unsigned ("}},
		{"redirect binding URL", "", []string{"saml", redirect}, 0, []string{"Binding:   redirect", "AuthnRequest", "https://sp.example/acs"}},
		{"XML on stdin", synthResponse, []string{"saml", "--format", "json", "-"}, 0, []string{`"binding": "xml"`}},
		{"form body", "", []string{"saml", "SAMLResponse=" + url.QueryEscape(post) + "&RelayState=x"}, 0, []string{"https://idp.example/"}},
		{"auto-post HTML page on stdin", `<html><body onload="document.forms[0].submit()"><form method="POST" action="https://sp.example/acs"><input type="hidden" name="SAMLResponse" value="` + post + `" /><input type="hidden" name="RelayState" value="x" /></form></body></html>`, []string{"saml", "--format", "json", "-"}, 0, []string{`"binding": "post"`, `"name_id": "alice@example.test"`}},
		{"garbage", "", []string{"saml", "not saml at all"}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := idt(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s %s", code, tt.code, errOut, out)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out, c) {
					t.Errorf("output lacks %q:\n%s", c, out)
				}
			}
		})
	}
}

func TestSAMLRealSample(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "jwt"), "identitymodel_Saml2TokenFromAAD.xml")
	code, out, errOut := idt(t, "", "saml", "--format", "json", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct{ Message map[string]any }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Message["kind"] == nil {
		t.Errorf("message %v", doc.Message)
	}
}
