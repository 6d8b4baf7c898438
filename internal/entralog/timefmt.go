package entralog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the timestamp spellings seen in Entra exports: RFC 3339
// with 7-digit fractions (Graph, diagnostic settings, with Z or an offset),
// the same without a zone (taken as UTC), and the US-style local rendering
// of the Log Analytics portal ("4/28/2021, 2:08:45.221 PM"), which is UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006, 3:04:05.999999999 PM",
	"1/2/2006, 3:04:05 PM",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	"1/2/2006, 15:04:05.999999999",
	"2.1.2006 15:04:05",
	"2006/01/02 15:04:05",
}

// parseTime parses an export timestamp; "" gives the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		// Windows PowerShell 5 ConvertTo-Json: milliseconds since 1970,
		// maybe followed by an offset that does not change the instant.
		v := s[len("/Date(") : len(s)-2]
		if i := strings.IndexAny(v[1:], "+-"); i >= 0 {
			v = v[:i+1]
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", trunc(s, 64))
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
