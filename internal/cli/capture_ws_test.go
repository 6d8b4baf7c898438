package cli

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/browser"
)

// wsEchoOnce answers a WebSocket upgrade (HTTP/1.1 only: it hijacks the
// connection) and echoes text messages until the client closes.
func wsEchoOnce(w http.ResponseWriter, r *http.Request) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "WebSocket needs HTTP/1.1 here: "+err.Error(), http.StatusHTTPVersionNotSupported)
		return
	}
	defer c.Close()
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	brw.Flush()
	for {
		var h [2]byte
		if _, err := io.ReadFull(brw, h[:]); err != nil {
			return
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			io.ReadFull(brw, b[:])
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(brw, b[:])
			n = binary.BigEndian.Uint64(b[:])
		}
		var mask [4]byte
		if h[1]&0x80 != 0 {
			io.ReadFull(brw, mask[:])
		}
		if n > 1<<16 {
			return
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(brw, p); err != nil {
			return
		}
		for i := range p {
			p[i] ^= mask[i%4]
		}
		op := h[0] & 0x0f
		if op == 8 {
			c.Write([]byte{0x88, 0})
			return
		}
		if op == 1 && n < 126 {
			c.Write(append([]byte{0x81, byte(n)}, p...))
		}
	}
}

// TestCaptureProxyBrowserWebSocketBesideHTTP2: a site that speaks HTTP/2
// and serves a WebSocket, visited by headless Chromium through the capture
// proxy. The page arrives over HTTP/2 on both sides; the proxy does not
// offer WebSockets over HTTP/2 (RFC 8441), so the browser opens its
// WebSocket on an HTTP/1.1 connection, and the socket's messages are in
// the trace.
func TestCaptureProxyBrowserWebSocketBesideHTTP2(t *testing.T) {
	exe, err := browser.Find(os.Getenv("IDTRACE_BROWSER"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			wsEchoOnce(w, r)
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><title>start</title><p>%s<script>
fetch('/api').then(r => r.text()).then(api => {
  const ws = new WebSocket('wss://' + location.host + '/ws');
  ws.onopen = () => ws.send('hello over ws');
  ws.onmessage = e => { document.title = 'got:' + e.data + ':' + api; ws.close(); };
});
</script>`, r.Proto)
		default:
			fmt.Fprint(w, r.Proto)
		}
	}))
	site.EnableHTTP2 = true
	site.StartTLS()
	defer site.Close()

	out := filepath.Join(t.TempDir(), "ws.har")
	rc := startCapture(t, out, "--insecure-upstream", "--quiet")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("proxy-server", "http://"+rc.Addr),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		// The browser takes the proxy's minted certificates without the CA
		// in a trust store (what 'idtrace ca install' would do for a user).
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(bctx, chromedp.Navigate(site.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(bctx, `document.title.startsWith('got:')`); err != nil {
		title, _ := chromedp.Run(bctx, chromedp.Title())
		t.Fatalf("%v (title %q); capture: %s", err, title, rc.ErrOut.String())
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "got:hello over ws:HTTP/2.0" {
		t.Errorf("page title %q: want the echo and an API answered over HTTP/2", title)
	}
	cancelB()
	cancelA()
	if code := rc.Stop(); code != 0 {
		t.Fatalf("capture exit %d: %s", code, rc.ErrOut.String())
	}
	_, flows := readAll(t, out)
	var page, ws bool
	for _, f := range flows {
		switch {
		case f.Request.URL == site.URL+"/":
			page = true
			if f.Request.Proto != "HTTP/2.0" || f.Response == nil || f.Response.Proto != "HTTP/2.0" {
				t.Errorf("the page went %s, answered %v: want HTTP/2 on both sides", f.Request.Proto, f.Response)
			}
		case strings.HasSuffix(f.Request.URL, "/ws"):
			ws = true
			if f.Request.Proto != "HTTP/1.1" || f.Response == nil || f.Response.Status != 101 {
				t.Fatalf("the WebSocket flow: %s, error %q", f.Request.Proto, f.Error)
			}
			var got []string
			for _, m := range f.WebSocket {
				if m.Opcode == 1 {
					got = append(got, m.Type+" "+m.Data)
				}
			}
			if strings.Join(got, "|") != "send hello over ws|receive hello over ws" {
				t.Errorf("WebSocket messages recorded: %q", got)
			}
		}
	}
	if !page || !ws {
		t.Fatalf("page flow %v, WebSocket flow %v among %d flows", page, ws, len(flows))
	}
}
