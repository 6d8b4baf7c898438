package cli

import "fmt"

// maxDetachedPayload caps the content read with `jwt --payload`.
const maxDetachedPayload = 16 << 20

// detachedPayload reads `jwt --payload FILE`: the content a detached JWS
// signature covers; nil when the flag is not given.
func detachedPayload(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	b, err := readCapped(file, maxDetachedPayload)
	if err != nil {
		return nil, fmt.Errorf("--payload: %w", err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}
