package saz

import (
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

// HTTP/2 and HTTP/3 pseudo-headers (":authority", ":status", ...) that HAR
// files from browsers list among the headers are not valid HTTP/1.x header
// lines, and Fiddler flags a line without a name as a protocol violation.
// The Writer therefore moves them out of raw/N_c.txt and raw/N_s.txt into
// two session flags, one line "index name value" per header, and the
// Reader puts them back at their positions and removes the flags. Fiddler
// shows the flags as ordinary session flags.
const (
	flagReqPseudo  = "x-idtrace-request-pseudo-headers"
	flagRespPseudo = "x-idtrace-response-pseudo-headers"
)

func isPseudo(name string) bool { return len(name) > 1 && name[0] == ':' }

// splitPseudo returns hs without pseudo-headers and their encoding ("" if none).
func splitPseudo(hs trace.Headers) (trace.Headers, string) {
	var lines []string
	for i, h := range hs {
		if isPseudo(h.Name) {
			lines = append(lines, strconv.Itoa(i)+" "+h.Name+" "+h.Value)
		}
	}
	if lines == nil {
		return hs, ""
	}
	rest := make(trace.Headers, 0, len(hs)-len(lines))
	for _, h := range hs {
		if !isPseudo(h.Name) {
			rest = append(rest, h)
		}
	}
	return rest, strings.Join(lines, "\n")
}

// joinPseudo puts encoded pseudo-headers back into hs at their positions.
// Malformed lines are ignored (they came from a flag, not from the wire).
func joinPseudo(hs trace.Headers, enc string) trace.Headers {
	if enc == "" {
		return hs
	}
	out := make(trace.Headers, 0, len(hs)+4)
	rest := hs
	for _, line := range strings.Split(enc, "\n") {
		is, nv, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(is)
		if !ok || err != nil || i < 0 {
			continue
		}
		name, value, _ := strings.Cut(nv, " ")
		if !isPseudo(name) {
			continue
		}
		for len(out) < i && len(rest) > 0 {
			out = append(out, rest[0])
			rest = rest[1:]
		}
		out = append(out, trace.Header{Name: name, Value: value})
	}
	return append(out, rest...)
}

// restorePseudo applies and removes the pseudo-header flags of f.
func restorePseudo(f *trace.Flow) {
	kept := f.Flags[:0]
	for _, fl := range f.Flags {
		switch {
		case strings.EqualFold(fl.Name, flagReqPseudo) && f.Request != nil:
			f.Request.Headers = joinPseudo(f.Request.Headers, fl.Value)
		case strings.EqualFold(fl.Name, flagRespPseudo) && f.Response != nil:
			f.Response.Headers = joinPseudo(f.Response.Headers, fl.Value)
		default:
			kept = append(kept, fl)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	f.Flags = kept
}
