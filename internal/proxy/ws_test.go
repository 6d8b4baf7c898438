package proxy

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// writeFrame writes one WebSocket frame, masked when a client sends it.
func writeFrame(w io.Writer, fin bool, op byte, payload []byte, mask bool) error {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 65536:
		b = append(b, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if mask {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	_, err := w.Write(append(b, p...))
	return err
}

// readFrame reads one frame (unmasking it).
func readFrame(r io.Reader) (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var x [2]byte
		io.ReadFull(r, x[:])
		n = uint64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		io.ReadFull(r, x[:])
		n = binary.BigEndian.Uint64(x[:])
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		io.ReadFull(r, key[:])
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if h[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return
}

func acceptKey(k string) string {
	s := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(s[:])
}

// wsEcho is a minimal WebSocket server that echoes data frames and answers close.
func wsEcho(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Errorf("upstream got Sec-WebSocket-Extensions %q", r.Header.Get("Sec-WebSocket-Extensions"))
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acceptKey(r.Header.Get("Sec-WebSocket-Key")))
		brw.Flush()
		var msg []byte
		var msgOp byte
		for {
			fin, op, p, err := readFrame(brw)
			if err != nil {
				return
			}
			if op == 8 {
				writeFrame(c, true, 8, p, false)
				return
			}
			if op != 0 {
				msgOp = op
			}
			msg = append(msg, p...)
			if fin {
				writeFrame(c, true, msgOp, msg, false)
				msg = nil
			}
		}
	}
}

func TestWebSocketRelayRecordsMessages(t *testing.T) {
	up := httptest.NewTLSServer(wsEcho(t))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	host := strings.TrimPrefix(up.URL, "https://")

	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Cert)
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(tc, "GET /socket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", host, key)
	tr := bufio.NewReader(tc)
	resp, err = http.ReadResponse(tr, &http.Request{Method: "GET"})
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// A text message, a binary message in two fragments, then close.
	writeFrame(tc, true, 1, []byte("hello from the client"), true)
	if _, op, p, err := readFrame(tr); err != nil || op != 1 || string(p) != "hello from the client" {
		t.Fatalf("echo: op %d %q %v", op, p, err)
	}
	writeFrame(tc, false, 2, []byte{0, 1, 2}, true)
	writeFrame(tc, true, 0, []byte{3, 4}, true)
	if _, op, p, err := readFrame(tr); err != nil || op != 2 || len(p) != 5 {
		t.Fatalf("binary echo: op %d %v %v", op, p, err)
	}
	big := strings.Repeat("z", 70000)
	writeFrame(tc, true, 1, []byte(big), true)
	if _, _, p, err := readFrame(tr); err != nil || string(p) != big {
		t.Fatalf("large echo: %d bytes %v", len(p), err)
	}
	writeFrame(tc, true, 8, []byte{0x03, 0xe8}, true)
	readFrame(tr)
	tc.Close()

	f := h.next()
	if f.Response == nil || f.Response.Status != 101 {
		t.Fatalf("flow: %v %q", f.Response, f.Error)
	}
	want := []trace.WSMessage{
		{Type: "send", Opcode: 1, Data: "hello from the client"},
		{Type: "receive", Opcode: 1, Data: "hello from the client"},
		{Type: "send", Opcode: 2, Data: base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4})},
		{Type: "receive", Opcode: 2, Data: base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4})},
		{Type: "send", Opcode: 1, Data: big},
		{Type: "receive", Opcode: 1, Data: big},
		{Type: "send", Opcode: 8, Data: "1000"},
		{Type: "receive", Opcode: 8, Data: "1000"},
	}
	if len(f.WebSocket) != len(want) {
		t.Fatalf("%d messages recorded, want %d", len(f.WebSocket), len(want))
	}
	for i, m := range f.WebSocket {
		if m.Type != want[i].Type || m.Opcode != want[i].Opcode || m.Data != want[i].Data || m.Time <= 0 {
			t.Errorf("message %d: %s op %d %d bytes, want %s op %d %d bytes", i, m.Type, m.Opcode, len(m.Data), want[i].Type, want[i].Opcode, len(want[i].Data))
		}
	}
}

func FuzzWSParser(f *testing.F) {
	var b strings.Builder
	writeFrame(&b, true, 1, []byte("hi"), true)
	writeFrame(&b, false, 2, []byte{1, 2}, false)
	writeFrame(&b, true, 0, make([]byte, 300), false)
	f.Add([]byte(b.String()), 3)
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		var n int
		p := &wsParser{typ: "send", max: 64, add: func(m trace.WSMessage) {
			n++
			if len(m.Data) > 180 { // 64 data bytes or 125 control bytes, base64 encoded at most
				t.Fatalf("message of %d bytes recorded past the cap", len(m.Data))
			}
		}}
		if split <= 0 || split > len(data) {
			split = len(data)
		}
		for len(data) > 0 {
			k := min(split, len(data))
			p.Write(data[:k])
			data = data[k:]
		}
		if n > len(data)+1000 {
			t.Fatal("more messages than bytes")
		}
	})
}
