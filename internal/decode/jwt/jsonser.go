package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// jwsSig is one signature entry of the JWS JSON Serialization.
type jwsSig struct {
	Protected *string        `json:"protected"`
	Header    map[string]any `json:"header"`
	Signature *string        `json:"signature"`
}

// jwsJSON is the JWS JSON Serialization (RFC 7515 §7.2): general (with
// "signatures") or flattened (the one signature's members at the top).
type jwsJSON struct {
	Payload    *string  `json:"payload"`
	Signatures []jwsSig `json:"signatures"`
	jwsSig
}

// maxSignatures caps the signatures of a general JWS JSON serialization
// Parse reads (each may cost a public-key operation in Verify).
const maxSignatures = 16

// parseJSONSerialization reads a JWS in the JSON serialization. Every
// signature is kept in Sigs, with its protected and unprotected header
// members together; the token's Header, Signature and Malformed are the
// first signature's. A JSON object without "payload" is a JWS with
// detached content (Detached). A member both protected and unprotected, a
// signature without "alg", or a "crit" outside the protected header is an
// error, as RFC 7515 §7.2.1 requires.
func parseJSONSerialization(s string) (*Token, error) {
	var j jwsJSON
	d := json.NewDecoder(strings.NewReader(s))
	if err := d.Decode(&j); err != nil {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: fmt.Errorf("JWS JSON serialization: %w", err)}
	}
	if d.More() {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: errors.New("JWS JSON serialization: data after the object")}
	}
	entries, kind := j.Signatures, "json-general"
	flat := j.Signature != nil || j.Protected != nil || j.Header != nil
	switch {
	case len(j.Signatures) > 0 && !flat:
	case j.Signature != nil && j.Signatures == nil:
		entries, kind = []jwsSig{j.jwsSig}, "json-flattened"
	default:
		return nil, &ParseError{Part: "signature", Index: 2, Offset: -1, Err: errors.New(`JWS JSON serialization needs "signature" or a non-empty "signatures", not both`)}
	}
	if len(entries) > maxSignatures {
		return nil, &ParseError{Part: "signature", Index: 2, Offset: -1, Err: fmt.Errorf("JWS JSON serialization with %d signatures; idtrace reads at most %d", len(entries), maxSignatures)}
	}
	tok := &Token{Serialization: kind, Signatures: len(entries)}
	for i, e := range entries {
		sg, err := parseSig(e, i, len(entries))
		if err != nil {
			return nil, err
		}
		tok.Sigs = append(tok.Sigs, *sg)
		unencoded := string(sg.Header.Raw("b64")) == "false"
		if i == 0 {
			tok.Unencoded = unencoded
		} else if unencoded != tok.Unencoded {
			return nil, &ParseError{Part: "header", Index: 0, Offset: -1, Err: errors.New(`signatures disagree on "b64" (RFC 7797 §3)`)}
		}
	}
	switch {
	case j.Payload == nil:
		tok.Detached = true
	case tok.Unencoded:
		// RFC 7797: the payload is the content itself.
		tok.payloadB64, tok.Payload = *j.Payload, []byte(*j.Payload)
		tok.Detached = len(tok.Payload) == 0
	default:
		tok.payloadB64 = *j.Payload
		if err := checkSegment(tok.payloadB64, "payload", 1, &tok.Malformed); err != nil {
			return nil, err
		}
		pb, err := decodeSegment(tok.payloadB64)
		if err != nil {
			return nil, &ParseError{Part: "payload", Index: 1, Offset: -1, Err: err}
		}
		tok.Payload = pb
		tok.Detached = len(pb) == 0
	}
	first := tok.Sigs[0]
	if tok.Malformed == "" {
		for _, sg := range tok.Sigs {
			if sg.Malformed != "" {
				tok.Malformed = sg.Malformed
				break
			}
		}
	}
	for i := range tok.Sigs {
		if tok.Sigs[i].Malformed == "" {
			tok.Sigs[i].Malformed = tok.Malformed
		}
	}
	tok.Header, tok.Signature, tok.HasSignature = first.Header, first.Signature, len(first.Signature) > 0
	tok.Raw = first.Protected + "." + tok.payloadB64 + "." + first.sigB64
	if c, err := parseObject(tok.Payload); err == nil {
		tok.Claims.Object = *c
		tok.Masked = maskSecretClaims(&tok.Claims.Object)
	} else {
		tok.PayloadNotJSON = true
		tok.Claims.Values = map[string]json.RawMessage{}
	}
	return tok, nil
}

// parseSig reads signature entry i of n.
func parseSig(e jwsSig, i, n int) (*Sig, error) {
	where := "signature"
	if n > 1 {
		where = fmt.Sprintf("signature %d of %d", i+1, n)
	}
	fail := func(part string, idx int, err error) error {
		return &ParseError{Part: part, Index: idx, Offset: -1, Err: fmt.Errorf("%s: %w", where, err)}
	}
	sg := &Sig{Header: Object{Values: map[string]json.RawMessage{}}}
	if e.Protected != nil && *e.Protected != "" {
		sg.Protected = *e.Protected
		if err := checkSegment(sg.Protected, "header", 0, &sg.Malformed); err != nil {
			return nil, err
		}
		hb, err := decodeSegment(sg.Protected)
		if err != nil {
			return nil, fail("header", 0, err)
		}
		h, err := parseObject(hb)
		if err != nil {
			return nil, fail("header", 0, fmt.Errorf("protected header not a JSON object: %w", err))
		}
		sg.Header = *h
	}
	// The unprotected members in name order (JSON objects have none), so
	// reports are stable.
	for _, k := range slices.Sorted(maps.Keys(e.Header)) {
		v := e.Header[k]
		if sg.Header.Has(k) {
			return nil, fail("header", 0, fmt.Errorf("header member %q both protected and unprotected", k))
		}
		if k == "crit" {
			return nil, fail("header", 0, errors.New(`"crit" must be in the protected header`))
		}
		b, _ := json.Marshal(v)
		sg.Header.Keys = append(sg.Header.Keys, k)
		sg.Header.Values[k] = b
		sg.Unprotected = append(sg.Unprotected, k)
	}
	if !sg.Header.Has("alg") {
		return nil, fail("header", 0, errors.New(`no "alg" member`))
	}
	if e.Signature == nil {
		return nil, fail("signature", 2, errors.New(`no "signature" member`))
	}
	if err := checkSegment(*e.Signature, "signature", 2, &sg.Malformed); err != nil {
		return nil, err
	}
	sig, err := decodeSegment(*e.Signature)
	if err != nil {
		return nil, fail("signature", 2, err)
	}
	sg.Signature, sg.sigB64 = sig, *e.Signature
	return sg, nil
}

// checkSegment refuses a segment with characters of neither base64
// alphabet and records in *malformed (when still empty) one that only a
// lenient reader accepts (padding, the standard alphabet).
func checkSegment(seg, part string, idx int, malformed *string) error {
	if j := badBase64Char(seg); j >= 0 {
		return &ParseError{Part: part, Index: idx, Offset: -1, Err: fmt.Errorf("character %q is not base64url", seg[j])}
	}
	if *malformed == "" {
		if j := strings.IndexAny(seg, "=+/"); j >= 0 {
			what := "padding '='"
			if seg[j] != '=' {
				what = fmt.Sprintf("standard base64 character %q", seg[j])
			}
			*malformed = fmt.Sprintf("%s holds %s, which base64url forbids", part, what)
		}
	}
	return nil
}

// WithPayload returns a copy of a JWS with detached content (RFC 7515
// Appendix F) carrying that content, for Verify to check its signatures
// over it; a JSON object payload is read as claims. tok is not changed; a
// token whose payload is not detached is returned as it is.
func (t *Token) WithPayload(b []byte) *Token {
	if t == nil || !t.Detached || t.Encrypted {
		return t
	}
	c := *t
	c.Payload = append([]byte(nil), b...)
	c.payloadB64 = base64.RawURLEncoding.EncodeToString(b)
	if c.Unencoded {
		c.payloadB64 = string(b)
	}
	c.PayloadNotJSON, c.Masked = false, nil
	c.Claims = Claims{}
	if o, err := parseObject(c.Payload); err == nil {
		c.Claims.Object = *o
		c.Masked = maskSecretClaims(&c.Claims.Object)
	} else {
		c.PayloadNotJSON = true
		c.Claims.Values = map[string]json.RawMessage{}
	}
	return &c
}
