package proxy

import (
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

// requestCookies fills HAR's cookie list from the Cookie headers (the
// headers stay the authority), keeping values as sent.
func requestCookies(hs trace.Headers) []trace.Cookie {
	var out []trace.Cookie
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for _, pair := range strings.Split(h.Value, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(pair), "=")
			if name = strings.TrimSpace(name); name != "" || value != "" {
				out = append(out, trace.Cookie{Name: name, Value: strings.TrimSpace(value)})
			}
		}
	}
	return out
}

// responseCookies reads each Set-Cookie header leniently: its first
// name=value pair and the attributes HAR has fields for.
func responseCookies(hs trace.Headers) []trace.Cookie {
	var out []trace.Cookie
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		attrs := strings.Split(h.Value, ";")
		name, value, _ := strings.Cut(attrs[0], "=")
		c := trace.Cookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
		if c.Name == "" && c.Value == "" {
			continue
		}
		var httpOnly, secure bool
		for _, a := range attrs[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "path":
				c.Path = v
			case "domain":
				c.Domain = v
			case "expires":
				c.Expires = v
			case "samesite":
				c.SameSite = v
			case "httponly":
				httpOnly = true
			case "secure":
				secure = true
			}
		}
		c.HTTPOnly, c.Secure = &httpOnly, &secure
		out = append(out, c)
	}
	return out
}
