package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// sazOf is the SAZ reader behind a trace source, or nil for a HAR.
func sazOf(src trace.Source) *saz.Reader {
	switch r := src.(type) {
	case *saz.Reader:
		return r
	case *sessionProgress:
		return r.Reader
	}
	return nil
}

// loadSAZBodyHeads loads, for the on-screen views, the first bodyHead
// decoded bytes of the bodies the SAZ reader left in the archive (over
// 1 MB), streaming them from their zip entries: the rest is counted, not
// held.
func loadSAZBodyHeads(o *ShowOptions, f *trace.Flow) error {
	for _, req := range []bool{true, false} {
		var body *[]byte
		switch {
		case req && len(f.Request.Body) == 0 && f.Request.HasBody && f.Request.BodySize > 0:
			body = &f.Request.Body
		case !req && f.Response != nil && len(f.Response.Body) == 0 && f.Response.BodyOmitted:
			body = &f.Response.Body
		default:
			continue
		}
		rc, err := o.saz.OpenBody(f.ID, req)
		if err != nil {
			return err
		}
		var head headWriter
		n, err := io.Copy(&head, rc)
		switch {
		case errors.Is(err, errHeadFull) && !req && f.Response.Size > 0:
			// Stored as it is: the size is known without reading the rest.
			n, err = f.Response.Size, nil
		case errors.Is(err, errHeadFull):
			var rest int64
			rest, err = io.Copy(io.Discard, rc)
			n = int64(len(head.b)) + rest
		}
		rc.Close()
		if err != nil {
			return err
		}
		// Keep whole runes only, so a text body is not taken for binary.
		b := head.b
		if utf8.Valid(b[:max(0, len(b)-utf8.UTFMax)]) {
			for len(b) > 0 && !utf8.Valid(b) {
				b = b[:len(b)-1]
			}
		}
		*body = b
		if req {
			o.reqWhole = int(n)
		} else {
			o.respWhole = int(n)
			f.Response.BodyOmitted = false
			f.Response.Size = n
		}
	}
	return nil
}

// streamSAZBody writes the decoded body of session id to --body straight
// from its zip entry, in constant memory.
func streamSAZBody(app *App, o *ShowOptions, id int) error {
	rc, err := o.saz.OpenBody(id, o.Request)
	if err != nil {
		return err
	}
	defer rc.Close()
	var w io.Writer = app.IO.Out
	var out *os.File
	if o.Body != "-" {
		if out, err = os.Create(o.Body); err != nil {
			return writeErr(o.Body, err)
		}
		defer out.Close()
		w = out
	} else if app.IO.OutTTY {
		return fmt.Errorf("session %d: the body is over 1 MB; not written to a terminal, give --body FILE", id)
	}
	n, err := io.Copy(w, rc)
	if err != nil {
		if out != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return writeErr(o.Body, err)
			}
		}
		return fmt.Errorf("%s: session %d: body: %w", o.File, id, err)
	}
	if out != nil {
		if err := out.Close(); err != nil {
			return writeErr(o.Body, err)
		}
		fmt.Fprintf(app.IO.ErrOut, "idtrace: wrote %d bytes to %s (secrets in it are not masked)\n", n, o.Body)
	}
	return nil
}
