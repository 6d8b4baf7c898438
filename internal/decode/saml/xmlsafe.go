package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Limits for untrusted XML. Real SAML messages are tens of kilobytes;
// federation metadata of a large federation can reach megabytes, hence the
// separate metadata cap.
const (
	MaxXMLSize      = 2 << 20  // messages and tokens
	MaxMetadataSize = 16 << 20 // federation metadata
	MaxDepth        = 64
	MaxElements     = 200000
)

// ErrUnsafeXML is wrapped by errors for XML that is refused on safety
// grounds (DTD, entity declarations, excessive size or depth).
var ErrUnsafeXML = errors.New("unsafe XML")

// XMLError locates a problem in an XML input.
type XMLError struct {
	Offset int64 // byte offset, -1 if unknown
	Line   int   // 1-based, 0 if unknown
	Err    error
}

func (e *XMLError) Error() string {
	s := "saml: xml"
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	return s + ": " + e.Err.Error()
}

func (e *XMLError) Unwrap() error { return e.Err }

// SafeDocument parses untrusted XML into an etree document after a
// hardening pass with encoding/xml: any DOCTYPE (and so any DTD or ENTITY
// declaration) is refused, as are documents over MaxXMLSize bytes, deeper
// than MaxDepth or with more than MaxElements elements. Only UTF-8 (and its
// ASCII subset) is accepted. wsfed and the analyzer reuse it for every XML
// they read.
func SafeDocument(b []byte) (*etree.Document, error) { return safeDocument(b, MaxXMLSize) }

func safeDocument(b []byte, limit int) (*etree.Document, error) {
	if len(b) > limit {
		return nil, &XMLError{Offset: -1, Err: fmt.Errorf("%w: %d bytes exceeds the %d-byte cap", ErrUnsafeXML, len(b), limit)}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if err := checkXML(b); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: charsetReader}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, &XMLError{Offset: -1, Err: err}
	}
	if doc.Root() == nil {
		return nil, &XMLError{Offset: -1, Err: errors.New("no root element")}
	}
	return doc, nil
}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q (only UTF-8)", charset)
}

func checkXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = charsetReader
	depth, elems, roots := 0, 0, 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := d.InputPos()
			return &XMLError{Offset: off, Line: line, Err: err}
		}
		switch t := tok.(type) {
		case xml.Directive:
			line, _ := d.InputPos()
			kind := strings.Fields(string(t))
			name := "directive"
			if len(kind) > 0 {
				name = kind[0]
			}
			return &XMLError{Offset: off, Line: line, Err: fmt.Errorf("%w: <!%s> is not allowed (no DTDs or entities)", ErrUnsafeXML, name)}
		case xml.StartElement:
			depth++
			elems++
			if depth == 1 {
				roots++
				if roots > 1 {
					return &XMLError{Offset: off, Err: errors.New("more than one root element")}
				}
			}
			if depth > MaxDepth {
				return &XMLError{Offset: off, Err: fmt.Errorf("%w: nesting deeper than %d", ErrUnsafeXML, MaxDepth)}
			}
			if elems > MaxElements {
				return &XMLError{Offset: off, Err: fmt.Errorf("%w: more than %d elements", ErrUnsafeXML, MaxElements)}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return &XMLError{Offset: off, Err: errors.New("text outside the root element")}
			}
		}
	}
	if roots == 0 {
		return &XMLError{Offset: -1, Err: errors.New("no root element")}
	}
	if depth != 0 {
		return &XMLError{Offset: -1, Err: errors.New("unclosed element")}
	}
	return nil
}
