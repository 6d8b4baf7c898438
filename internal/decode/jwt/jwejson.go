package jwt

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// jweJSON is the JWE JSON Serialization (RFC 7516 §7.2): general (with
// "recipients") or flattened (the one recipient's members at the top).
type jweJSON struct {
	Protected    string         `json:"protected"`
	Unprotected  map[string]any `json:"unprotected"`
	Header       map[string]any `json:"header"`
	EncryptedKey *string        `json:"encrypted_key"`
	Recipients   []struct {
		Header       map[string]any `json:"header"`
		EncryptedKey string         `json:"encrypted_key"`
	} `json:"recipients"`
	IV         string  `json:"iv"`
	Ciphertext *string `json:"ciphertext"`
	Tag        string  `json:"tag"`
	AAD        string  `json:"aad"`
}

// isJWEJSON reports whether a JSON object is a JWE (it has "ciphertext")
// rather than a JWS.
func isJWEJSON(s string) bool {
	var probe struct {
		Ciphertext json.RawMessage `json:"ciphertext"`
	}
	return json.Unmarshal([]byte(s), &probe) == nil && probe.Ciphertext != nil
}

// parseJWEJSON reads a JWE in the JSON serialization as an encrypted token
// (Decrypt decrypts it). Header holds the protected, shared unprotected
// and first recipient's members together, for display and the verdict;
// Recipients counts the recipients. A member named at two levels is an
// error (RFC 7516 §7.2.1).
func parseJWEJSON(s string) (*Token, error) {
	var j jweJSON
	d := json.NewDecoder(strings.NewReader(s))
	if err := d.Decode(&j); err != nil {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: fmt.Errorf("JWE JSON serialization: %w", err)}
	}
	if d.More() {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: errors.New("JWE JSON serialization: data after the object")}
	}
	if j.Ciphertext == nil {
		return nil, &ParseError{Part: "ciphertext", Index: 3, Offset: -1, Err: errors.New(`JWE JSON serialization: "ciphertext" is not a string`)}
	}
	kind, n := "json-general", len(j.Recipients)
	first := j.Header
	switch {
	case n > 0 && j.EncryptedKey == nil && j.Header == nil:
		first = j.Recipients[0].Header
	case n == 0 && j.Recipients == nil:
		kind, n = "json-flattened", 1
	default:
		return nil, &ParseError{Part: "encrypted_key", Index: 1, Offset: -1, Err: errors.New(`JWE JSON serialization needs "recipients" or the flattened members, not both`)}
	}
	if n > maxSignatures {
		return nil, &ParseError{Part: "encrypted_key", Index: 1, Offset: -1, Err: fmt.Errorf("JWE JSON serialization with %d recipients; idtrace reads at most %d", n, maxSignatures)}
	}
	tok := &Token{Raw: s, Encrypted: true, Serialization: kind, Signatures: n}
	tok.Header = Object{Values: map[string]json.RawMessage{}}
	if j.Protected != "" {
		hb, err := decodeSegment(j.Protected)
		if err != nil {
			return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: err}
		}
		h, err := parseObject(hb)
		if err != nil {
			return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: fmt.Errorf("not a JSON object: %w", err)}
		}
		tok.Header = *h
	}
	for _, level := range []map[string]any{j.Unprotected, first} {
		for _, k := range slices.Sorted(maps.Keys(level)) {
			if tok.Header.Has(k) {
				return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: fmt.Errorf("header member %q named at two levels", k)}
			}
			b, _ := json.Marshal(level[k])
			tok.Header.Keys = append(tok.Header.Keys, k)
			tok.Header.Values[k] = b
		}
	}
	if !tok.Header.Has("enc") {
		return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: errors.New(`JWE JSON serialization without "enc"`)}
	}
	for name, seg := range map[string]string{"iv": j.IV, "ciphertext": *j.Ciphertext, "tag": j.Tag, "aad": j.AAD} {
		if _, err := decodeSegment(seg); err != nil {
			return nil, &ParseError{Part: name, Index: -1, Offset: -1, Err: err}
		}
	}
	tok.Claims.Values = map[string]json.RawMessage{}
	return tok, nil
}
