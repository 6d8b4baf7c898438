package actors_test

import (
	"bytes"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/trace"
)

// classesOf reads a generated export and returns each actor's class by name.
func classesOf(t *testing.T, shape string) map[string]string {
	t.Helper()
	var data bytes.Buffer
	if err := entralog.Generate(&data, shape, trace.KindSignIn, 2000, 9); err != nil {
		t.Fatal(err)
	}
	r, err := entralog.NewReader(&data, "gen")
	if err != nil {
		t.Fatal(err)
	}
	r.KeepExtra(actors.ExtraKeys())
	c := actors.NewClassifier(actors.Default())
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		c.Add(ev)
	}
	out := map[string]string{}
	for _, a := range c.Actors() {
		out[a.Name+" "+a.AppID] = a.Class
	}
	return out
}

// TestSameClassesAcrossShapes: the same sign-ins exported as diagnostic
// NDJSON and as the portal's CSV give every actor the same class. The
// portal names the tenant in "Resource tenant ID", so an app owned by the
// tenant is a tenant app in both (it was "unknown" from the CSV).
func TestSameClassesAcrossShapes(t *testing.T) {
	nd, csv := classesOf(t, entralog.ShapeDiagnostic), classesOf(t, entralog.ShapePortalCSV)
	if len(nd) < 20 || len(nd) != len(csv) {
		t.Fatalf("%d actors from NDJSON, %d from CSV", len(nd), len(csv))
	}
	tenantApps := 0
	for name, class := range nd {
		if csv[name] != class {
			t.Errorf("%s: %s from NDJSON, %q from the portal CSV", name, class, csv[name])
		}
		if class == actors.ClassTenantApp {
			tenantApps++
		}
	}
	if tenantApps == 0 {
		t.Error("no tenant app among the generated actors")
	}
}
