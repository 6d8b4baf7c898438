package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/record"
	"github.com/idtrace/idtrace/internal/trace"
)

// oddUpstream answers every request with response headers in an odd order
// and case, duplicates included, over plain HTTP.
func oddUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body)
					io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nx-ms-request-id: 5c1c7c44-0000-4000-8000-000000000001\r\n"+
						"Set-Cookie: fpc=a; path=/\r\ncontent-type: application/json\r\nset-cookie: x-ms-gateway-slice=estsfd; path=/\r\n"+
						"Content-Length: 83\r\n\r\n"+`{"error":"invalid_grant","error_description":"AADSTS50076: MFA required.","x":"y"}`+"\n")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// The files a proxy capture writes keep each request's and response's
// headers as they crossed the wire: order, case and duplicates.
func TestCaptureProxyKeepsWireHeaderOrder(t *testing.T) {
	for _, ext := range []string{"saz", "har"} {
		t.Run(ext, func(t *testing.T) {
			up := oddUpstream(t)
			out := filepath.Join(t.TempDir(), "order."+ext)
			rc := startCapture(t, out, "--quiet")
			c, err := net.Dial("tcp", rc.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			body := "client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&grant_type=refresh_token&refresh_token=not-a-token"
			wantReq := trace.Headers{{Name: "host", Value: up}, {Name: "x-client-SKU", Value: "MSAL.Python"}, {Name: "Accept", Value: "*/*"},
				{Name: "content-type", Value: "application/x-www-form-urlencoded"}, {Name: "X-Dup", Value: "1"}, {Name: "Content-Length", Value: fmt.Sprint(len(body))},
				{Name: "x-dup", Value: "2"}}
			var b strings.Builder
			fmt.Fprintf(&b, "POST http://%s/organizations/oauth2/v2.0/token HTTP/1.1\r\n", up)
			for _, h := range wantReq {
				fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
			}
			b.WriteString("\r\n" + body)
			io.WriteString(c, b.String())
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if code := rc.Stop(); code != 0 {
				t.Fatalf("capture exit %d: %s", code, rc.ErrOut.String())
			}
			_, flows := readAll(t, out)
			if len(flows) != 1 || flows[0].Response == nil {
				t.Fatalf("%d flows in %s", len(flows), out)
			}
			f := flows[0]
			if !slices.Equal(f.Request.Headers, wantReq) {
				t.Errorf("request headers in %s\n got %q\nwant %q", ext, f.Request.Headers, wantReq)
			}
			var names []string
			for _, h := range f.Response.Headers {
				names = append(names, h.Name)
			}
			if got := strings.Join(names, ","); got != "x-ms-request-id,Set-Cookie,content-type,set-cookie,Content-Length" {
				t.Errorf("response header names in %s: %s", ext, got)
			}
			if string(f.Request.Body) != body || f.Response.Status != 400 || !strings.Contains(string(f.Response.Body), "AADSTS50076") {
				t.Errorf("bodies: request %d bytes, response %d %d bytes", len(f.Request.Body), f.Response.Status, len(f.Response.Body))
			}
			// The analysis reads the same flow: the AADSTS error is found.
			code, stdout, _ := run(t, "", "analyze", "--format", "json", out)
			if code != 0 || !strings.Contains(stdout, "50076") {
				t.Errorf("analyze on %s: exit %d, no AADSTS50076 finding", ext, code)
			}
		})
	}
}

// When the live viewer cannot start, the capture fails without leaving the
// proxy's port open or a journal behind.
func TestCaptureUIFailureClosesProxy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "ui.har")
	addr := freeAddr(t)
	code, _, stderr := run(t, "", "capture", "-o", out, "--listen", addr, "--ca-dir", filepath.Join(dir, "ca"),
		"--ui", "--no-open", "--ui-addr", busy.Addr().String(), "--quiet")
	if code != 1 || !strings.Contains(stderr, "--ui") {
		t.Fatalf("capture with a busy viewer port: exit %d: %s", code, stderr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the proxy's port %s is still open after the viewer failed: %v", addr, err)
	}
	ln.Close()
	if _, err := os.Stat(record.JournalPath(out)); !os.IsNotExist(err) {
		t.Errorf("journal left behind: %v", err)
	}
}
