package oauth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// bluecoreClaims is the shape of the claims parameter SharePoint sends
// when it forces an IP-bound re-authentication (values are made up).
const bluecoreClaims = `{"id_token":{"nbf":{"essential":true,"value":"1727869997"},"xms_rp_ipaddr":{"value":"192.0.2.51"},"xms_cc":{"values":["CP1"]}},"access_token":{"nbf":{"essential":true,"value":"1727869997"},"xms_rp_ipaddr":{"value":"192.0.2.51"}}}`

func TestParseClaimsRequest(t *testing.T) {
	c, err := ParseClaimsRequest(bluecoreClaims)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Asks) != 5 || c.Asks[0].Token != "access_token" || c.Asks[0].Name != "nbf" || !c.Asks[0].Essential || c.Asks[0].Value != "1727869997" {
		t.Fatalf("asks %+v", c.Asks)
	}
	ip, ok := c.Find("xms_rp_ipaddr")
	if !ok || ip.Value != "192.0.2.51" || !strings.Contains(ip.Explain(time.Time{}), "192.0.2.51") {
		t.Errorf("xms_rp_ipaddr %+v", ip)
	}
	if caps := c.Capabilities(); len(caps) != 1 || caps[0] != "CP1" {
		t.Errorf("capabilities %v", caps)
	}
	nbf, _ := c.Find("nbf")
	at := time.Unix(1727869997, 0).Add(20 * time.Second)
	if e := nbf.Explain(at); !strings.Contains(e, "2024-10-02T11:53:17Z") || !strings.Contains(e, "20s before") {
		t.Errorf("nbf explained as %q", e)
	}
	if e := nbf.Explain(at.Add(-50 * time.Second)); !strings.Contains(e, "30s after this request") || strings.Contains(e, "-30s") {
		t.Errorf("nbf later than the request explained as %q", e)
	}
	// A CAE challenge carries the same JSON base64-encoded.
	cae := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	for _, enc := range []string{base64.StdEncoding.EncodeToString([]byte(cae)), base64.RawURLEncoding.EncodeToString([]byte(cae))} {
		c, err := ParseClaimsRequest(enc)
		if err != nil || len(c.Asks) != 1 || c.Asks[0].Name != "nbf" {
			t.Errorf("base64 challenge %q: %+v %v", enc, c, err)
		}
	}
	for _, bad := range []string{"", "{", "!!!", `{"id_token":3}`, strings.Repeat("a", maxClaims+1)} {
		if _, err := ParseClaimsRequest(bad); err == nil {
			t.Errorf("ParseClaimsRequest(%.20q) accepted", bad)
		}
	}
}

func TestParseSAS(t *testing.T) {
	r, ok := ParseSAS([]byte(`{"Success":false,"ResultValue":"PhoneAppDenied","Message":null,"AuthMethodId":"PhoneAppNotification","ErrCode":500121,"Retry":false,"FlowToken":"SECRETFLOW","Ctx":"c","SessionId":"s-1","CorrelationId":"c-1","Timestamp":"2025-03-01T10:00:05Z"}`))
	if !ok || r.Success || r.ResultValue != "PhoneAppDenied" || r.ErrCode != 500121 || r.AuthMethodID != "PhoneAppNotification" || r.CorrelationID != "c-1" {
		t.Fatalf("%+v %v", r, ok)
	}
	if _, ok := ParseSAS([]byte(`{"error":"x"}`)); ok {
		t.Error("an OAuth error taken for a SAS answer")
	}
	if _, ok := ParseSAS([]byte(`not json`)); ok {
		t.Error("non-JSON accepted")
	}
}

func TestSignInPageServerDetails(t *testing.T) {
	c, ok := ParseSignInPage([]byte(`<script>$Config={"pgid":"ConvergedTFA","correlationId":"c","sessionId":"r","serverDetails":{"slc":"ProdSlices","dc":"WEULR1","ri":"AM4XXXX","rt":"2025-03-01T10:00:01","et":3},"arrUserProofs":[{"authMethodId":"OneWaySMS","isDefault":false},{"authMethodId":"PhoneAppNotification","isDefault":true}]};</script>`))
	if !ok || c.ServerTime != "2025-03-01T10:00:01" || c.DataCenter != "WEULR1" || c.ServerInstance != "AM4XXXX" || strings.Join(c.ProofMethods, ",") != "PhoneAppNotification,OneWaySMS" {
		t.Errorf("%+v", c)
	}
}

func FuzzParseClaimsRequest(f *testing.F) {
	f.Add(bluecoreClaims)
	f.Add(`eyJhY2Nlc3NfdG9rZW4iOnt9fQ==`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClaimsRequest(s)
		if err != nil {
			return
		}
		for _, a := range c.Asks {
			_ = a.Explain(time.Unix(0, 0))
		}
		_ = c.Capabilities()
	})
}

func FuzzParseSAS(f *testing.F) {
	f.Add([]byte(`{"Success":true,"ResultValue":"Success","ErrCode":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseSAS(b)
	})
}
