package oauth

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// SASResult is the JSON answer of Entra's strong-authentication service to
// the sign-in page (SAS/BeginAuth, SAS/EndAuth): the state of one MFA
// attempt. FlowToken, Ctx and similar opaque state are not kept.
type SASResult struct {
	Success bool `json:"success"`
	// ResultValue is the outcome ("Success", "PhoneAppDenied",
	// "PhoneAppNotificationTimeout", "AuthenticationPending", "InvalidOTP"...).
	ResultValue string `json:"result_value,omitempty"`
	Message     string `json:"message,omitempty"`
	// AuthMethodID is the method ("PhoneAppNotification", "PhoneAppOTP",
	// "OneWaySMS", "TwoWayVoiceMobile", ...).
	AuthMethodID  string `json:"auth_method_id,omitempty"`
	ErrCode       int    `json:"err_code,omitempty"`
	Retry         bool   `json:"retry,omitempty"`
	SessionID     string `json:"session_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
}

// ParseSAS decodes a SAS/BeginAuth or SAS/EndAuth JSON answer. ok is false
// when body is not one (it must carry ResultValue or AuthMethodId).
func ParseSAS(body []byte) (SASResult, bool) {
	if len(body) > maxJSON {
		return SASResult{}, false
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return SASResult{}, false
	}
	if m["ResultValue"] == nil && m["AuthMethodId"] == nil {
		return SASResult{}, false
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(m[k], &s) != nil {
			return ""
		}
		return s
	}
	r := SASResult{ResultValue: str("ResultValue"), Message: str("Message"), AuthMethodID: str("AuthMethodId"),
		SessionID: str("SessionId"), CorrelationID: str("CorrelationId"), Timestamp: str("Timestamp")}
	_ = json.Unmarshal(m["Success"], &r.Success)
	_ = json.Unmarshal(m["Retry"], &r.Retry)
	var n json.Number
	if json.Unmarshal(m["ErrCode"], &n) == nil {
		if v, err := strconv.Atoi(n.String()); err == nil {
			r.ErrCode = v
		}
	}
	return r, true
}
