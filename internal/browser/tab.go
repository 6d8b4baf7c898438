package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"

	"github.com/idtrace/idtrace/internal/trace"
)

// tab records one page target. The chromedp listener only queues events;
// one goroutine per tab handles them in order and may send commands (to
// read bodies).
type tab struct {
	s  *session
	id target.ID
	// recorded is false for the pages that were open before the capture.
	recorded bool
	goneOnce sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
	// raw is the session of a page the browser auto-attached (nil for the
	// first tab and for tabs with a chromedp context).
	raw *rawSession
	// top is, for a cross-site iframe, the page tab that embeds it (nil
	// for a page). An iframe's flows belong to that page's current page.
	top *tab
	// worker is the target type of a service or shared worker
	// ("service_worker", "shared_worker"; "" for pages and iframes): its
	// own requests are recorded, marked with _workerType.
	worker string
	// pageID is the ID of the tab's current page ("" before the first).
	pageID atomic.Pointer[string]

	mu      sync.Mutex
	queue   []any
	wake    chan struct{}
	stopped bool
	exited  chan struct{}

	reqs map[network.RequestID]*pending
	page *pageState
}

// pending is a request seen but not yet complete.
type pending struct {
	flow      *trace.Flow
	wallStart float64 // seconds since the epoch
	monoStart float64 // the browser's monotonic seconds at the start
	timing    *network.ResourceTiming
	extraReq  network.Headers
	extraResp network.Headers
	respText  string
	assoc     []*network.AssociatedCookie
	blocked   []*network.BlockedSetCookieWithReason
	ws        bool
	sse       []json.RawMessage
	hasPost   bool
	encoded   float64
	// alt is the other tab that reported this navigation request (a
	// cross-site iframe's, whose page recorded it): bodies read on the
	// tab's session that fail are read on alt's.
	alt *tab
	// hasExtra: the browser announced the ExtraInfo events (the headers
	// as sent and received, with the cookies), which can arrive after the
	// request finished loading.
	hasExtra bool
	// ended holds how the request ended while its ExtraInfo events were
	// still due; it is reported when they are in (or after extraWait).
	ended *ending
}

// ending is how a request ended: its error text ("" when it loaded), with
// its bodies already read.
type ending struct{ errText string }

// extraWait is how long a request that has finished waits for its
// ExtraInfo events before it is reported without them.
const extraWait = 3 * time.Second

// extraDue is queued extraWait after a request ended with ExtraInfo due.
type extraDue struct {
	id network.RequestID
	p  *pending
}

// extraMissing reports whether announced ExtraInfo events are not all in.
func (p *pending) extraMissing() bool {
	return p.hasExtra && (p.extraReq == nil || p.extraResp == nil)
}

type pageState struct {
	p         trace.Page
	monoStart float64
}

// window reports whether the tab is a window (a tab or pop-up) whose
// closing counts towards the end of the capture.
func (t *tab) window() bool { return t.top == nil && t.worker == "" }

func (t *tab) start() {
	t.wake = make(chan struct{}, 1)
	t.exited = make(chan struct{})
	t.reqs = map[network.RequestID]*pending{}
	go t.loop()
}

// listen queues an event; it runs in chromedp's read loop and never blocks.
func (t *tab) listen(ev any) {
	if o := t.s.navOwner(t, ev); o != t {
		o.push(shared{ev: ev, from: t})
		return
	}
	switch ev.(type) {
	case *network.EventRequestWillBeSent, *network.EventResponseReceived, *network.EventLoadingFinished,
		*network.EventLoadingFailed, *network.EventRequestWillBeSentExtraInfo, *network.EventResponseReceivedExtraInfo,
		*network.EventRequestServedFromCache, *network.EventWebSocketCreated, *network.EventWebSocketWillSendHandshakeRequest,
		*network.EventWebSocketHandshakeResponseReceived, *network.EventWebSocketFrameSent, *network.EventWebSocketFrameReceived,
		*network.EventWebSocketClosed, *network.EventWebSocketFrameError, *network.EventEventSourceMessageReceived,
		*page.EventLoadEventFired, *page.EventDomContentEventFired:
	default:
		return
	}
	t.push(ev)
}

// push queues ev for the tab's loop.
func (t *tab) push(ev any) {
	t.mu.Lock()
	if !t.stopped {
		t.queue = append(t.queue, ev)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// stop handles what is queued, reports the requests still open as
// interrupted, and ends the loop. It is safe to call more than once.
func (t *tab) stop() {
	if t.wake == nil {
		return
	}
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		<-t.exited
		return
	}
	t.stopped = true
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	<-t.exited
}

func (t *tab) loop() {
	defer close(t.exited)
	for {
		<-t.wake
		for {
			t.mu.Lock()
			q := t.queue
			t.queue = nil
			stopped := t.stopped
			t.mu.Unlock()
			if len(q) == 0 {
				if stopped {
					t.flushAll()
					return
				}
				break
			}
			for _, ev := range q {
				t.handle(ev)
			}
		}
	}
}

// flushAll reports every open request as interrupted and the open page.
func (t *tab) flushAll() {
	ids := make([]network.RequestID, 0, len(t.reqs))
	for id := range t.reqs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return t.reqs[ids[i]].flow.ID < t.reqs[ids[j]].flow.ID })
	for _, id := range ids {
		p := t.reqs[id]
		if p.ended != nil {
			t.complete(id, p, p.ended.errText, false)
			continue
		}
		if p.ws {
			t.complete(id, p, "", false)
			continue
		}
		t.complete(id, p, "the capture stopped before the response completed", false)
	}
	if t.page != nil {
		t.s.emitPage(t.page.p)
		t.page = nil
	}
}

// shared is an event about a request that another tab (from) reported
// too: the page of a cross-site iframe and the iframe itself both see the
// iframe's document request, a page and its shared worker the worker's
// script. The tab that saw it first records it.
type shared struct {
	ev   any
	from *tab
}

// navOwner returns the tab that records the request ev is about: t, unless
// another tab reported the request first. A request is claimed by the
// first tab that reports it being sent.
func (s *session) navOwner(t *tab, ev any) *tab {
	id := requestID(ev)
	_, claim := ev.(*network.EventRequestWillBeSent)
	if id == "" {
		return t
	}
	s.navMu.Lock()
	defer s.navMu.Unlock()
	if o := s.navs[id]; o != nil {
		return o
	}
	if claim {
		if s.navs == nil {
			s.navs = map[network.RequestID]*tab{}
		}
		s.navs[id] = t
	}
	return t
}

// requestID is the request an HTTP request event is about ("" for other
// events).
func requestID(ev any) network.RequestID {
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		return e.RequestID
	case *network.EventRequestWillBeSentExtraInfo:
		return e.RequestID
	case *network.EventResponseReceived:
		return e.RequestID
	case *network.EventResponseReceivedExtraInfo:
		return e.RequestID
	case *network.EventLoadingFinished:
		return e.RequestID
	case *network.EventLoadingFailed:
		return e.RequestID
	case *network.EventRequestServedFromCache:
		return e.RequestID
	}
	return ""
}

func (t *tab) handle(ev any) {
	if sh, ok := ev.(shared); ok {
		// Body reads go to the session that reported the request's end.
		p := t.reqs[requestID(sh.ev)]
		if p != nil {
			p.alt = sh.from
		}
		if rw, ok := sh.ev.(*network.EventRequestWillBeSent); ok && p != nil && rw.RedirectResponse == nil {
			return // the same request, announced by the other session too
		}
		ev = sh.ev
	}
	if d, ok := ev.(extraDue); ok {
		if p := t.reqs[d.id]; p == d.p && p.ended != nil {
			t.complete(d.id, p, p.ended.errText, false)
		}
		return
	}
	t.s.touch()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		if p := t.reqs[e.RequestID]; p != nil && e.RedirectResponse != nil {
			p.flow.Response = t.response(e.RedirectResponse, p)
			p.flow.Response.RedirectURL = e.Request.URL
			t.finishTimings(p, float64(e.Timestamp))
			p.encoded = e.RedirectResponse.EncodedDataLength
			t.complete(e.RequestID, p, "", false)
		}
		t.begin(e)
	case *network.EventRequestWillBeSentExtraInfo:
		if p := t.reqs[e.RequestID]; p != nil {
			p.extraReq = e.Headers
			p.assoc = e.AssociatedCookies
			t.extraArrived(e.RequestID, p)
		}
	case *network.EventResponseReceived:
		if p := t.reqs[e.RequestID]; p != nil && e.Response != nil {
			p.flow.Response = t.response(e.Response, p)
			p.flow.Extra = setExt(p.flow.Extra, "_resourceType", strings.ToLower(string(e.Type)))
			p.hasExtra = e.HasExtraInfo
		}
	case *network.EventResponseReceivedExtraInfo:
		if p := t.reqs[e.RequestID]; p != nil {
			p.extraResp = e.Headers
			p.respText = e.HeadersText
			p.blocked = e.BlockedCookies
			if p.flow.Response != nil {
				applyRespHeaders(p)
			}
			t.extraArrived(e.RequestID, p)
		}
	case *network.EventRequestServedFromCache:
		if p := t.reqs[e.RequestID]; p != nil {
			p.flow.Extra = setExt(p.flow.Extra, "_fromCache", "memory")
		}
	case *network.EventLoadingFinished:
		if p := t.reqs[e.RequestID]; p != nil && p.ended == nil {
			p.encoded = e.EncodedDataLength
			t.finishTimings(p, float64(e.Timestamp))
			if p.extraMissing() {
				t.readBodies(e.RequestID, p, true)
				t.await(e.RequestID, p, "")
				return
			}
			t.complete(e.RequestID, p, "", true)
		}
	case *network.EventLoadingFailed:
		if p := t.reqs[e.RequestID]; p != nil && p.ended == nil {
			t.finishTimings(p, float64(e.Timestamp))
			msg := e.ErrorText
			if e.BlockedReason != "" {
				msg += " (blocked: " + string(e.BlockedReason) + ")"
			}
			if e.Canceled && msg == "" {
				msg = "canceled"
			}
			if p.extraMissing() {
				t.readBodies(e.RequestID, p, false)
				t.await(e.RequestID, p, msg)
				return
			}
			t.complete(e.RequestID, p, msg, false)
		}
	case *network.EventWebSocketCreated:
		f := t.newFlow("GET", e.URL)
		f.Request.Proto = "HTTP/1.1"
		p := &pending{flow: f, ws: true, wallStart: float64(time.Now().UnixNano()) / 1e9}
		f.Started = time.Now()
		f.WebSocket = []trace.WSMessage{}
		if e.Initiator != nil {
			f.Extra = setExt(f.Extra, "_initiator", e.Initiator)
		}
		f.Extra = setExt(f.Extra, "_resourceType", "websocket")
		t.reqs[e.RequestID] = p
		t.s.inflight.Add(1)
	case *network.EventWebSocketWillSendHandshakeRequest:
		if p := t.reqs[e.RequestID]; p != nil && e.Request != nil {
			p.flow.Request.Headers = headers(e.Request.Headers)
			p.monoStart = float64(e.Timestamp)
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		if p := t.reqs[e.RequestID]; p != nil && e.Response != nil {
			p.flow.Response = &trace.Response{Status: int(e.Response.Status), Reason: e.Response.StatusText, Proto: "HTTP/1.1",
				Headers: headers(e.Response.Headers), Size: 0}
			if e.Response.RequestHeaders != nil {
				p.flow.Request.Headers = headers(e.Response.RequestHeaders)
			}
		}
	case *network.EventWebSocketFrameSent:
		t.frame(e.RequestID, "send", float64(e.Timestamp), e.Response)
	case *network.EventWebSocketFrameReceived:
		t.frame(e.RequestID, "receive", float64(e.Timestamp), e.Response)
	case *network.EventWebSocketFrameError:
		if p := t.reqs[e.RequestID]; p != nil {
			p.flow.Comment = "WebSocket error: " + e.ErrorMessage
		}
	case *network.EventWebSocketClosed:
		if p := t.reqs[e.RequestID]; p != nil {
			t.complete(e.RequestID, p, "", false)
		}
	case *network.EventEventSourceMessageReceived:
		if p := t.reqs[e.RequestID]; p != nil {
			b, _ := json.Marshal(map[string]any{"time": t.wall(p, float64(e.Timestamp)), "eventName": e.EventName, "eventId": e.EventID, "data": e.Data})
			p.sse = append(p.sse, b)
		}
	case *page.EventDomContentEventFired:
		if t.page != nil {
			t.page.p.OnContentLoad = math.Round((float64(e.Timestamp)-t.page.monoStart)*1e6) / 1e3
		}
	case *page.EventLoadEventFired:
		if t.page != nil {
			t.page.p.OnLoad = math.Round((float64(e.Timestamp)-t.page.monoStart)*1e6) / 1e3
		}
	}
}

// wall converts the browser's monotonic seconds to seconds since the epoch
// using the request's start as the reference.
func (t *tab) wall(p *pending, mono float64) float64 {
	return p.wallStart + (mono - p.monoStart)
}

func (t *tab) frame(id network.RequestID, dir string, ts float64, fr *network.WebSocketFrame) {
	p := t.reqs[id]
	if p == nil || fr == nil {
		return
	}
	m := trace.WSMessage{Type: dir, Time: t.wall(p, ts), Opcode: int(fr.Opcode)}
	if m.Opcode == 1 || utf8.Valid(fr.PayloadData) && m.Opcode != 2 {
		m.Data = string(fr.PayloadData)
	} else {
		m.Data = base64.StdEncoding.EncodeToString(fr.PayloadData)
	}
	p.flow.WebSocket = append(p.flow.WebSocket, m)
}

func (t *tab) newFlow(method, url string) *trace.Flow {
	f := &trace.Flow{
		ID:      int(t.s.seq.Add(1)),
		Time:    trace.NA,
		Timings: trace.NoTimings(),
		Request: &trace.Request{Method: method, URL: url, HeadersSize: -1, BodySize: 0},
	}
	if t.top != nil {
		if id := t.top.pageID.Load(); id != nil {
			f.PageRef = *id
		}
	} else if t.page != nil {
		f.PageRef = t.page.p.ID
	}
	return f
}

func (t *tab) begin(e *network.EventRequestWillBeSent) {
	if e.Request == nil {
		return
	}
	if e.Type == network.ResourceTypeDocument && string(e.FrameID) == string(t.id) && t.top == nil {
		if t.page != nil {
			t.s.emitPage(t.page.p)
		}
		n := t.s.pageSeq.Add(1)
		t.page = &pageState{p: trace.Page{ID: fmt.Sprintf("page_%d", n), Title: e.Request.URL,
			Started: wallTime(float64(e.WallTime)), OnContentLoad: trace.NA, OnLoad: trace.NA}, monoStart: float64(e.Timestamp)}
		t.pageID.Store(&t.page.p.ID)
	}
	// A document in the tab's main frame (whose frame ID is the target ID
	// in Chromium) starts a page, above. The URL has no fragment, as in
	// DevTools' HAR.
	f := t.newFlow(e.Request.Method, e.Request.URL)
	f.Started = wallTime(float64(e.WallTime))
	f.Request.Headers = headers(e.Request.Headers)
	f.Request.MimeType = f.Request.Headers.Get("Content-Type")
	for _, d := range e.Request.PostDataEntries {
		f.Request.Body = append(f.Request.Body, d.Bytes...)
	}
	f.Request.BodySize = int64(len(f.Request.Body))
	if e.Initiator != nil {
		f.Extra = setExt(f.Extra, "_initiator", e.Initiator)
	}
	if e.Request.InitialPriority != "" {
		f.Extra = setExt(f.Extra, "_priority", string(e.Request.InitialPriority))
	}
	if e.Type != "" {
		f.Extra = setExt(f.Extra, "_resourceType", strings.ToLower(string(e.Type)))
	}
	if t.worker != "" {
		f.Extra = setExt(f.Extra, "_workerType", t.worker)
	}
	t.reqs[e.RequestID] = &pending{flow: f, wallStart: float64(e.WallTime), monoStart: float64(e.Timestamp), hasPost: e.Request.HasPostData}
	t.s.inflight.Add(1)
}

func wallTime(sec float64) time.Time {
	if sec <= 0 {
		return time.Now()
	}
	s, frac := math.Modf(sec)
	return time.Unix(int64(s), int64(math.Round(frac*1e3))*int64(time.Millisecond))
}

func (t *tab) response(r *network.Response, p *pending) *trace.Response {
	resp := &trace.Response{
		Status:      int(r.Status),
		Reason:      r.StatusText,
		Proto:       protoName(r.Protocol),
		Headers:     headers(r.Headers),
		MimeType:    r.MimeType,
		Size:        -1,
		HeadersSize: -1,
		BodySize:    -1,
	}
	if resp.Proto != "" {
		p.flow.Request.Proto = resp.Proto
	}
	if r.RemoteIPAddress != "" {
		p.flow.ServerAddr = strings.Trim(r.RemoteIPAddress, "[]")
	}
	if r.ConnectionID > 0 {
		p.flow.Connection = fmt.Sprint(int64(r.ConnectionID))
	}
	if r.RequestHeaders != nil {
		p.flow.Request.Headers = headers(r.RequestHeaders)
	}
	if r.Timing != nil {
		p.timing = r.Timing
	}
	if r.FromDiskCache {
		p.flow.Extra = setExt(p.flow.Extra, "_fromCache", "disk")
	}
	if r.FromServiceWorker {
		resp.Extra = setExt(resp.Extra, "_fetchedViaServiceWorker", true)
	}
	if p.extraResp != nil {
		p.flow.Response = resp
		applyRespHeaders(p)
	}
	return resp
}

// applyRespHeaders prefers the headers as received on the wire (they hold
// Set-Cookie lines the renderer's copy can lack).
func applyRespHeaders(p *pending) {
	if p.extraResp == nil || p.flow.Response == nil {
		return
	}
	p.flow.Response.Headers = headers(p.extraResp)
	if p.respText != "" {
		p.flow.Response.HeadersSize = int64(len(p.respText))
	}
}

func protoName(p string) string {
	switch strings.ToLower(p) {
	case "":
		return ""
	case "h2":
		return "HTTP/2"
	case "h3":
		return "HTTP/3"
	case "http/1.1":
		return "HTTP/1.1"
	case "http/1.0":
		return "HTTP/1.0"
	}
	return p
}

// finishTimings fills the HAR timings from the resource timing, as DevTools
// computes them, with end the browser's monotonic time of the last byte.
func (t *tab) finishTimings(p *pending, end float64) {
	f := p.flow
	total := (end - p.monoStart) * 1000
	if total < 0 {
		total = 0
	}
	tm := p.timing
	if tm == nil {
		f.Timings = trace.NoTimings()
		f.Timings.Send, f.Timings.Wait, f.Timings.Receive = 0, round3(total), 0
		f.Time = round3(total)
		return
	}
	base := (tm.RequestTime - p.monoStart) * 1000 // ms from the request's start to the timing baseline
	ms := func(v float64) float64 { return v }
	first := func(vs ...float64) float64 {
		for _, v := range vs {
			if v >= 0 {
				return v
			}
		}
		return 0
	}
	ts := trace.NoTimings()
	ts.Blocked = round3(base + first(ms(tm.DNSStart), tm.ConnectStart, tm.SendStart))
	if tm.DNSStart >= 0 && tm.DNSEnd >= 0 {
		ts.DNS = round3(tm.DNSEnd - tm.DNSStart)
	}
	if tm.ConnectStart >= 0 && tm.ConnectEnd >= 0 {
		ts.Connect = round3(tm.ConnectEnd - tm.ConnectStart)
	}
	if tm.SslStart >= 0 && tm.SslEnd >= 0 {
		ts.SSL = round3(tm.SslEnd - tm.SslStart)
	}
	ts.Send = round3(math.Max(0, tm.SendEnd-tm.SendStart))
	ts.Wait = round3(math.Max(0, tm.ReceiveHeadersEnd-tm.SendEnd))
	ts.Receive = round3(math.Max(0, total-base-tm.ReceiveHeadersEnd))
	if ts.Blocked < 0 {
		ts.Blocked = 0
	}
	f.Timings = ts
	f.Time = round3(ts.Total())
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// complete reads the bodies when asked, fills the fields known only at the
// end and reports the flow.
func (t *tab) complete(id network.RequestID, p *pending, errText string, readBody bool) {
	delete(t.reqs, id)
	t.s.inflight.Add(-1)
	f := p.flow
	if p.extraReq != nil && !p.ws {
		f.Request.Headers = headers(p.extraReq)
	}
	if p.ended == nil {
		t.readBodies(id, p, readBody)
	}
	if f.Response != nil {
		r := f.Response
		if names := blockedResponseCookies(p.blocked); names != nil {
			r.Extra = setExt(r.Extra, "_blockedResponseCookies", names)
		}
		r.Extra = setExt(r.Extra, "_transferSize", int64(p.encoded))
		r.Size = int64(len(r.Body))
		r.BodySize = int64(len(r.Body))
		if p.encoded > 0 && !r.BodyOmitted {
			r.BodySize = int64(p.encoded)
			if p.respText != "" {
				r.BodySize = max(int64(p.encoded)-int64(len(p.respText)), 0)
			}
		}
		if r.MimeType == "" {
			r.MimeType = r.Headers.Get("Content-Type")
		}
	}
	if names := blockedRequestCookies(p.assoc); names != nil {
		f.Extra = setExt(f.Extra, "_blockedRequestCookies", names)
	}
	t.finishFlow(p, errText)
}

// await holds a request that ended until its ExtraInfo events are in, or
// extraWait has passed.
func (t *tab) await(id network.RequestID, p *pending, errText string) {
	p.ended = &ending{errText: errText}
	time.AfterFunc(extraWait, func() { t.push(extraDue{id: id, p: p}) })
}

// extraArrived reports a request that was waiting for its ExtraInfo events
// once they are all in.
func (t *tab) extraArrived(id network.RequestID, p *pending) {
	if p.ended != nil && !p.extraMissing() {
		t.complete(id, p, p.ended.errText, false)
	}
}

// readBodies reads the request body the event did not carry and, when
// readBody is set, the response body, while the browser still has them.
func (t *tab) readBodies(id network.RequestID, p *pending, readBody bool) {
	f := p.flow
	if p.hasPost && len(f.Request.Body) == 0 {
		if r, err := callEither(t, p, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: id}); err == nil {
			f.Request.Body = r.PostData
			f.Request.BodySize = int64(len(r.PostData))
		}
	}
	if len(f.Request.Body) > 0 && f.Request.MimeType == "" {
		f.Request.MimeType = "application/octet-stream"
	}
	if int64(len(f.Request.Body)) > t.s.o.MaxBody {
		f.Request.Body = f.Request.Body[:t.s.o.MaxBody]
		f.Flags = append(f.Flags, trace.Flag{Name: "x-idtrace-truncated", Value: "request"})
	}
	if r := f.Response; r != nil {
		if readBody && r.Status != 204 && r.Status != 304 && !(r.Status >= 300 && r.Status < 400) {
			b, err := callEither(t, p, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
			if err == nil {
				r.Body = b.Body
				if int64(len(r.Body)) > t.s.o.MaxBody {
					r.Body = r.Body[:t.s.o.MaxBody]
					f.Flags = append(f.Flags, trace.Flag{Name: "x-idtrace-truncated", Value: "response"})
				}
			} else {
				r.BodyOmitted = true
				t.s.logf("browser: flow %d: body not available: %v", f.ID, err)
			}
		}
	}
}

// callEither runs cmd on the session of p.alt, the other tab that reported
// the request, then on t's if that failed (or on t's alone).
func callEither[P, R any](t *tab, p *pending, cmd cdp.Command[P, R], params P) (R, error) {
	if p.alt == nil {
		return call(t, cmd, params)
	}
	r, err := call(p.alt, cmd, params)
	if err == nil {
		return r, nil
	}
	return call(t, cmd, params)
}

// finishFlow fills what is known only at the end and reports the flow.
func (t *tab) finishFlow(p *pending, errText string) {
	f := p.flow
	if len(p.sse) > 0 {
		b, _ := json.Marshal(p.sse)
		f.Extra = append(f.Extra, trace.Extension{Name: "_eventSourceMessages", JSON: b})
	}
	if errText != "" {
		if f.Response == nil || f.Response.Status == 0 {
			f.Response = nil
			f.Error = errText
		} else {
			// The response had begun: keep it and say how it ended.
			f.Comment = strings.TrimSpace(f.Comment + " " + "loading ended with an error: " + errText)
		}
	} else if f.Response == nil && !p.ws {
		f.Error = "no response"
	} else if f.Response == nil && p.ws {
		f.Error = "the WebSocket handshake did not complete"
	}
	if p.ws && f.Time == trace.NA {
		f.Time = round3(math.Max(0, float64(time.Since(f.Started))/1e6))
		f.Timings = trace.NoTimings()
		f.Timings.Send, f.Timings.Wait, f.Timings.Receive = 0, f.Time, 0
	}
	t.s.emit(f)
}

func blockedRequestCookies(cs []*network.AssociatedCookie) []map[string]any {
	var out []map[string]any
	for _, c := range cs {
		if c == nil || len(c.BlockedReasons) == 0 || c.Cookie == nil {
			continue
		}
		out = append(out, map[string]any{"name": c.Cookie.Name, "domain": c.Cookie.Domain, "reasons": c.BlockedReasons})
	}
	return out
}

func blockedResponseCookies(cs []*network.BlockedSetCookieWithReason) []map[string]any {
	var out []map[string]any
	for _, c := range cs {
		if c == nil {
			continue
		}
		name := c.CookieLine
		if i := strings.IndexByte(name, '='); i >= 0 {
			name = name[:i] // the name only: never the value
		}
		if c.Cookie != nil {
			name = c.Cookie.Name
		}
		out = append(out, map[string]any{"name": name, "reasons": c.BlockedReasons})
	}
	return out
}

// headers turns a DevTools header object (values joined with "\n") into
// an ordered list, sorted by name for stable output.
func headers(h network.Headers) trace.Headers {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out trace.Headers
	for _, k := range names {
		v := fmt.Sprint(h[k])
		for _, line := range strings.Split(v, "\n") {
			out = append(out, trace.Header{Name: k, Value: line})
		}
	}
	return out
}

// setExt sets a vendor field to v's JSON, replacing an earlier value.
func setExt(x trace.Extensions, name string, v any) trace.Extensions {
	b, err := json.Marshal(v)
	if err != nil {
		return x
	}
	for i := range x {
		if x[i].Name == name {
			x[i].JSON = b
			return x
		}
	}
	return append(x, trace.Extension{Name: name, JSON: b})
}
