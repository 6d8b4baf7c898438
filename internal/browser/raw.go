package browser

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// A new page (a pop-up window, a tab the page opens) is recorded on the
// session the browser attached it with when it auto-attaches (see Capture):
// the page waits there, before its first request, until the recorder has
// turned recording on and lets it run. chromedp hands the messages of a
// session only to the targets it attached itself and drops the others, so
// the connection to the browser goes through tap, which takes the messages
// of these sessions out of the stream before chromedp reads it and writes
// their commands beside chromedp's.

// tap wraps the connection to the browser.
type tap struct {
	chromedp.Transport
	s *session
}

// Read returns the next message that is chromedp's. It runs in chromedp's
// read loop: what it does with the other messages never blocks.
func (tp *tap) Read(ctx context.Context, msg *cdproto.Message) error {
	for {
		m := new(cdproto.Message)
		if err := tp.Transport.Read(ctx, m); err != nil {
			return err
		}
		switch m.Method {
		case cdproto.EventTargetAttachedToTarget:
			// Known before any message of the new session is read. A
			// page is attached by the browser (no session); a
			// cross-site iframe or a worker by the session of its page.
			e := new(target.EventAttachedToTarget)
			if err := jsonv2.Unmarshal(m.Params, e, chromedp.DefaultUnmarshalOptions); err == nil && e.WaitingForDebugger {
				tp.s.autoAttached(e, m.SessionID)
			}
		case cdproto.EventTargetDetachedFromTarget:
			if m.SessionID != "" {
				// A child session (an iframe's) ended: its parent's
				// session says so, not the browser.
				e := new(target.EventDetachedFromTarget)
				if err := jsonv2.Unmarshal(m.Params, e, chromedp.DefaultUnmarshalOptions); err == nil {
					tp.s.childDetached(e.SessionID)
				}
			}
		}
		if m.SessionID != "" {
			tp.s.mu.Lock()
			r := tp.s.raws[m.SessionID]
			tp.s.mu.Unlock()
			if r != nil {
				r.receive(m)
				continue
			}
		}
		*msg = *m
		return nil
	}
}

// errSessionGone is returned by a command on a session that was detached
// (the page closed) before it answered.
var errSessionGone = errors.New("the page's session ended")

type rawSession struct {
	s  *session
	id target.SessionID
	t  *tab

	next    atomic.Int64
	mu      sync.Mutex
	replies map[int64]chan *cdproto.Message
	gone    chan struct{}
	once    sync.Once
}

func newRawSession(s *session, id target.SessionID, t *tab) *rawSession {
	// Apart from chromedp's own message IDs, which count from 1 (the
	// browser reads an ID as a 32-bit integer).
	r := &rawSession{s: s, id: id, t: t, replies: map[int64]chan *cdproto.Message{}, gone: make(chan struct{})}
	r.next.Store(1 << 30)
	return r
}

// call sends a command on the session and decodes its result into res.
func (r *rawSession) call(ctx context.Context, method string, params, res any) error {
	wait, err := r.send(ctx, method, params)
	if err != nil {
		return err
	}
	return wait(ctx, res)
}

// send writes a command on the session; wait then waits for its reply and
// decodes its result into res. Commands sent one after the other reach the
// browser in that order, without waiting for each reply: a page the browser
// holds answers some (Network.enable of a window opened with noopener) only
// once it runs, yet applies them to its first request.
func (r *rawSession) send(ctx context.Context, method string, params any) (wait func(ctx context.Context, res any) error, err error) {
	id := r.next.Add(1)
	msg := &cdproto.Message{ID: id, SessionID: r.id, Method: cdproto.MethodType(method)}
	if params != nil {
		b, err := jsonv2.Marshal(params, chromedp.DefaultMarshalOptions)
		if err != nil {
			return nil, err
		}
		msg.Params = b
	}
	ch := make(chan *cdproto.Message, 1)
	r.mu.Lock()
	r.replies[id] = ch
	r.mu.Unlock()
	done := func() {
		r.mu.Lock()
		delete(r.replies, id)
		r.mu.Unlock()
	}
	if err := r.s.tap.Write(ctx, msg); err != nil {
		done()
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return func(ctx context.Context, res any) error {
		defer done()
		select {
		case m := <-ch:
			if m.Error != nil {
				return fmt.Errorf("%s: %w", method, m.Error)
			}
			if res != nil && len(m.Result) > 0 {
				return jsonv2.Unmarshal(m.Result, res, chromedp.DefaultUnmarshalOptions)
			}
			return nil
		case <-r.gone:
			return fmt.Errorf("%s: %w", method, errSessionGone)
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// receive handles one message of the session, in chromedp's read loop: a
// reply goes to its caller, an event to the tab. It never blocks.
func (r *rawSession) receive(m *cdproto.Message) {
	if m.ID != 0 {
		r.mu.Lock()
		ch := r.replies[m.ID]
		r.mu.Unlock()
		if ch != nil {
			ch <- m
		}
		return
	}
	if m.Method == "" || r.t == nil {
		return
	}
	ev, err := cdproto.UnmarshalMessage(m, chromedp.DefaultUnmarshalOptions)
	if err != nil {
		return // an event this version of the protocol definitions does not know
	}
	r.t.listen(ev)
}

// detached ends the commands still waiting for a reply.
func (r *rawSession) detached() { r.once.Do(func() { close(r.gone) }) }

// call runs cmd on the tab's session: its raw session for a page the
// browser auto-attached, its chromedp context otherwise.
func call[P, R any](t *tab, cmd cdp.Command[P, R], params P) (R, error) {
	if t.raw != nil {
		var res R
		err := t.raw.call(t.ctx, cmd.Method, params, &res)
		return res, err
	}
	return chromedp.Call(t.ctx, cmd, params)
}
