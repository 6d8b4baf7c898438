package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// jwsJSON is the JWS JSON Serialization (RFC 7515 §7.2): general (with
// "signatures") or flattened (the one signature's members at the top).
type jwsJSON struct {
	Payload    *string        `json:"payload"`
	Protected  string         `json:"protected"`
	Header     map[string]any `json:"header"`
	Signature  *string        `json:"signature"`
	Signatures []struct {
		Protected string         `json:"protected"`
		Header    map[string]any `json:"header"`
		Signature string         `json:"signature"`
	} `json:"signatures"`
}

// parseJSONSerialization reads a JWS in the JSON serialization and returns
// the token of its first signature: the compact form of that signature
// (what is signed is the same), with the unprotected header members added
// to Header for display and key selection. Serialization and Signatures
// say what it was read from.
func parseJSONSerialization(s string) (*Token, error) {
	var j jwsJSON
	d := json.NewDecoder(strings.NewReader(s))
	if err := d.Decode(&j); err != nil {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: fmt.Errorf("JWS JSON serialization: %w", err)}
	}
	if d.More() {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: errors.New("JWS JSON serialization: data after the object")}
	}
	if j.Payload == nil {
		return nil, &ParseError{Part: "payload", Index: 1, Offset: -1, Err: errors.New(`JWS JSON serialization without "payload"`)}
	}
	protected, unprotected, sig, kind, n := j.Protected, j.Header, "", "json-flattened", 1
	switch {
	case len(j.Signatures) > 0 && j.Signature == nil:
		protected, unprotected, sig = j.Signatures[0].Protected, j.Signatures[0].Header, j.Signatures[0].Signature
		kind, n = "json-general", len(j.Signatures)
	case j.Signature != nil && len(j.Signatures) == 0:
		sig = *j.Signature
	default:
		return nil, &ParseError{Part: "signature", Index: 2, Offset: -1, Err: errors.New(`JWS JSON serialization needs "signature" or "signatures", not both`)}
	}
	if protected == "" {
		return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: errors.New(`JWS JSON serialization without a "protected" header (idtrace verifies only protected headers)`)}
	}
	tok, err := parseCompact(protected + "." + *j.Payload + "." + sig)
	if err != nil {
		return nil, err
	}
	for k, v := range unprotected {
		if tok.Header.Has(k) {
			return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: fmt.Errorf("header member %q both protected and unprotected", k)}
		}
		b, _ := json.Marshal(v)
		tok.Header.Keys = append(tok.Header.Keys, k)
		tok.Header.Values[k] = b
	}
	tok.Serialization, tok.Signatures = kind, n
	return tok, nil
}
