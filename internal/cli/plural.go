package cli

import "strconv"

// count writes n and the noun, with an s when n is not 1 ("1 request",
// "3 requests").
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
