// Package sample embeds the demo trace that `idtrace demo` opens: a
// synthetic sign-in the project generated itself (internal/sample/gen), with
// tokens signed by a throwaway key whose public half is in the trace. It holds
// no real secret of anyone.
package sample

import (
	"bytes"
	_ "embed"
	"io"
)

//go:embed demo.har
var demo []byte

// Name is the file name the demo trace is shown under.
const Name = "demo.har"

// Open returns a reader over the embedded demo trace (a HAR).
func Open() io.Reader { return bytes.NewReader(demo) }

// Bytes returns a copy of the demo trace.
func Bytes() []byte { return append([]byte(nil), demo...) }
