package analyze

import (
	"strings"
	"testing"
	"time"
)

// TestProcessAuth: the form the sign-in page posts to SAS/ProcessAuth is
// told as a step (method, how long the page waited for the answer), and a
// one-time code the user typed is never shown.
func TestProcessAuth(t *testing.T) {
	var b fb
	b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedTFA","correlationId":"`+corrID+`","sPOST_Username":"alice@contoso.example"};</script>`)
	b.add("POST", entra+"common/SAS/EndAuth", jsonCT(), `{"AuthMethodId":"PhoneAppNotification","Method":"EndAuth"}`, 200, ests(),
		`{"Success":true,"ResultValue":"Success","AuthMethodId":"PhoneAppNotification","ErrCode":0}`)
	b.add("POST", entra+"common/SAS/ProcessAuth", nil,
		"type=22&request=REQ&mfaAuthMethod=PhoneAppNotification&flowToken=FLOWTOKEN-SECRET&mfaLastPollStart=1740823200000&mfaLastPollEnd=1740823212400", 200, ests(),
		`<script>$Config={"pgid":"KmsiInterrupt","correlationId":"`+corrID+`"};</script>`)
	b.add("POST", entra+"common/SAS/ProcessAuth", nil, "type=19&mfaAuthMethod=OneWaySMS&otc=OTC-SECRET-123456", 200, ests(),
		`<script>$Config={"pgid":"KmsiInterrupt"};</script>`)
	r, err := Run(sliceSource(b.flows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Flows) != 1 {
		t.Fatalf("sign-ins %+v", r.Flows)
	}
	var details []string
	for _, st := range r.Flows[0].Steps {
		details = append(details, st.Detail)
	}
	all := strings.Join(details, "\n")
	for _, want := range []string{"MFA finished with PhoneAppNotification after waiting 12.4s for the answer", "MFA finished with OneWaySMS (one-time code entered)", "page KmsiInterrupt"} {
		if !strings.Contains(all, want) {
			t.Errorf("steps lack %q:\n%s", want, all)
		}
	}
	var txt strings.Builder
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"OTC-SECRET", "FLOWTOKEN-SECRET"} {
		if strings.Contains(txt.String()+all, secret) {
			t.Errorf("the report shows %s", secret)
		}
	}
}

// TestKMSIAnswer: the user's answer to "Stay signed in?" is a step detail.
func TestKMSIAnswer(t *testing.T) {
	for form, want := range map[string]string{
		"LoginOptions=1&type=28&flowToken=FT&DontShowAgain=true": "'Stay signed in?': yes (persistent session), don't show again",
		"LoginOptions=3&type=28&flowToken=FT":                    "'Stay signed in?': no",
		"type=28&flowToken=FT":                                   "",
	} {
		var b fb
		b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"KmsiInterrupt","correlationId":"`+corrID+`"};</script>`)
		b.add("POST", entra+"kmsi", nil, form, 200, ests(), "<html></html>")
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Flows) != 1 || len(r.Flows[0].Steps) != 2 || r.Flows[0].Steps[1].Detail != want {
			t.Errorf("%s: steps %+v, want detail %q", form, r.Flows, want)
		}
	}
}

func TestLifetime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * 24 * time.Hour:          "for 90 days",
		24 * time.Hour:               "for 24 hours",
		time.Hour + 20*time.Second:   "for 60 minutes",
		5 * time.Minute:              "for 5 minutes",
		time.Second:                  "for 1 second",
		90*time.Second + time.Second: "for 91 seconds",
	} {
		if got := lifetime(d); got != want {
			t.Errorf("lifetime(%s) = %q, want %q", d, got, want)
		}
	}
}
