package trace

import "strings"

// RequestCookies lists the cookies of the Cookie headers, in order, values
// as written. The headers stay the authority; this fills HAR's cookie list.
func (h Headers) RequestCookies() []Cookie {
	var out []Cookie
	for _, v := range h.Values("Cookie") {
		for _, part := range strings.Split(v, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			out = append(out, Cookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
		}
	}
	return out
}

// ResponseCookies reads each Set-Cookie header leniently: the first
// name=value pair, then the Path, Domain, Expires, HttpOnly, Secure and
// SameSite attributes (others are ignored; the header keeps them).
func (h Headers) ResponseCookies() []Cookie {
	var out []Cookie
	for _, v := range h.Values("Set-Cookie") {
		parts := strings.Split(v, ";")
		name, value, _ := strings.Cut(parts[0], "=")
		c := Cookie{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}
		if c.Name == "" && c.Value == "" {
			continue
		}
		httpOnly, secure := false, false
		for _, a := range parts[1:] {
			k, val, _ := strings.Cut(strings.TrimSpace(a), "=")
			val = strings.TrimSpace(val)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "path":
				c.Path = val
			case "domain":
				c.Domain = val
			case "expires":
				c.Expires = val
			case "httponly":
				httpOnly = true
			case "secure":
				secure = true
			case "samesite":
				c.SameSite = val
			}
		}
		c.HTTPOnly, c.Secure = &httpOnly, &secure
		out = append(out, c)
	}
	return out
}
