package kb

import (
	_ "embed"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/aadb2c.csv
var aadb2cCSV []byte

var b2cCodes = sync.OnceValues(func() (errorTable, error) { return loadErrorTable("aadb2c.csv", aadb2cCSV) })

// LookupB2CError returns the Azure AD B2C code (the number after
// "AADB2C": 90118 for AADB2C90118).
func LookupB2CError(code int) (ErrorCode, bool) {
	t, _ := b2cCodes()
	i, ok := t.by[code]
	if !ok {
		return ErrorCode{}, false
	}
	return t.list[i], true
}

// B2CErrors returns every known AADB2C code, sorted by code (a copy).
func B2CErrors() []ErrorCode {
	t, _ := b2cCodes()
	return slices.Clone(t.list)
}

// FindB2CCode returns the first "AADB2C" followed by digits in s, as a
// number; 0 if there is none.
func FindB2CCode(s string) int {
	for i := 0; i+6 <= len(s); i++ {
		if !strings.EqualFold(s[i:i+6], "AADB2C") {
			continue
		}
		end := i + 6
		for end < len(s) && end < i+15 && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		if n, err := strconv.Atoi(s[i+6 : end]); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// CheckErrors parses the error tables (AADSTS and AADB2C) and returns the
// first error.
func CheckErrors() error {
	if _, err := errorCodes(); err != nil {
		return err
	}
	_, err := b2cCodes()
	return err
}
