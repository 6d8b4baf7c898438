package har

import (
	"regexp"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// harDate is the date pattern of the HAR JSON schema (a prefix match).
var harDate = regexp.MustCompile(`^(\d{4})(-)?(\d\d)(-)?(\d\d)(T)?(\d\d)(:)?(\d\d)(:)?(\d\d)(\.\d+)?(Z|([+-])(\d\d)(:)?(\d\d))?`)

// cacheValid reports whether a raw cache object follows the HAR 1.2 schema,
// so that the writer can put it in "cache" as it is. Firefox, for one,
// writes afterRequest objects without the required fields.
func cacheValid(raw []byte) bool {
	var c map[string]jsontext.Value
	if err := json.Unmarshal(raw, &c, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
		return false
	}
	for k, v := range c {
		switch k {
		case "beforeRequest", "afterRequest":
			if v.Kind() == 'n' {
				continue
			}
			if !cacheEntryValid(v) {
				return false
			}
		case "comment":
			if v.Kind() != '"' {
				return false
			}
		}
	}
	return true
}

func cacheEntryValid(v jsontext.Value) bool {
	var e map[string]jsontext.Value
	if err := json.Unmarshal(v, &e, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
		return false
	}
	for _, req := range []string{"lastAccess", "eTag", "hitCount"} {
		if _, ok := e[req]; !ok {
			return false
		}
	}
	for k, v := range e {
		switch k {
		case "expires", "lastAccess":
			var s string
			if v.Kind() != '"' || json.Unmarshal(v, &s) != nil || !harDate.MatchString(s) {
				return false
			}
		case "eTag", "comment":
			if v.Kind() != '"' {
				return false
			}
		case "hitCount":
			var n int64
			if v.Kind() != '0' || json.Unmarshal(v, &n) != nil {
				return false
			}
		}
	}
	return true
}
