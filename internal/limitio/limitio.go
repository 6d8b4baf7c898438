// Package limitio holds a reader that refuses to read a stream past a
// limit the caller can move, for parsers of untrusted input that must
// bound what one record (a HAR entry, a CSV row) may make them buffer. It
// imports nothing internal, so every reader package may use it.
package limitio

import "io"

// Reader reads from R until N, the count of bytes read so far, reaches
// Limit; from then on Read returns Err (io.ErrUnexpectedEOF when Err is
// nil) without reading. Move the limit with Allow or by setting Limit.
// It is not safe for concurrent use.
type Reader struct {
	R     io.Reader
	N     int64 // bytes read so far
	Limit int64 // absolute: no read goes past it
	Err   error // returned once N has reached Limit
}

// Read reads at most up to the limit.
func (r *Reader) Read(p []byte) (int, error) {
	if r.N >= r.Limit {
		if r.Err == nil {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, r.Err
	}
	if rest := r.Limit - r.N; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.R.Read(p)
	r.N += int64(n)
	return n, err
}

// Allow sets the limit n bytes past what has been read so far.
func (r *Reader) Allow(n int64) { r.Limit = r.N + n }
