package testutil

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/net/websocket"
)

// SignInSiteBigSize is the size of the body SignInSite serves at /big.
const SignInSiteBigSize = 6 << 20

// SignInSite serves what a sign-in page makes a browser do, for the tests
// that capture a browser (idtrace's recorder and Playwright's): /start
// redirects twice to a form that posts itself, the posted page then calls
// fetch and XHR, opens a WebSocket, downloads /big, opens a pop-up window and
// registers a service worker that answers /via-sw itself and /via-sw-net
// with a fetch of its own, and finally fetches /done.
func SignInSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hop?x=1", http.StatusFound)
	})
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/form", http.StatusSeeOther)
	})
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>form</title>
<form id=f method=post action="/post"><input name=user value="alice@example.test"><input name=code value="abc123"></form>
<script>document.getElementById('f').submit()</script>`)
	})
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>posted</title><p>got %d bytes</p>
<script>
(async () => {
  const r = await fetch('/api/token', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({grant: 'code', n: 42})});
  await r.text();
  await new Promise(res => { const x = new XMLHttpRequest(); x.open('GET', '/api/xhr?q=1'); x.onload = res; x.onerror = res; x.send(); });
  await new Promise(res => {
    const ws = new WebSocket('ws://' + location.host + '/ws');
    ws.onopen = () => ws.send('hello ws');
    ws.onmessage = e => { ws.close(); res(); };
    ws.onerror = res;
  });
  const big = await fetch('/big'); await big.arrayBuffer();
  window.open('/popup', 'signin', 'width=400,height=400');
  try {
    await navigator.serviceWorker.register('/sw.js');
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) await new Promise(res => navigator.serviceWorker.addEventListener('controllerchange', res));
    await (await fetch('/via-sw')).text();
    await (await fetch('/via-sw-net')).text();
  } catch (e) { await fetch('/sw-failed?e=' + encodeURIComponent(e)); }
  await fetch('/done');
})();
</script>`, len(body))
	})
	mux.HandleFunc("/api/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"not-a-real-token","token_type":"Bearer"}`)
	})
	mux.HandleFunc("/api/xhr", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "xhr answer")
	})
	mux.Handle("/ws", websocket.Handler(func(c *websocket.Conn) {
		var msg string
		if websocket.Message.Receive(c, &msg) == nil {
			websocket.Message.Send(c, "echo: "+msg)
		}
		var rest string
		websocket.Message.Receive(c, &rest)
	}))
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(bytes.Repeat([]byte("0123456789abcdef"), SignInSiteBigSize/16))
	})
	mux.HandleFunc("/popup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>popup</title><script>setTimeout(() => fetch('/popup-api').then(r => r.text()), 1000)</script>`)
	})
	mux.HandleFunc("/popup-api", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "popup answer")
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  const p = new URL(e.request.url).pathname;
  if (p === '/via-sw') e.respondWith(new Response('from sw'));
  if (p === '/via-sw-net') e.respondWith(fetch('/sw-net'));
});`)
	})
	mux.HandleFunc("/sw-net", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "fetched by the worker")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	return mux
}
