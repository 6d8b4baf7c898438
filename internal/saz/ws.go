package saz

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// raw/N_w.txt holds the WebSocket messages of an upgraded session: a CRLF,
// then per message a block of "Name: value" lines ended by an empty line
// (Request-Length or Response-Length with the frame's size, and the
// DoneRead, BeginSend, DoneSend timestamps), the raw frame bytes as they
// crossed the wire (masked when sent by the client), and a CRLF.
// Compressed messages (permessage-deflate, RSV1 set) are inflated on
// reading; the Writer writes every message uncompressed.

const maxWSMessages = 1 << 20

func parseWebSocket(b []byte) ([]trace.WSMessage, error) {
	var out []trace.WSMessage
	pos := 0
	last := map[bool]int{} // direction -> index in out of the message a continuation extends
	inflaters := map[bool]*inflater{}
	for {
		// Skip blank lines between records.
		for pos < len(b) && (b[pos] == '\r' || b[pos] == '\n') {
			pos++
		}
		if pos >= len(b) {
			return out, nil
		}
		end := bytes.Index(b[pos:], []byte("\r\n\r\n"))
		if end < 0 {
			return nil, fmt.Errorf("byte %d: message header block without an end", pos)
		}
		hdr := string(b[pos : pos+end])
		pos += end + 4
		size := -1
		outbound := false
		var when time.Time
		for _, line := range strings.Split(hdr, "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Request-Length", "Response-Length":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("byte %d: invalid %s %q", pos, k, v)
				}
				size, outbound = n, k == "Request-Length"
			case "DoneRead", "BeginSend":
				if t, ok := parseNetTime(v); ok && when.IsZero() {
					when = t
				}
			}
		}
		if size < 0 {
			return nil, fmt.Errorf("byte %d: message without Request-Length or Response-Length", pos)
		}
		if size > len(b)-pos {
			return nil, fmt.Errorf("byte %d: message of %d bytes truncated", pos, size)
		}
		frames := b[pos : pos+size]
		pos += size
		for len(frames) > 0 {
			rsv1, op, payload, n, err := parseFrame(frames)
			if err != nil {
				return nil, err
			}
			frames = frames[n:]
			if rsv1 && op != 0 && op < 8 {
				// permessage-deflate (RFC 7692): inflate with the
				// direction's sliding window.
				in := inflaters[outbound]
				if in == nil {
					in = &inflater{}
					inflaters[outbound] = in
				}
				if p, err := in.inflate(payload); err == nil {
					payload = p
				}
			}
			if op == 0 {
				if i, ok := last[outbound]; ok {
					m := &out[i]
					m.Data = appendData(m.Opcode, m.Data, payload)
					continue
				}
			}
			if len(out) >= maxWSMessages {
				return nil, errors.New("too many WebSocket messages")
			}
			m := trace.WSMessage{Type: "receive", Opcode: op}
			if outbound {
				m.Type = "send"
			}
			if !when.IsZero() {
				m.Time = float64(when.UnixNano()) / 1e9
			}
			m.Data = appendData(op, "", payload)
			out = append(out, m)
			last[outbound] = len(out) - 1
		}
	}
}

// appendData appends payload to data: text frames as text, others base64.
func appendData(op int, data string, payload []byte) string {
	if op == 1 && utf8.Valid(payload) {
		return data + string(payload)
	}
	if op == 1 {
		return data + strings.ToValidUTF8(string(payload), "\uFFFD")
	}
	old, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		old = nil
	}
	return base64.StdEncoding.EncodeToString(append(old, payload...))
}

// inflater undoes permessage-deflate for one direction, keeping the last
// 32 KiB of output as the window for the next message (context takeover;
// harmless when the peers negotiated no takeover).
type inflater struct{ hist []byte }

const maxWSMessageBytes = 64 << 20

func (z *inflater) inflate(p []byte) ([]byte, error) {
	in := append(append([]byte(nil), p...), 0, 0, 0xff, 0xff)
	r := flate.NewReaderDict(bytes.NewReader(in), z.hist)
	out, err := io.ReadAll(io.LimitReader(r, maxWSMessageBytes+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if len(out) > maxWSMessageBytes {
		return nil, errors.New("inflated WebSocket message too large")
	}
	z.hist = append(z.hist, out...)
	if len(z.hist) > 32<<10 {
		z.hist = append([]byte(nil), z.hist[len(z.hist)-32<<10:]...)
	}
	return out, nil
}

// parseFrame splits one frame; rsv1 marks a compressed message.
func parseFrame(b []byte) (rsv1 bool, op int, payload []byte, n int, err error) {
	if len(b) < 2 {
		return false, 0, nil, 0, io.ErrUnexpectedEOF
	}
	rsv1 = b[0]&0x40 != 0
	op = int(b[0] & 0x0f)
	masked := b[1]&0x80 != 0
	l := uint64(b[1] & 0x7f)
	n = 2
	switch l {
	case 126:
		if len(b) < 4 {
			return false, 0, nil, 0, io.ErrUnexpectedEOF
		}
		l = uint64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return false, 0, nil, 0, io.ErrUnexpectedEOF
		}
		l = binary.BigEndian.Uint64(b[2:])
		n = 10
	}
	var key []byte
	if masked {
		if len(b) < n+4 {
			return false, 0, nil, 0, io.ErrUnexpectedEOF
		}
		key = b[n : n+4]
		n += 4
	}
	if l > uint64(len(b)-n) {
		return false, 0, nil, 0, fmt.Errorf("WebSocket frame of %d bytes truncated", l)
	}
	payload = append([]byte(nil), b[n:n+int(l)]...)
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return rsv1, op, payload, n + int(l), nil
}

// writeWebSocket writes raw/N_w.txt. Client frames get an all-zero mask
// key so the file is deterministic.
func writeWebSocket(w io.Writer, msgs []trace.WSMessage) error {
	var b bytes.Buffer
	b.WriteString("\r\n")
	for _, m := range msgs {
		var payload []byte
		if m.Opcode == 1 {
			payload = []byte(m.Data)
		} else if d, err := base64.StdEncoding.DecodeString(m.Data); err == nil {
			payload = d
		} else {
			payload = []byte(m.Data)
		}
		out := m.Type == "send"
		op := m.Opcode
		if op < 0 || op > 15 {
			op = 2
		}
		var fr bytes.Buffer
		fr.WriteByte(0x80 | byte(op))
		mask := byte(0)
		if out {
			mask = 0x80
		}
		switch l := len(payload); {
		case l < 126:
			fr.WriteByte(mask | byte(l))
		case l <= math.MaxUint16:
			fr.WriteByte(mask | 126)
			fr.Write(binary.BigEndian.AppendUint16(nil, uint16(l)))
		default:
			fr.WriteByte(mask | 127)
			fr.Write(binary.BigEndian.AppendUint64(nil, uint64(l)))
		}
		if out {
			fr.Write([]byte{0, 0, 0, 0})
		}
		fr.Write(payload)
		if out {
			fmt.Fprintf(&b, "Request-Length: %d\r\n", fr.Len())
		} else {
			fmt.Fprintf(&b, "Response-Length: %d\r\n", fr.Len())
		}
		if m.Time > 0 {
			sec, frac := math.Modf(m.Time)
			t := time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
			ts := t.Format(netTime)
			fmt.Fprintf(&b, "DoneRead: %s\r\nBeginSend: %s\r\nDoneSend: %s\r\n", ts, ts, ts)
		}
		b.WriteString("\r\n")
		b.Write(fr.Bytes())
		b.WriteString("\r\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}
