package wsfed

import (
	"net/url"
	"testing"
)

func FuzzWSFed(f *testing.F) {
	f.Add("wsignin1.0", rstr(saml11), "ctx")
	f.Add("wsignin1.0", `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"/>`, "")
	f.Add("wsignout1.0", "", "x")
	f.Fuzz(func(t *testing.T, wa, wresult, wctx string) {
		m, err := Parse(url.Values{"wa": {wa}, "wresult": {wresult}, "wctx": {wctx}})
		if err != nil {
			if m != nil {
				t.Fatal("message and error")
			}
			return
		}
		if m.Response != (wresult != "") {
			t.Fatal("Response flag wrong")
		}
		if m.Response && m.Result == nil {
			t.Fatal("response without result")
		}
	})
}
