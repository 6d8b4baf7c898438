package entralog

import (
	"bytes"
	"io"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

func TestGenerateRoundTrip(t *testing.T) {
	kinds := []string{trace.KindAudit, trace.KindSignIn, trace.KindSignInNonInteractive, trace.KindSignInServicePrincipal, trace.KindSignInManagedIdentity}
	for _, shape := range []string{ShapePortalCSV, ShapeDiagnostic, ShapePortalJSON, ShapeGraphJSON} {
		for _, kind := range kinds {
			if shape == ShapePortalCSV && kind == trace.KindSignInManagedIdentity {
				continue
			}
			t.Run(shape+"/"+kind, func(t *testing.T) {
				const n = 300
				var a, b bytes.Buffer
				if err := Generate(&a, shape, kind, n, 7); err != nil {
					t.Fatal(err)
				}
				if err := Generate(&b, shape, kind, n, 7); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Error("not deterministic for one seed")
				}
				name := "gen"
				if kind == trace.KindSignInNonInteractive {
					name = "NonInteractiveSignIns_gen.csv" // the portal's name tells it
				}
				r, err := NewReader(&a, name)
				if err != nil {
					t.Fatal(err)
				}
				if r.Shape() != shape {
					t.Errorf("shape %q", r.Shape())
				}
				got, fim := 0, 0
				for ev, err := range r.Events() {
					if err != nil {
						t.Fatal(err)
					}
					got++
					if ev.Kind != kind {
						t.Fatalf("record %d kind %q, want %q", got, ev.Kind, kind)
					}
					if ev.Time.IsZero() || ev.CorrelationID == "" || ev.Actor.Type == "" {
						t.Fatalf("record %d incomplete: %+v", got, ev)
					}
					if ev.Actor.UPN == fimUPN {
						fim++
					}
				}
				if got != n {
					t.Errorf("%d events, want %d", got, n)
				}
				if kind == trace.KindAudit && fim == 0 {
					t.Error("no fim_password_service records in generated audit data")
				}
			})
		}
	}
	if err := Generate(io.Discard, "xml", trace.KindAudit, 1, 1); err == nil {
		t.Error("unknown shape accepted")
	}
}

func benchmarkRead(b *testing.B, shape, kind string) {
	var buf bytes.Buffer
	if err := Generate(&buf, shape, kind, 20000, 1); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(buf.Bytes()), "bench")
		if err != nil {
			b.Fatal(err)
		}
		for _, err := range r.Events() {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadNDJSONSignIn(b *testing.B)    { benchmarkRead(b, ShapeDiagnostic, trace.KindSignIn) }
func BenchmarkReadPortalCSVSignIn(b *testing.B) { benchmarkRead(b, ShapePortalCSV, trace.KindSignIn) }
func BenchmarkReadPortalCSVAudit(b *testing.B)  { benchmarkRead(b, ShapePortalCSV, trace.KindAudit) }
