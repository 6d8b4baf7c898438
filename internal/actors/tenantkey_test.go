package actors

import (
	"slices"
	"strings"
	"testing"
)

// tenantKeyOracle is the definition isTenantKey implements without
// allocating: strings.ToLower of the name is one of the tenant columns.
func tenantKeyOracle(k string) bool {
	return slices.Contains(tenantKeys[:], strings.ToLower(k))
}

func TestIsTenantKey(t *testing.T) {
	for _, k := range []string{"tenantId", "TenantId", "AADTenantId", "resourceTenantId", "properties.tenantId",
		"tenant", "tenantIds", "homeTenantId", "", "ReſourceTenantId", "TENANTİD", "\u212aenantid", "aadtenantid\xff"} {
		if got, want := isTenantKey(k), tenantKeyOracle(k); got != want {
			t.Errorf("isTenantKey(%q) = %v, want %v (strings.ToLower)", k, got, want)
		}
	}
}

func FuzzIsTenantKey(f *testing.F) {
	for _, k := range []string{"tenantId", "ResourceTenantID", "properties.TENANTID", "ReſourceTenantId", "x"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if got, want := isTenantKey(k), tenantKeyOracle(k); got != want {
			t.Errorf("isTenantKey(%q) = %v, strings.ToLower says %v", k, got, want)
		}
	})
}
