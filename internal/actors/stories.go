package actors

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// Story kinds.
const (
	StorySSPR         = "sspr"
	StorySecurityInfo = "security-info"
	StoryAdminReset   = "admin-password-reset"
	StoryWriteback    = "password-writeback"
	StoryPIM          = "pim-activation"
	StoryConsent      = "consent"
	StoryJIT          = "jit-provisioning"
	StorySignIn       = "sign-in"
)

// Step is one record of a story.
type Step struct {
	Time          time.Time `json:"time,omitzero"`
	Actor         string    `json:"actor"`
	Activity      string    `json:"activity"`
	Result        string    `json:"result,omitempty"`
	Detail        string    `json:"detail,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	// Source is file:line (or file:record N) of the record.
	Source string `json:"source"`
	// Role says what the step is in the story ("verification",
	// "reset", "writeback", "registration", "mfa-interrupt", ...).
	Role string `json:"role,omitempty"`
}

// Story is a multi-record operation told in plain words: the JSON story
// object of `idtrace logs` (see docs/logs.md).
type Story struct {
	Kind          string    `json:"kind"`
	CorrelationID string    `json:"correlation_id"`
	Actor         string    `json:"actor"`
	Target        string    `json:"target"`
	Start         time.Time `json:"start,omitzero"`
	End           time.Time `json:"end,omitzero"`
	Steps         []Step    `json:"steps"`
	// MoreSteps counts steps beyond MaxSteps that were not kept.
	MoreSteps int    `json:"more_steps,omitempty"`
	Summary   string `json:"summary"`
	// Related lists the other correlation IDs joined into this story (the
	// writeback, for example, runs under its own).
	Related []string `json:"related_correlation_ids,omitempty"`
	// Flags say what does not fit the expected shape.
	Flags []string `json:"flags,omitempty"`
}

// Limits of the story builder's state.
const (
	// DefaultWindow is how far apart in time records may be and still join
	// into one story.
	DefaultWindow = 10 * time.Minute
	// MaxSteps caps the steps kept per story.
	MaxSteps = 100
	// MaxOpen caps the open correlations; the least recently touched is
	// closed first when it is reached.
	MaxOpen = 50_000
)

// marker bits: what kind of record an event is.
const (
	mSSPRProgress uint32 = 1 << iota
	mSSPRReset
	mSSPRBlocked
	mFimReset
	mFimStrongAuth
	mStrongAuth
	mSecInfo
	mAdminReset
	mUserChange
	mWriteback
	mPIM
	mConsent
	mJIT
	mSignIn
	mCredential
	mBlocked
)

const accountMarkers = mSSPRProgress | mSSPRReset | mSSPRBlocked | mFimReset | mFimStrongAuth | mStrongAuth | mSecInfo | mAdminReset | mWriteback | mUserChange

type gstep struct {
	Step
	marks      uint32
	errorCode  int
	app        string
	appLabel   string
	suspect    string // non-empty when the actor is labelled suspicious
	actorUser  string
	object     string // a non-user target (role, app)
	keyTypes   []string
	newCountry string
	country    string // the sign-in's country, for newCountry
	ip         string
	location   string
}

type group struct {
	key     string
	corr    string
	marks   uint32
	steps   []gstep
	more    int
	first   time.Time
	last    time.Time
	targets []string // lower-case target keys
	target  string   // display form
	// prev and next link the open groups from the least recently touched.
	prev, next *group
}

// StoryBuilder groups records by correlation ID and joins groups by target
// within a time window, emitting each Story to Sink as soon as no later
// record can change it. State is bounded by the records of the window (and
// MaxOpen), not by the length of the stream. Not safe for concurrent use.
type StoryBuilder struct {
	// Window is the join window (DefaultWindow when zero).
	Window time.Duration
	// Sink receives each finished story; an error stops the builder.
	Sink func(*Story) error
	// Classifier labels the actors (it must be fed the same events, first).
	Classifier *Classifier
	// Reuse makes the builder hand Sink one Story, refilled for each story:
	// Sink must be done with the story, its slices and its Summary when it
	// returns (a sink that encodes or copies each story at once). The other
	// strings in it (the steps' fields, the flags) are never reused. Nothing
	// of a story is then allocated but what Sink keeps. Set it before the
	// first record is added.
	Reuse bool

	open  map[string]*group
	byTgt map[string][]*group
	// oldest and newest end the list of open groups, least recently
	// touched first.
	oldest, newest *group
	// free holds closed groups for reuse (see recycle).
	free  []*group
	n     int
	now   time.Time
	nAnon int
	// nKind counts the stories of each of storyKinds; counts the others.
	nKind  [len(storyKinds)]int
	counts map[string]int
	// scratch: the group key, the groups a story is told from
	kbuf    []byte
	cluster []*group
	// sw holds the slices stepsWith returns while a story is told.
	sw []*gstep
	// errText caches errorText's kb answers (Prepare runs concurrently).
	errText sync.Map
	// countries holds per user the countries of successful sign-ins.
	countries map[string]*[]string
	// reused is the story Sink gets with Reuse, sum its summary's bytes.
	reused *Story
	sum    []byte

	// With Concurrent: closed clusters go to the teller goroutine on
	// tellq and their groups come back on freeq; tellDone is closed when
	// the teller has finished, failed holds the first Sink error.
	tellq    chan closed
	freeq    chan *group
	tellDone chan struct{}
	failed   atomic.Pointer[error]
}

// closed is a cluster of closed groups, handed to the teller: the group
// holding the record that closed it, and the ones joined to it.
type closed struct {
	g    *group
	rest []*group
}

// Concurrent makes the builder tell its stories on a goroutine of its own,
// so that adding records (AddPrepared) and telling the stories of the
// groups it closes overlap. The stories reach Sink in the same order as
// without it, one at a time, from that goroutine; a Sink error is returned
// by a later AddPrepared or by Flush. Flush waits until every story has been
// told and given to Sink, and ends the builder: nothing may be added after
// it. Counts is complete once Flush has returned. Call it before the first
// record is added.
func (b *StoryBuilder) Concurrent() {
	b.tellq = make(chan closed, 1024)
	b.freeq = make(chan *group, maxFree)
	b.tellDone = make(chan struct{})
	go b.teller()
}

// teller tells the clusters it receives, in order (see Concurrent).
func (b *StoryBuilder) teller() {
	defer close(b.tellDone)
	var cluster []*group
	for c := range b.tellq {
		cluster = append(append(cluster[:0], c.g), c.rest...)
		if b.failed.Load() == nil {
			if err := b.emit(cluster); err != nil {
				failed := err // a copy: taking err's address would put every err on the heap
				b.failed.Store(&failed)
			}
		}
		for _, g := range cluster {
			if b.reset(g) {
				select {
				case b.freeq <- g:
				default:
				}
			}
		}
		clear(cluster)
	}
}

// NewStoryBuilder returns a builder labelling with c and emitting to sink.
func NewStoryBuilder(c *Classifier, sink func(*Story) error) *StoryBuilder {
	return &StoryBuilder{Classifier: c, Sink: sink, open: make(map[string]*group), byTgt: make(map[string][]*group), counts: make(map[string]int)}
}

// Counts returns how many stories of each kind were emitted so far.
func (b *StoryBuilder) Counts() map[string]int {
	for i, n := range b.nKind {
		if n > 0 {
			b.counts[storyKinds[i]] = n
		}
	}
	return b.counts
}

func (b *StoryBuilder) window() time.Duration {
	if b.Window > 0 {
		return b.Window
	}
	return DefaultWindow
}

func isFim(p trace.Principal) bool {
	return strings.EqualFold(strings.TrimSpace(p.UPN), "fim_password_service@support.onmicrosoft.com")
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

// containsFold reports whether strings.ToLower(s) contains
// strings.ToLower(sub), without lower-casing (and allocating) ASCII text.
func containsFold(s, sub string) bool {
	if !isASCII(s) || !isASCII(sub) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
	}
	if len(sub) == 0 {
		return true
	}
	first := lowerASCII(sub[0])
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerASCII(s[i]) == first && asciiFoldEq(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// asciiFoldEq reports whether ASCII a and b (of one length) are equal but for case.
func asciiFoldEq(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func isPasswordActivity(a string) bool {
	return containsFold(a, "password")
}

// marks classifies one record.
func (b *StoryBuilder) marks(e *trace.Event) uint32 {
	if strings.HasPrefix(e.Kind, "signin") {
		if _, ok := blockedAccountCodes[e.ErrorCode]; ok {
			return mSignIn | mBlocked
		}
		return mSignIn
	}
	a := strings.TrimSpace(e.Activity)
	var m uint32
	if isCredentialActivity(e) {
		m |= mCredential
	}
	switch {
	case strings.EqualFold(a, "Self-service password reset flow activity progress"):
		m |= mSSPRProgress
	case strings.EqualFold(a, "Reset password (self-service)"), strings.EqualFold(a, "Unlock user account (self-service)"):
		m |= mSSPRReset
	case strings.EqualFold(a, "Blocked from self-service password reset"):
		m |= mSSPRBlocked
	case strings.EqualFold(a, "Consent to application"):
		m |= mConsent
	case containsFold(a, "PIM activation"), containsFold(e.Service, "PIM") && containsFold(a, "role"):
		m |= mPIM
	case containsFold(a, "security info"):
		m |= mSecInfo
	case containsFold(a, "writeback"), containsFold(a, "write back"):
		m |= mWriteback
	}
	fim := isFim(e.Actor)
	if fim && isPasswordActivity(a) {
		m |= mFimReset
	}
	if strings.EqualFold(a, "Update user") && strongAuthChange(e) {
		m |= mStrongAuth
		if fim {
			m |= mFimStrongAuth
		}
	}
	if isPasswordActivity(a) && m&(mSSPRProgress|mSSPRReset|mSSPRBlocked|mFimReset|mWriteback) == 0 {
		if _, suspicious, ok := syncVerdict(FromTrace(e.Actor)); ok && !suspicious {
			m |= mWriteback
		} else if hasPrefixFold(a, "Reset") || containsFold(a, "by admin") {
			m |= mAdminReset
		} else if hasPrefixFold(a, "Change") {
			m |= mUserChange
		}
	}
	if containsFold(e.Actor.DisplayName, "Jit Provisioning") || containsFold(e.App.DisplayName, "Jit Provisioning") {
		m |= mJIT
	}
	if m&mPIM == 0 && (strings.EqualFold(e.Actor.DisplayName, "MS-PIM") || strings.EqualFold(e.App.DisplayName, "MS-PIM")) && containsFold(a, "role") {
		m |= mPIM
	}
	return m
}

func strongAuthChange(e *trace.Event) bool {
	for _, t := range e.Targets {
		for _, mp := range t.Modified {
			if hasPrefixFold(mp.Name, "StrongAuthentication") {
				return true
			}
		}
	}
	return false
}

// appendStrongAuthProps appends the names of the StrongAuthentication
// properties e changes, comma-separated, to dst.
func appendStrongAuthProps(dst []byte, e *trace.Event) []byte {
	var names []string
	for _, t := range e.Targets {
		for _, mp := range t.Modified {
			if hasPrefixFold(mp.Name, "StrongAuthentication") && !slices.Contains(names, mp.Name) {
				if len(names) > 0 {
					dst = append(dst, ", "...)
				}
				names = append(names, mp.Name)
				dst = append(dst, mp.Name...)
			}
		}
	}
	return dst
}

func principalName(p trace.Principal) string {
	return firstNonEmpty(p.UPN, p.DisplayName, p.AppID, p.ServicePrincipalName, p.ServicePrincipalID, p.ID)
}

// appendSource appends where e was read ("file:line" or "file:record N") to dst.
func appendSource(dst []byte, e *trace.Event) []byte {
	dst = append(dst, e.File...)
	if e.LineKind == "record" {
		dst = append(dst, ":record "...)
	} else {
		dst = append(dst, ':')
	}
	return strconv.AppendInt(dst, int64(e.Line), 10)
}

// targetOf returns the user (or first) target's keys and display form; for
// SSPR progress records without targets, the acting user.
func targetOf(e *trace.Event) (keys []string, display string) {
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !slices.Contains(keys, s) {
			keys = append(keys, s)
		}
	}
	t := mainTarget(e)
	if t != nil {
		add(t.UPN)
		add(t.ID)
		display = firstNonEmpty(t.UPN, t.DisplayName, t.ID)
		if len(keys) == 0 {
			add(t.DisplayName)
		}
		return keys, display
	}
	if !strings.HasPrefix(e.Kind, "signin") {
		add(e.Actor.UPN)
		add(e.Actor.ID)
		return keys, firstNonEmpty(e.Actor.UPN, e.Actor.DisplayName, e.Actor.ID)
	}
	return nil, ""
}

// mainTarget is the record's first user target, else its first target, or nil.
func mainTarget(e *trace.Event) *trace.Target {
	for i := range e.Targets {
		if strings.EqualFold(e.Targets[i].Type, "user") {
			return &e.Targets[i]
		}
	}
	if len(e.Targets) > 0 {
		return &e.Targets[0]
	}
	return nil
}

// targetDisplay is the display form targetOf returns.
func targetDisplay(e *trace.Event) string {
	t := mainTarget(e)
	if t != nil {
		return firstNonEmpty(t.UPN, t.DisplayName, t.ID)
	}
	if !strings.HasPrefix(e.Kind, "signin") {
		return firstNonEmpty(e.Actor.UPN, e.Actor.DisplayName, e.Actor.ID)
	}
	return ""
}

// Add feeds one event (after Classifier.Add). It may emit finished stories.
// It is AddPrepared(e, b.Prepare(e)).
func (b *StoryBuilder) Add(e *trace.Event) error { return b.AddPrepared(e, b.Prepare(e)) }

// Prep is what Prepare works out from one record alone, for AddPrepared:
// the record's kind and the texts its step would keep, copied into one
// string (so that a batch of Preps is small and holds nothing of the event).
type Prep struct {
	marks uint32
	// short locates each field (pActor, ...) in buf, or wide does when buf
	// is longer than 16-bit offsets reach.
	short [nPrep]struct{ off, end uint16 }
	buf   string
	wide  *spans
}

// spans locate the fields of a Prep in the bytes being written.
type spans [nPrep]struct{ off, end uint32 }

// The fields of a Prep.
const (
	pKey       = iota // the key of the group the record joins (appendGroupKey), without an anonymous number
	pActor            // Step.Actor
	pActivity         // Step.Activity
	pResult           // Step.Result
	pDetail           // Step.Detail
	pCorr             // Step.CorrelationID
	pSource           // Step.Source
	pApp              // gstep.app
	pActorUser        // gstep.actorUser
	pObject           // gstep.object
	pIP               // gstep.ip
	pLocation         // gstep.location
	pCountry          // gstep.country
	pTarget           // the display form of the record's target (targetOf), or of the signing-in user
	pKeyTypes         // gstep.keyTypes, each followed by a comma
	nPrep
)

func (p *Prep) get(f int) string {
	if p.wide != nil {
		return p.buf[p.wide[f].off:p.wide[f].end]
	}
	return p.buf[p.short[f].off:p.short[f].end]
}

// finish keeps a copy of buf, the bytes the spans sp locate fields in.
func (p *Prep) finish(sp *spans, buf []byte) {
	p.buf = string(buf)
	if len(buf) > math.MaxUint16 {
		w := *sp
		p.wide = &w
		return
	}
	for i := range sp {
		p.short[i].off, p.short[i].end = uint16(sp[i].off), uint16(sp[i].end)
	}
}

// mark sets the span of field f to buf[from:].
func (sp *spans) mark(f int, buf []byte, from int) {
	sp[f].off, sp[f].end = uint32(from), uint32(len(buf))
}

// add appends s to buf as field f.
func (sp *spans) add(buf []byte, f int, s string) []byte {
	n := len(buf)
	buf = append(buf, s...)
	sp.mark(f, buf, n)
	return buf
}

// addShared is add, sharing the bytes of field g when they hold s.
func (sp *spans) addShared(buf []byte, f int, s string, g int) []byte {
	if g := sp[g]; string(buf[g.off:g.end]) == s {
		sp[f] = g
		return buf
	}
	return sp.add(buf, f, s)
}

// addWithin is add, pointing into field g's bytes when they contain s.
func (sp *spans) addWithin(buf []byte, f int, s string, g int) []byte {
	if s == "" {
		return buf
	}
	in := sp[g]
	if i := indexIn(buf[in.off:in.end], s); i >= 0 {
		sp[f].off, sp[f].end = in.off+uint32(i), in.off+uint32(i+len(s))
		return buf
	}
	return sp.add(buf, f, s)
}

// indexIn is strings.Index(string(b), s) for a non-empty s, without copying b.
func indexIn(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		j := bytes.IndexByte(b[i:len(b)-len(s)+1], s[0])
		if j < 0 {
			return -1
		}
		i += j
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	return -1
}

// Prepare does the part of adding e that depends on e alone (what kind of
// record it is, the step it would add to a story with its detail text), so
// that callers may run it for many records on several goroutines and feed
// the results to AddPrepared in record order. It is safe for concurrent
// use and does not change b; the Prep holds no reference to e's strings.
func (b *StoryBuilder) Prepare(e *trace.Event) *Prep {
	p := new(Prep)
	b.PrepareTo(p, e)
	return p
}

// PrepareTo is Prepare writing into p (overwritten), so that a caller can
// prepare a batch of records into one slice of Preps.
func (b *StoryBuilder) PrepareTo(p *Prep, e *trace.Event) {
	m := b.marks(e)
	*p = Prep{marks: m}
	if m == 0 {
		return
	}
	var sp spans
	var stack [1024]byte
	buf := stack[:0]
	// the group key, then the correlation ID: inside the key when it is the key's ID
	buf = b.appendGroupKey(buf, e, m)
	sp.mark(pKey, buf, 0)
	if k := buf; len(k) > 2 && (k[0] == 's' || k[0] == 'a') && string(k[2:]) == e.CorrelationID {
		sp[pCorr].off, sp[pCorr].end = 2, uint32(len(buf))
	} else {
		buf = sp.add(buf, pCorr, e.CorrelationID)
	}
	buf = sp.add(buf, pActor, principalName(e.Actor))
	buf = sp.addShared(buf, pActorUser, e.Actor.UPN, pActor)
	buf = sp.add(buf, pActivity, e.Activity)
	buf = sp.add(buf, pResult, e.Result)
	n := len(buf)
	buf = appendSource(buf, e)
	sp.mark(pSource, buf, n)
	if m&mSignIn != 0 {
		buf = sp.addShared(buf, pTarget, firstNonEmpty(e.Actor.UPN, e.Actor.DisplayName, e.Actor.ID), pActor)
		f := factsOf(e)
		n = len(buf)
		buf = b.appendSignInDetail(buf, e)
		d := len(buf)
		sep := d > n // facts follow the detail after "; ", or stand alone
		if sep {
			buf = append(buf, "; "...)
		}
		var loc, locEnd int
		buf, loc, locEnd = f.appendText(buf)
		if sep && len(buf) == d+2 {
			buf = buf[:d] // no facts: no "; "
		}
		sp.mark(pDetail, buf, n)
		sp[pLocation].off, sp[pLocation].end = uint32(loc), uint32(locEnd)
		buf = sp.addWithin(buf, pApp, principalName(e.App), pDetail) // "to App, ..."
		buf = sp.addWithin(buf, pIP, f.ip, pDetail)
		buf = sp.addWithin(buf, pCountry, f.country, pLocation)
		p.finish(&sp, buf)
		return
	}
	if m&mCredential != 0 {
		ip := e.IPAddress
		if ip == "" {
			ip = e.Actor.IPAddress
		}
		buf = sp.add(buf, pIP, ip)
		n = len(buf)
		for _, k := range addedKeys(e) {
			buf = append(append(buf, k...), ',')
		}
		sp.mark(pKeyTypes, buf, n)
	}
	n = len(buf)
	switch {
	case m&mStrongAuth != 0:
		buf = appendStrongAuthProps(append(buf, "changed "...), e)
	case e.ResultReason != "":
		buf = append(buf, e.ResultReason...)
	case m&mSSPRProgress != 0:
		for _, kv := range e.Details {
			if kv.Value != "" {
				buf = append(append(append(buf, kv.Key...), ": "...), kv.Value...)
				break
			}
		}
	}
	if len(buf) == n && len(e.Targets) > 0 {
		buf = append(append(buf, "target "...), firstNonEmpty(e.Targets[0].UPN, e.Targets[0].DisplayName, e.Targets[0].ID)...)
	}
	sp.mark(pDetail, buf, n)
	for _, t := range e.Targets {
		if !strings.EqualFold(t.Type, "user") {
			buf = sp.add(buf, pObject, firstNonEmpty(t.DisplayName, t.UPN, t.ID))
			break
		}
	}
	buf = sp.addShared(buf, pTarget, targetDisplay(e), pActor)
	p.finish(&sp, buf)
}

// fill sets the zero step s to the step of the record e prepared as p (its
// strings are p's), in place: a step is too big to copy around.
func (p *Prep) fill(s *gstep, e *trace.Event) {
	m := p.marks
	s.Time, s.Actor, s.Activity, s.Result = e.Time, p.get(pActor), p.get(pActivity), p.get(pResult)
	s.Detail, s.CorrelationID, s.Source, s.Role = p.get(pDetail), p.get(pCorr), p.get(pSource), role(m)
	s.marks, s.errorCode, s.app, s.actorUser, s.object = m, e.ErrorCode, p.get(pApp), p.get(pActorUser), p.get(pObject)
	s.ip, s.location, s.country = p.get(pIP), p.get(pLocation), p.get(pCountry)
	if kt := p.get(pKeyTypes); kt != "" {
		s.keyTypes = strings.Split(kt[:len(kt)-1], ",")
	}
}

// AddPrepared feeds one event with its Prep (from Prepare on the same
// event), after Classifier.Add. Events must come in record order. It may
// emit finished stories.
func (b *StoryBuilder) AddPrepared(e *trace.Event, p *Prep) error {
	if err := b.failed.Load(); err != nil {
		return *err
	}
	b.n++
	if !e.Time.IsZero() {
		b.now = e.Time
	}
	if m := p.marks; m != 0 {
		key := p.get(pKey)
		if len(key) == 2 { // "a|" or "s|": a record without a correlation ID
			b.nAnon++
			b.kbuf = strconv.AppendInt(append(append(b.kbuf[:0], key...), '#'), int64(b.nAnon), 10)
			key = string(b.kbuf)
		}
		g := b.open[key]
		if g == nil {
			g = b.newGroup()
			g.key = key // a copy: p.buf holds nothing of e
			g.corr = p.get(pCorr)
			b.open[g.key] = g
			b.push(g)
		} else if g != b.newest {
			b.unlink(g)
			b.push(g)
		}
		b.addStep(g, e, p)
	}
	if err := b.evict(false); err != nil {
		return err
	}
	return nil
}

func (b *StoryBuilder) addStep(g *group, e *trace.Event, p *Prep) {
	m := p.marks
	g.marks |= m
	if !e.Time.IsZero() {
		if g.first.IsZero() || e.Time.Before(g.first) {
			g.first = e.Time
		}
		if e.Time.After(g.last) {
			g.last = e.Time
		}
	}
	if m&mSignIn == 0 {
		keys, _ := targetOf(e)
		for _, k := range keys {
			if !slices.Contains(g.targets, k) && len(g.targets) < 8 {
				k = strings.Clone(k)
				g.targets = append(g.targets, k)
				b.byTgt[k] = append(b.byTgt[k], g)
			}
		}
	}
	if g.target == "" {
		g.target = p.get(pTarget)
	}
	if len(g.steps) >= MaxSteps {
		g.more++
		return
	}
	g.steps = append(g.steps, gstep{})
	s := &g.steps[len(g.steps)-1]
	p.fill(s, e)
	if b.Classifier != nil && m&(mSignIn) == 0 {
		if l := b.Classifier.LabelOf(e.Actor); l.Class == ClassSuspicious {
			s.suspect = strings.Join(l.Evidence, "; ")
		}
	}
	if m&mSignIn != 0 {
		if b.Classifier != nil {
			l := b.Classifier.LabelOf(e.App)
			s.appLabel = l.Class
			if l.Class == ClassSuspicious {
				s.suspect = strings.Join(l.Evidence, "; ")
			}
		}
		if b.countryCheck(e, s.country) {
			s.newCountry = s.country
		}
	}
}

func role(m uint32) string {
	switch {
	case m&mSSPRProgress != 0:
		return "verification"
	case m&(mSSPRReset|mFimReset|mAdminReset) != 0:
		return "reset"
	case m&mSSPRBlocked != 0:
		return "blocked"
	case m&mWriteback != 0:
		return "writeback"
	case m&(mStrongAuth|mSecInfo) != 0:
		return "registration"
	case m&mUserChange != 0:
		return "password-change"
	case m&mPIM != 0:
		return "activation"
	case m&mConsent != 0:
		return "consent"
	case m&mJIT != 0:
		return "provisioning"
	}
	return ""
}

// appendSignInDetail appends the sign-in's detail ("to App, for Resource,
// interactive, AADSTS...") to dst.
func (b *StoryBuilder) appendSignInDetail(dst []byte, e *trace.Event) []byte {
	start := len(dst)
	sep := func() {
		if len(dst) > start {
			dst = append(dst, ", "...)
		}
	}
	app := principalName(e.App)
	if app != "" {
		dst = append(append(dst, "to "...), app...)
	}
	if r := principalName(e.Resource); r != "" && r != app {
		sep()
		dst = append(append(dst, "for "...), r...)
	}
	if e.Interactive {
		sep()
		dst = append(dst, "interactive"...)
	} else if e.Kind == trace.KindSignInNonInteractive {
		sep()
		dst = append(dst, "non-interactive"...)
	}
	if e.ErrorCode != 0 {
		sep()
		dst = append(dst, b.errorText(e.ErrorCode, e.FailureReason)...)
	}
	return dst
}

func (b *StoryBuilder) errorText(code int, reason string) string {
	if t, ok := b.errText.Load(code); ok {
		return t.(string)
	}
	if b.Classifier != nil {
		if ec, ok := b.Classifier.K.errorCode(code); ok {
			t := fmt.Sprintf("AADSTS%d %s: %s", code, ec.Name, strings.TrimRight(ec.Meaning, ". "))
			b.errText.Store(code, t) // at most one entry per code the kb knows
			return t
		}
	}
	if reason != "" {
		return fmt.Sprintf("AADSTS%d: %s", code, reason)
	}
	return fmt.Sprintf("AADSTS%d", code)
}

// Flush closes every open group and emits the remaining stories.
func (b *StoryBuilder) Flush() error {
	err := b.evict(true)
	if b.tellq != nil {
		close(b.tellq)
		<-b.tellDone
		if f := b.failed.Load(); f != nil && err == nil {
			err = *f
		}
	}
	return err
}

func (b *StoryBuilder) expired(g *group) bool {
	if b.now.IsZero() || g.last.IsZero() {
		return false
	}
	d := b.now.Sub(g.last)
	if d < 0 {
		d = b.now.Sub(g.first)
		d = -d
	}
	return d > b.window()
}

func (b *StoryBuilder) evict(all bool) error {
	for {
		g := b.oldest
		if g == nil {
			return nil
		}
		if !all && len(b.open) <= MaxOpen && !b.expired(g) {
			return nil
		}
		if err := b.close(g); err != nil {
			return err
		}
	}
}

func (b *StoryBuilder) remove(g *group) {
	delete(b.open, g.key)
	b.unlink(g)
	for _, k := range g.targets {
		gs := b.byTgt[k]
		gs = slices.DeleteFunc(gs, func(x *group) bool { return x == g })
		if len(gs) == 0 {
			delete(b.byTgt, k)
		} else {
			b.byTgt[k] = gs
		}
	}
}

// close finishes g, joining the open groups about the same target.
func (b *StoryBuilder) close(g *group) error {
	cluster := append(b.cluster[:0], g)
	defer func() { b.cluster = cluster[:0] }()
	if g.marks&accountMarkers != 0 {
		for _, k := range g.targets {
			for _, o := range b.byTgt[k] {
				if o == g || slices.Contains(cluster, o) || o.marks&accountMarkers == 0 || !b.near(g, o) {
					continue
				}
				cluster = append(cluster, o)
			}
		}
	}
	for _, c := range cluster {
		b.remove(c)
	}
	if b.tellq != nil {
		c := closed{g: cluster[0]}
		if len(cluster) > 1 {
			c.rest = slices.Clone(cluster[1:])
		}
		b.tellq <- c
		return nil
	}
	err := b.emit(cluster)
	for _, c := range cluster {
		b.recycle(c) // tell copied what the story keeps
	}
	return err
}

// emit tells the story of a closed cluster, counts it and gives it to Sink.
func (b *StoryBuilder) emit(cluster []*group) error {
	st := b.tell(cluster)
	if st == nil {
		return nil
	}
	if k := kindRank(st.Kind); k < len(b.nKind) {
		b.nKind[k]++
	} else {
		b.counts[st.Kind]++
	}
	if b.Sink != nil {
		return b.Sink(st)
	}
	return nil
}

// push appends g to the list of open groups (as the most recently touched).
func (b *StoryBuilder) push(g *group) {
	g.prev, g.next = b.newest, nil
	if b.newest != nil {
		b.newest.next = g
	} else {
		b.oldest = g
	}
	b.newest = g
}

// unlink takes g out of the list of open groups.
func (b *StoryBuilder) unlink(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		b.oldest = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		b.newest = g.prev
	}
	g.prev, g.next = nil, nil
}

// maxFree bounds the closed groups kept for reuse.
const maxFree = 1024

// newGroup returns an empty group, a closed one when there is one.
func (b *StoryBuilder) newGroup() *group {
	if b.freeq != nil {
		select {
		case g := <-b.freeq:
			return g
		default:
		}
	}
	if n := len(b.free); n > 0 {
		g := b.free[n-1]
		b.free = b.free[:n-1]
		return g
	}
	return &group{}
}

// recycle keeps the closed group g for reuse: one sign-in per correlation
// would otherwise allocate a group and its step slice for every record.
// Nothing may refer to g any more (close has removed it everywhere and
// told its story).
func (b *StoryBuilder) recycle(g *group) {
	if len(b.free) < maxFree && b.reset(g) {
		b.free = append(b.free, g)
	}
}

// reset empties a closed group for reuse, keeping its slices unless they
// grew large; false means it is not worth keeping.
func (b *StoryBuilder) reset(g *group) bool {
	if cap(g.steps) > 8 || cap(g.targets) > 8 {
		return false
	}
	clear(g.steps) // their strings are not kept alive
	clear(g.targets)
	*g = group{steps: g.steps[:0], targets: g.targets[:0]}
	return true
}

func (b *StoryBuilder) near(a, o *group) bool {
	w := b.window()
	if a.first.IsZero() || o.first.IsZero() {
		return true
	}
	return !(o.first.After(a.last.Add(w)) || a.first.After(o.last.Add(w)))
}
