package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"strings"
)

// MaxInflated caps the size of an inflated SAMLRequest/SAMLResponse from
// the redirect binding: anything larger is treated as a decompression bomb.
const MaxInflated = MaxXMLSize

// ErrTooLarge is wrapped when a decoded message exceeds its cap.
var ErrTooLarge = errors.New("message too large")

// DecodeRedirect decodes a SAMLRequest or SAMLResponse query parameter of
// the HTTP-Redirect binding: base64, then raw DEFLATE. The parameter may
// still be URL-encoded. Inflation stops at MaxInflated bytes. If the data
// is not deflated but already XML (some SPs skip DEFLATE), it is returned
// as is.
func DecodeRedirect(param string) ([]byte, error) {
	raw, err := decodeBase64Param(param)
	if err != nil {
		return nil, err
	}
	r := flate.NewReader(bytes.NewReader(raw))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxInflated+1))
	if err != nil {
		if t := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(raw), []byte("\xef\xbb\xbf"))); len(t) > 0 && t[0] == '<' {
			return raw, nil
		}
		return nil, fmt.Errorf("saml: redirect binding: not raw DEFLATE data: %w", err)
	}
	if len(out) > MaxInflated {
		return nil, fmt.Errorf("saml: redirect binding: %w: inflates past %d bytes (decompression bomb?)", ErrTooLarge, MaxInflated)
	}
	return out, nil
}

// DecodePost decodes a SAMLRequest or SAMLResponse form field of the
// HTTP-POST binding: base64, tolerating URL-encoding (a raw form body),
// HTML character references (a value copied out of the auto-post page)
// and line breaks.
func DecodePost(param string) ([]byte, error) {
	out, err := decodeBase64Param(param)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func decodeBase64Param(param string) ([]byte, error) {
	s := strings.TrimSpace(param)
	if s == "" {
		return nil, errors.New("saml: empty message parameter")
	}
	if len(s) > 2*MaxXMLSize {
		return nil, fmt.Errorf("saml: %w: parameter of %d bytes", ErrTooLarge, len(s))
	}
	if strings.Contains(s, "&") && strings.Contains(s, ";") {
		s = html.UnescapeString(s)
	}
	if strings.Contains(s, "%") {
		// Still percent-encoded: the value came from a raw query string or
		// form body.
		u, err := url.QueryUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("saml: bad URL encoding: %w", err)
		}
		s = u
	}
	// Whitespace (line breaks from MIME-style wrapping) is not base64; a
	// space here is almost always a '+' lost to form decoding, but only when
	// there are no line breaks suggesting wrapping.
	if !strings.ContainsAny(s, "\r\n") {
		s = strings.ReplaceAll(s, " ", "+")
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("saml: not base64: %w", err)
	}
	return b, nil
}
