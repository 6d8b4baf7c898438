package actors

import (
	"testing"

	"github.com/idtrace/idtrace/internal/kb"
)

// BenchmarkClassifyUser classifies an ordinary member user, the most
// common actor of a sign-in log.
func BenchmarkClassifyUser(b *testing.B) {
	k := Default()
	p := Principal{Name: "User 1555", UPN: "user1555@contoso.example", ID: "5f1c2a9e-0613-4000-8000-000000000613"}
	k.Classify(p)
	for b.Loop() {
		k.Classify(p)
	}
}

// BenchmarkClassifyApp classifies a third-party app with an owner tenant.
func BenchmarkClassifyApp(b *testing.B) {
	k := Default()
	p := Principal{Name: "Fabrikam CRM", AppID: "6b1f2e3d-0000-4c5b-9a8e-000000000e03", OwnerTenantID: "3c2b1a09-0000-4000-8000-00000000fab0", App: true}
	k.Classify(p)
	for b.Loop() {
		k.Classify(p)
	}
}

// FuzzSyncVerdict checks that syncVerdict, which runs its regular
// expressions only on UPNs that can match them, decides as running them on
// every UPN would.
func FuzzSyncVerdict(f *testing.F) {
	for _, u := range []string{"Sync_SRV01_0123456789ab@contoso.onmicrosoft.com", "ADToAADSyncServiceAccount@contoso.onmicrosoft.com",
		"sync_evil@gmail.com", "on-premises directory synchronization@x", "\u017fync_x_0123456789ab@t.onmicrosoft.com", "alice@contoso.com", ""} {
		f.Add(u, "On-Premises Directory Synchronization Service Account")
		f.Add(u, "Alice")
	}
	f.Fuzz(func(t *testing.T, upn, name string) {
		p := Principal{UPN: upn, Name: name}
		var wantSuspicious, wantOK bool
		switch {
		case syncConnectRe.MatchString(upn), syncCloudRe.MatchString(upn):
			wantOK = true
		case upn != "" && syncLikeRe.MatchString(upn), upn != "" && kb.NormalizeName(name) == normalizedSyncName:
			wantSuspicious, wantOK = true, true
		}
		if _, suspicious, ok := syncVerdict(p); suspicious != wantSuspicious || ok != wantOK {
			t.Fatalf("syncVerdict(%q, %q) = %v, %v; the patterns say %v, %v", upn, name, suspicious, ok, wantSuspicious, wantOK)
		}
	})
}
