package trace

import (
	"reflect"
	"testing"
)

func TestHeaderCookies(t *testing.T) {
	h := Headers{{"cookie", "a=1; b = two ;;c"}, {"Cookie", "d=x=y"}, {"Set-Cookie", "s=v; Path=/; domain=.example.test; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; SameSite=None; Secure; Max-Age=5"},
		{"set-cookie", "=; Path=/"}, {"Set-Cookie", "plain=1"}}
	wantReq := []Cookie{{Name: "a", Value: "1"}, {Name: "b", Value: "two"}, {Name: "c"}, {Name: "d", Value: "x=y"}}
	if got := h.RequestCookies(); !reflect.DeepEqual(got, wantReq) {
		t.Errorf("RequestCookies = %+v, want %+v", got, wantReq)
	}
	yes, no := true, false
	wantResp := []Cookie{
		{Name: "s", Value: "v", Path: "/", Domain: ".example.test", Expires: "Wed, 21 Oct 2026 07:28:00 GMT", SameSite: "None", HTTPOnly: &yes, Secure: &yes},
		{Name: "plain", Value: "1", HTTPOnly: &no, Secure: &no},
	}
	if got := h.ResponseCookies(); !reflect.DeepEqual(got, wantResp) {
		t.Errorf("ResponseCookies = %+v, want %+v", got, wantResp)
	}
}
