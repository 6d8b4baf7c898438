package cli

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// harBodyAt finds, in a HAR document, where the body of entry n (from 0)
// starts: response.content.text, or request.postData.text with request. It
// returns the byte offset of the string's opening quote and the body's
// "encoding" ("" or "base64"), scanning the JSON structure without holding
// any value, so the body can then be streamed (writeHARString) whatever
// its size. found is false when the entry or its text is absent.
func harBodyAt(r io.Reader, n int, request bool) (offset int64, encoding string, found bool, err error) {
	type frame struct {
		obj  bool
		key  string // the member name this container is the value of
		elem int    // its index when it is an array element
		n    int    // values started so far (arrays)
	}
	want := [2]string{"response", "content"}
	if request {
		want = [2]string{"request", "postData"}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		stack     []frame
		pos       int64 = -1
		key       string
		expectKey bool
		inLiteral bool
		textAt    int64 = -1
	)
	if b, _ := br.Peek(3); string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
		pos += 3
	}
	target := func() bool {
		return len(stack) == 6 && stack[1].key == "log" && stack[2].key == "entries" && !stack[2].obj &&
			stack[3].elem == n && stack[4].key == want[0] && stack[5].key == want[1]
	}
	valueStart := func() int {
		if len(stack) > 0 && !stack[len(stack)-1].obj {
			f := &stack[len(stack)-1]
			f.n++
			return f.n - 1
		}
		return -1
	}
	for {
		c, e := br.ReadByte()
		if e != nil {
			if e == io.EOF {
				return 0, "", false, nil
			}
			return 0, "", false, e
		}
		pos++
		if inLiteral {
			if strings.IndexByte(" \t\r\n,]}", c) < 0 {
				continue
			}
			inLiteral = false
		}
		switch c {
		case ' ', '\t', '\r', '\n', ':':
		case ',':
			if len(stack) > 0 && stack[len(stack)-1].obj {
				expectKey = true
			}
		case '{', '[':
			el := valueStart()
			stack = append(stack, frame{obj: c == '{', key: key, elem: el})
			key, expectKey = "", c == '{'
		case '}', ']':
			if len(stack) == 0 {
				return 0, "", false, nil
			}
			if target() && c == '}' {
				return textAt, encoding, textAt >= 0, nil
			}
			stack = stack[:len(stack)-1]
			key, expectKey = "", false
		case '"':
			start := pos
			if expectKey {
				s, m, e := readJSONString(br, 64)
				if e != nil {
					return 0, "", false, e
				}
				pos += m
				key, expectKey = s, false
				continue
			}
			valueStart()
			isText, isEnc := target() && key == "text", target() && key == "encoding"
			s, m, e := readJSONString(br, 64)
			if e != nil {
				return 0, "", false, e
			}
			pos += m
			if isText {
				textAt = start
			}
			if isEnc {
				encoding = strings.ToLower(strings.TrimSpace(s))
			}
		default:
			valueStart()
			inLiteral = true
		}
	}
}

// readJSONString skips a JSON string whose opening quote was read,
// returning at most keep of its raw bytes and how many bytes it consumed.
func readJSONString(br *bufio.Reader, keep int) (string, int64, error) {
	var b []byte
	var m int64
	esc := false
	for {
		if n := br.Buffered(); n > 0 && !esc {
			buf, _ := br.Peek(n)
			if i := bytes.IndexAny(buf, "\"\\"); i != 0 {
				if i > 0 {
					buf = buf[:i]
				}
				if room := keep - len(b); room > 0 {
					b = append(b, buf[:min(room, len(buf))]...)
				}
				br.Discard(len(buf))
				m += int64(len(buf))
				continue
			}
		}
		c, err := br.ReadByte()
		if err != nil {
			return "", m, fmt.Errorf("unterminated string: %w", err)
		}
		m++
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			return string(b), m, nil
		}
		if len(b) < keep {
			b = append(b, c)
		}
	}
}

// writeHARString decodes the JSON string at the head of r (its opening
// quote first) to w, through base64 when encoding says so, in constant
// memory. It returns the number of bytes written.
func writeHARString(w io.Writer, r io.Reader, encoding string) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if c, err := br.ReadByte(); err != nil || c != '"' {
		return 0, errors.New("no string at the body's offset")
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(unescapeJSON(pw, br)) }()
	var src io.Reader = pr
	if encoding == "base64" {
		src = base64.NewDecoder(base64.StdEncoding, newlineDropper{pr})
	}
	n, err := io.Copy(w, src)
	pr.CloseWithError(io.ErrClosedPipe)
	return n, err
}

// newlineDropper removes the line breaks some tools put in base64 text.
type newlineDropper struct{ r io.Reader }

func (d newlineDropper) Read(p []byte) (int, error) {
	for {
		n, err := d.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// unescapeJSON writes the decoded content of a JSON string (after its
// opening quote) to w, up to the closing quote.
func unescapeJSON(w io.Writer, br *bufio.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		// Copy the run of plain bytes up to the next quote or backslash.
		if n := br.Buffered(); n > 0 {
			buf, _ := br.Peek(n)
			if i := bytes.IndexAny(buf, "\"\\"); i != 0 {
				if i > 0 {
					buf = buf[:i]
				}
				if _, err := bw.Write(buf); err != nil {
					return err
				}
				br.Discard(len(buf))
				continue
			}
		}
		c, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("unterminated body string: %w", err)
		}
		switch c {
		case '"':
			return bw.Flush()
		case '\\':
			e, err := br.ReadByte()
			if err != nil {
				return err
			}
			switch e {
			case 'n':
				bw.WriteByte('\n')
			case 't':
				bw.WriteByte('\t')
			case 'r':
				bw.WriteByte('\r')
			case 'b':
				bw.WriteByte('\b')
			case 'f':
				bw.WriteByte('\f')
			case 'u':
				r1, err := readHex4(br)
				if err != nil {
					return err
				}
				if utf16.IsSurrogate(r1) {
					if p, _ := br.Peek(2); string(p) == `\u` {
						br.Discard(2)
						r2, err := readHex4(br)
						if err != nil {
							return err
						}
						r1 = utf16.DecodeRune(r1, r2)
					} else {
						r1 = utf8.RuneError
					}
				}
				bw.WriteRune(r1)
			default:
				bw.WriteByte(e) // \" \\ \/
			}
		default:
			bw.WriteByte(c)
		}
	}
}

func readHex4(br *bufio.Reader) (rune, error) {
	var h [4]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(h[:]), 16, 16)
	if err != nil {
		return 0, fmt.Errorf("bad \\u escape %q", h[:])
	}
	return rune(v), nil
}
