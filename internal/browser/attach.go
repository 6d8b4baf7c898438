package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// attachAllocator connects to a browser the user started with remote
// debugging, through a tap, as chromedp's remote allocator does without
// one. Canceling the capture closes the connection and leaves the browser
// running.
type attachAllocator struct {
	addr string // a DevTools address: see attachURL
	s    *session
	wg   sync.WaitGroup
}

// Allocate implements chromedp.Allocator.
func (a *attachAllocator) Allocate(ctx context.Context, opts ...chromedp.BrowserOption) (*chromedp.Browser, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	wsURL, err := browserWebSocket(dialCtx, a.addr)
	if err != nil {
		return nil, err
	}
	// The connection outlives ctx a little: the tabs the capture opened
	// are closed first (chromedp.Cancel), then the connection.
	wctx, closeConn := context.WithCancel(context.Background())
	a.wg.Go(func() {
		<-ctx.Done()
		chromedp.Cancel(ctx)
		closeConn()
	})
	c, err := remote.DialContext(dialCtx, wsURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", wsURL, err)
	}
	a.s.tap = &tap{Transport: c, s: a.s}
	return chromedp.NewBrowserTransport(wctx, a.s.tap, opts...)
}

// Wait implements chromedp.Allocator.
func (a *attachAllocator) Wait() { a.wg.Wait() }

// Attaches tells chromedp that the browser runs already.
func (a *attachAllocator) Attaches() bool { return true }

// browserWebSocket returns the browser's DevTools WebSocket address: addr
// itself when it is one, else what the browser's /json/version names.
func browserWebSocket(ctx context.Context, addr string) (string, error) {
	if strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://") {
		return addr, nil
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("attach: %q is not a DevTools address (a port, host:port or URL)", addr)
	}
	u.Path, u.RawQuery = "/json/version", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("attach: no browser with remote debugging at %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	var v struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&v); err != nil || v.WebSocketDebuggerURL == "" {
		return "", errors.New("attach: " + u.String() + " does not name the browser's DevTools WebSocket")
	}
	return v.WebSocketDebuggerURL, nil
}
