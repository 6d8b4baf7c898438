package kb

import (
	"testing"
)

func TestEmbeddedDataParses(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func TestLookupApp(t *testing.T) {
	tests := []struct {
		id, name, owner string
		verified        bool
	}{
		// named in Microsoft's docs, no owner tenant: not verified
		{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "Office365 Shell WCSS-Client", "", false},
		{"C44B4083-3BB0-49C1-B47D-974E53CBDF3C", "Azure Portal", "f8cdef31-a31e-4b4a-93e4-5f571e91255a", true},
		{" {00000003-0000-0000-c000-000000000000} ", "Microsoft Graph", "f8cdef31-a31e-4b4a-93e4-5f571e91255a", true},
		{"2f5afa01-cdcb-4707-a62a-0803cc994c60", "MS-CE-CXG-MAC-AadShadowRoleWriter [Community Contributed]", "f8cdef31-a31e-4b4a-93e4-5f571e91255a", false},
	}
	for _, tt := range tests {
		a, ok := LookupApp(tt.id)
		if !ok {
			t.Errorf("LookupApp(%q): not found", tt.id)
			continue
		}
		if a.Name != tt.name || a.OwnerTenantID != tt.owner || a.Verified != tt.verified {
			t.Errorf("LookupApp(%q) = %+v, want name %q owner %q verified %v", tt.id, a, tt.name, tt.owner, tt.verified)
		}
	}
	for _, id := range []string{"", "not-a-guid", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da8", "89bee1f75e6e4d8a9f3decd601259da7"} {
		if a, ok := LookupApp(id); ok {
			t.Errorf("LookupApp(%q) = %+v, want not found", id, a)
		}
	}
}

func TestAppsByName(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"office365 shell wcss-client", []string{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7"}},
		{"  Azure   Portal ", []string{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}},
		// upstream name has a trailing space
		{"Power Virtual Agents", []string{"96ff4394-9197-43aa-b393-6a41652e21f8"}},
		{"Azure Porta", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got := AppsByName(tt.name)
		var ids []string
		for _, a := range got {
			ids = append(ids, a.AppID)
		}
		if len(ids) != len(tt.want) {
			t.Errorf("AppsByName(%q) = %v, want %v", tt.name, ids, tt.want)
			continue
		}
		for i := range ids {
			if ids[i] != tt.want[i] {
				t.Errorf("AppsByName(%q) = %v, want %v", tt.name, ids, tt.want)
			}
		}
	}
}

func TestMicrosoftTenant(t *testing.T) {
	for _, id := range []string{
		"f8cdef31-a31e-4b4a-93e4-5f571e91255a", "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
		"33e01921-4d64-4f8c-a055-5bdaffd5e33d", "cdc5aeea-15c5-4db6-b079-fcadd2505dc2",
		"47df5bb7-e6bc-4256-afb0-dd8c8e3c1ce8",
	} {
		if name, ok := MicrosoftTenant(id); !ok || name == "" {
			t.Errorf("MicrosoftTenant(%q) = %q, %v; want a name", id, name, ok)
		}
	}
	// the consumer (MSA) tenant owns apps anyone registers: never Microsoft evidence
	for _, id := range []string{"9188040d-6c67-4c5b-b112-36a304b66dad", "", "f8cdef31"} {
		if name, ok := MicrosoftTenant(id); ok {
			t.Errorf("MicrosoftTenant(%q) = %q, want not found", id, name)
		}
	}
}

func TestLookupActor(t *testing.T) {
	tests := []struct {
		key, wantKind, wantApp string
	}{
		{"fim_password_service@support.onmicrosoft.com", KindInternalAccount, ""},
		{"FIM_Password_Service@Support.OnMicrosoft.com", KindInternalAccount, ""},
		{"spo_service@support.onmicrosoft.com", KindInternalAccount, ""},
		{"cxpweb_service@support.onmicrosoft.com", KindInternalAccount, ""},
		{"Microsoft Azure AD Internal - Jit Provisioning", KindInternalApp, ""},
		{"microsoft substrate management", KindInternalApp, "98db8bd6-0cc0-4e67-9de5-f187f1cd1b41"},
		{"MS-PIM", KindInternalApp, "01fc33a7-78ba-4d2f-a4b7-768e336e890e"},
		{"01FC33A7-78BA-4D2F-A4B7-768E336E890E", KindInternalApp, "01fc33a7-78ba-4d2f-a4b7-768e336e890e"},
		{"Microsoft Approval Management", KindInternalApp, "65d91a3d-ab74-42e6-8a2f-0add61688c74"},
		{"Azure Credential Configuration Endpoint Service", KindInternalApp, "ea890292-c8c8-4433-b5ea-b09d0668e1a6"},
		{"Microsoft Managed Policy Manager", KindInternalApp, "87e86b91-9ae3-4679-b68a-471fe50be746"},
		{"Microsoft Entra Subscription Lifecycle Process", KindInternalApp, ""},
		{"Microsoft Exchange Online Protection", KindInternalApp, "00000007-0000-0ff1-ce00-000000000000"},
		{"MS-CE-CXG-MAC-AadShadowRoleWriter", KindInternalApp, "2f5afa01-cdcb-4707-a62a-0803cc994c60"},
		{"Signup", KindInternalApp, "b4bddae8-ab25-483e-8670-df09b9f1d0ea"},
		{"DaRT Team", KindInternalApp, ""},
		{"Windows Azure Service Management API", KindInternalApp, "797f4846-ba00-4fd7-ba43-dac1f8f63013"},
		{"Microsoft password reset service", KindInternalApp, "93625bc8-bfe2-437a-97e0-3d0060024faa"},
		{"Microsoft Graph", KindInternalApp, "00000003-0000-0000-c000-000000000000"},
		{"Office 365 Exchange Online", KindInternalApp, "00000002-0000-0ff1-ce00-000000000000"},
	}
	for _, tt := range tests {
		a, ok := LookupActor(tt.key)
		if !ok {
			t.Errorf("LookupActor(%q): not found", tt.key)
			continue
		}
		if a.Kind != tt.wantKind || a.AppID != tt.wantApp {
			t.Errorf("LookupActor(%q) = kind %q app %q, want %q %q", tt.key, a.Kind, a.AppID, tt.wantKind, tt.wantApp)
		}
	}
	for _, k := range []string{"", "fim_password_service@support.onmicrosoft.co", "fim_password_service@support.onmicrosoft.com.evil.example", "fim-password-service@support.onmicrosoft.com", "MS-PIM2"} {
		if a, ok := LookupActor(k); ok {
			t.Errorf("LookupActor(%q) = %+v, want not found (look-alike)", k, a)
		}
	}
}

func TestActorsAreExplainedAndConsistentWithApps(t *testing.T) {
	list := Actors()
	if len(list) < 20 {
		t.Fatalf("only %d actors", len(list))
	}
	for _, a := range list {
		if len(a.Explanation) < 40 || a.Activities == "" || a.Source == "" {
			t.Errorf("actor %q%q: explanation/activities/source too thin", a.Name, a.UPN)
		}
		if a.AppID == "" {
			continue
		}
		app, ok := LookupApp(a.AppID)
		if !ok {
			t.Errorf("actor %q: app ID %s not in the app list", a.Name, a.AppID)
			continue
		}
		if app.OwnerTenantID != "" {
			if _, ok := MicrosoftTenant(app.OwnerTenantID); !ok {
				t.Errorf("actor %q: owner tenant %s is not a Microsoft tenant", a.Name, app.OwnerTenantID)
			}
		}
	}
}
