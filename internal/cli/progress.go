package cli

import (
	"fmt"
	"io"
	"time"
)

// progressReader reports how much of a large input has been read, on one
// self-rewriting stderr line. Used only when stderr is a terminal.
type progressReader struct {
	r     io.Reader
	total int64
	done  int64
	name  string
	w     io.Writer
	last  time.Time
	shown bool
}

func newProgressReader(r io.Reader, total int64, name string, w io.Writer) *progressReader {
	return &progressReader{r: r, total: total, name: name, w: w}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) > 200*time.Millisecond {
		p.last = now
		p.shown = true
		pct := float64(p.done) * 100 / float64(max(p.total, 1))
		fmt.Fprintf(p.w, "\r%s: %5.1f%% of %s", p.name, pct, humanBytes(p.total))
	}
	return n, err
}

// Close clears the progress line.
func (p *progressReader) Close() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
