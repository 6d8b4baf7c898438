// Package diff compares the sign-ins of two traces: it matches each sign-in
// of one trace with its counterpart in the other and finds the first
// difference between them that matters — the endpoint reached, a request
// parameter, a token claim, a cookie sent, a status, an error.
package diff

// Result is the comparison of two traces.
type Result struct {
	Left  string `json:"left"`
	Right string `json:"right"`
}
