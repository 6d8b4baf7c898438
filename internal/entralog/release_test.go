package entralog

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// readReleasing reads data on two goroutines, calling Release after every
// Event when release is set, and returns copies of the Events' correlation
// IDs and the IDs as handed over (references into the reader's memory).
func readReleasing(t *testing.T, data []byte, release bool) (copies, refs []string) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "gen.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkers(2)
	n := 0
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		copies = append(copies, strings.Clone(ev.CorrelationID))
		refs = append(refs, ev.CorrelationID)
		if release {
			r.Release(n)
		}
	}
	return copies, refs
}

// TestReleaseReusesMemory shows that Release lets the reader reuse released
// records' memory, and only theirs: with PoisonReleased, strings kept from
// released Events (without a copy) are overwritten, while the Events of a
// reader nobody releases stay as they were; the Events handed over are the
// same either way.
func TestReleaseReusesMemory(t *testing.T) {
	data := generated(t, trace.KindSignIn, 3000)
	if len(data) < 8*chunkSize {
		t.Fatalf("generated input of %d bytes is less than eight chunks", len(data))
	}
	PoisonReleased.Store(true)
	defer PoisonReleased.Store(false)

	want, kept := readReleasing(t, data, false)
	if !reflect.DeepEqual(want, kept) {
		t.Fatal("Events changed although nothing was released")
	}
	got, refs := readReleasing(t, data, true)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("releasing changed the Events handed over")
	}
	poisoned := 0
	for _, s := range refs[:len(refs)/2] {
		if strings.Contains(s, "#") {
			poisoned++
		}
	}
	if poisoned < len(refs)/4 {
		t.Errorf("%d of the first %d released records' strings overwritten: their memory was not reused", poisoned, len(refs)/2)
	}
}

// TestReleaseCSV is TestReleaseReusesMemory for the CSV reader: whatever it
// reuses, released or not, the Events handed over are the same.
func TestReleaseCSV(t *testing.T) {
	var b bytes.Buffer
	if err := Generate(&b, ShapePortalCSV, trace.KindSignIn, 3000, 7); err != nil {
		t.Fatal(err)
	}
	PoisonReleased.Store(true)
	defer PoisonReleased.Store(false)
	read := func(release bool) []trace.Event {
		r, err := NewReader(bytes.NewReader(b.Bytes()), "gen.csv")
		if err != nil {
			t.Fatal(err)
		}
		r.SetWorkers(2)
		var out []trace.Event
		n := 0
		for ev, err := range r.Events() {
			if err != nil {
				t.Fatal(err)
			}
			n++
			out = append(out, deepCopy(ev))
			if release {
				r.Release(n)
			}
		}
		return out
	}
	if a, b := read(false), read(true); !reflect.DeepEqual(a, b) {
		t.Fatal("releasing changed the CSV Events handed over")
	}
}

// deepCopy copies an Event with all its strings.
func deepCopy(ev *trace.Event) trace.Event {
	c := *ev
	cl := strings.Clone
	c.File, c.LineKind, c.Kind, c.Shape, c.ID, c.CorrelationID = cl(c.File), cl(c.LineKind), cl(c.Kind), cl(c.Shape), cl(c.ID), cl(c.CorrelationID)
	c.Category, c.Activity, c.OperationType, c.Service, c.Result, c.ResultReason = cl(c.Category), cl(c.Activity), cl(c.OperationType), cl(c.Service), cl(c.Result), cl(c.ResultReason)
	c.FailureReason, c.IPAddress, c.ClientApp, c.UserAgent = cl(c.FailureReason), cl(c.IPAddress), cl(c.ClientApp), cl(c.UserAgent)
	for _, p := range []*trace.Principal{&c.Actor, &c.App, &c.Resource} {
		p.Type, p.ID, p.DisplayName, p.UPN, p.AppID = cl(p.Type), cl(p.ID), cl(p.DisplayName), cl(p.UPN), cl(p.AppID)
		p.ServicePrincipalID, p.ServicePrincipalName, p.OwnerTenantID, p.IPAddress = cl(p.ServicePrincipalID), cl(p.ServicePrincipalName), cl(p.OwnerTenantID), cl(p.IPAddress)
	}
	c.Targets = nil
	for _, t := range ev.Targets {
		t.Type, t.ID, t.DisplayName, t.UPN = cl(t.Type), cl(t.ID), cl(t.DisplayName), cl(t.UPN)
		var mods []trace.ModifiedProperty
		for _, m := range t.Modified {
			mods = append(mods, trace.ModifiedProperty{Name: cl(m.Name), Old: cl(m.Old), New: cl(m.New)})
		}
		t.Modified = mods
		c.Targets = append(c.Targets, t)
	}
	kvs := func(in []trace.KV) []trace.KV {
		var out []trace.KV
		for _, kv := range in {
			out = append(out, trace.KV{Key: cl(kv.Key), Value: cl(kv.Value)})
		}
		return out
	}
	c.Details, c.Extra = kvs(ev.Details), kvs(ev.Extra)
	return c
}
