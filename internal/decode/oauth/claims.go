package oauth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClaimAsk is one claim a client (or a resource, through a challenge)
// asks the identity provider to put in a token: one member of an OpenID
// Connect `claims` request parameter.
type ClaimAsk struct {
	// Token is "id_token", "access_token" or "userinfo".
	Token string `json:"token"`
	// Name is the claim ("nbf", "xms_cc", "acrs").
	Name      string   `json:"name"`
	Essential bool     `json:"essential,omitempty"`
	Value     string   `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
}

// ClaimsRequest is a decoded `claims` parameter (OpenID Connect Core §5.5)
// as Entra uses it: claims challenges from Conditional Access and continuous
// access evaluation, and client capabilities (xms_cc).
type ClaimsRequest struct {
	Asks []ClaimAsk `json:"asks"`
}

// maxClaims caps the size of a claims parameter this package decodes.
const maxClaims = 64 << 10

// ParseClaimsRequest decodes a claims parameter: JSON, or the base64 (std or
// URL alphabet) JSON that a WWW-Authenticate challenge carries. Members are
// returned sorted by token, then name.
func ParseClaimsRequest(s string) (ClaimsRequest, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxClaims {
		return ClaimsRequest{}, fmt.Errorf("oauth: claims parameter of %d bytes exceeds the %d-byte cap", len(s), maxClaims)
	}
	if s == "" {
		return ClaimsRequest{}, fmt.Errorf("oauth: claims parameter is empty")
	}
	raw := []byte(s)
	if s[0] != '{' {
		var err error
		raw, err = decodeAnyB64(s)
		if err != nil {
			return ClaimsRequest{}, fmt.Errorf("oauth: claims parameter is neither JSON nor base64 JSON")
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return ClaimsRequest{}, fmt.Errorf("oauth: claims parameter: %w", err)
	}
	var out ClaimsRequest
	for tok, body := range top {
		var members map[string]json.RawMessage
		if json.Unmarshal(body, &members) != nil {
			return ClaimsRequest{}, fmt.Errorf("oauth: claims parameter: member %q is not an object", tok)
		}
		for name, spec := range members {
			a := ClaimAsk{Token: tok, Name: name}
			var obj map[string]json.RawMessage
			if string(spec) != "null" && json.Unmarshal(spec, &obj) == nil {
				if e, ok := obj["essential"]; ok {
					_ = json.Unmarshal(e, &a.Essential)
				}
				if v, ok := obj["value"]; ok {
					a.Value = scalar(v)
				}
				if v, ok := obj["values"]; ok {
					var arr []json.RawMessage
					if json.Unmarshal(v, &arr) == nil {
						for _, x := range arr {
							a.Values = append(a.Values, scalar(x))
						}
					}
				}
			}
			out.Asks = append(out.Asks, a)
		}
	}
	slices.SortFunc(out.Asks, func(x, y ClaimAsk) int {
		if c := strings.Compare(x.Token, y.Token); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out, nil
}

func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

func decodeAnyB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// Find returns the first ask for the claim name in any token.
func (c ClaimsRequest) Find(name string) (ClaimAsk, bool) {
	for _, a := range c.Asks {
		if a.Name == name {
			return a, true
		}
	}
	return ClaimAsk{}, false
}

// Capabilities returns the client capabilities declared in xms_cc
// ("CP1": the client can handle claims challenges), deduplicated.
func (c ClaimsRequest) Capabilities() []string {
	var out []string
	for _, a := range c.Asks {
		if a.Name != "xms_cc" {
			continue
		}
		for _, v := range append(slices.Clone(a.Values), a.Value) {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Explain says in one sentence what an ask requires, in idtrace's words.
// at is the time of the request carrying it, to relate nbf to it.
func (a ClaimAsk) Explain(at time.Time) string {
	switch a.Name {
	case "nbf":
		if n, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			t := time.Unix(n, 0).UTC()
			s := "a token issued no earlier than " + t.Format(time.RFC3339)
			if !at.IsZero() {
				switch d := at.Sub(t).Round(time.Second); {
				case d >= 0:
					s += fmt.Sprintf(" (%s before this request)", d)
				default:
					s += fmt.Sprintf(" (%s after this request)", -d)
				}
			}
			return s + ": the resource forces a fresh sign-in rather than a cached session"
		}
		return "a token not valid before a given time: a fresh sign-in"
	case "xms_rp_ipaddr":
		return "a token bound to the IP address " + a.Value + " as the resource saw it: if Entra sees the user at another address (VPN, proxy, IPv6 vs IPv4), the resource refuses the token and sends the user back"
	case "xms_cc":
		return "the client declares capabilities " + strings.Join(a.Values, ",") + " (CP1: it can answer claims challenges, so Entra may issue long-lived tokens subject to continuous access evaluation)"
	case "acrs":
		return "an authentication context (" + strings.Join(append(slices.Clone(a.Values), a.Value), " ") + ") demanded by Conditional Access for a sensitive action"
	case "xms_ssm":
		return "a session management flag asked by the resource"
	}
	s := "claim " + a.Name
	if a.Essential {
		s += " (essential)"
	}
	if a.Value != "" {
		s += " = " + a.Value
	}
	return s
}
