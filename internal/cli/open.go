package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// traceOptions are the flags every command that opens a trace shares.
type traceOptions struct {
	// Password opens encrypted SAZ archives; IDTRACE_SAZ_PASSWORD is the default.
	Password string
	// skipBodies drops HAR bodies over 1 MB while reading (see skipBodies):
	// for commands that list sessions without looking into bodies.
	skipBodies bool
}

// progressThreshold is the input size above which a progress line is shown
// on stderr (only when stderr is a terminal).
const progressThreshold = 50 << 20

// openTrace opens a HAR or SAZ file ("-" reads HAR from stdin) and returns its
// flow stream. The format is recognised from the content, not the extension.
// The caller must Close the closer.
func openTrace(app *App, path string, opts traceOptions) (trace.Source, io.Closer, error) {
	if path == "-" {
		br := bufio.NewReaderSize(app.IO.In, 64<<10)
		if head, _ := br.Peek(4); bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			return nil, nil, errors.New("stdin: SAZ archives cannot be read from stdin; give the file name")
		}
		head, _ := br.Peek(512)
		if err := sniffTrace("stdin", head); err != nil {
			return nil, nil, err
		}
		if opts.skipBodies {
			return har.NewReader(newSkipBodies(br), "stdin"), io.NopCloser(nil), nil
		}
		return har.NewReader(br, "stdin"), io.NopCloser(nil), nil
	}
	f, st, err := openFile(path)
	if err != nil {
		return nil, nil, err
	}
	name := path
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if err := sniffTrace(path, head[:n]); err != nil {
		f.Close()
		return nil, nil, err
	}
	if bytes.HasPrefix(head[:n], []byte("PK")) {
		so := saz.Options{Password: sazPassword(app, opts)}
		if opts.skipBodies {
			// Bodies over 1 MB stay in the archive (see skipBodies).
			so.StreamOver = 1 << 20
		}
		r, err := saz.Open(f, st.Size(), name, so)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		if st.Size() > progressThreshold && app.IO.ErrTTY {
			return &sessionProgress{Reader: r, name: name, w: app.IO.ErrOut}, f, nil
		}
		return r, f, nil
	}
	if strings.EqualFold(filepath.Ext(path), ".saz") && n > 0 {
		f.Close()
		return nil, nil, &trace.InputError{File: name, Entry: -1, Offset: 0, Err: errors.New("not a SAZ archive (no zip signature)")}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	var rd io.Reader = f
	if st.Size() > progressThreshold && app.IO.ErrTTY {
		rd = newProgressReader(f, st.Size(), name, app.IO.ErrOut)
	}
	if opts.skipBodies {
		return har.NewReader(newSkipBodies(rd), name), progressCloser{f, rd}, nil
	}
	return har.NewReader(bufio.NewReaderSize(rd, 256<<10), name), progressCloser{f, rd}, nil
}

// countTrace counts the flows of a trace as cheaply as the format allows:
// HAR by skipping over each entry, SAZ from the zip directory alone.
func countTrace(app *App, path string, opts traceOptions) (int, error) {
	if path == "-" {
		return har.Count(newSkipBodies(app.IO.In), "stdin")
	}
	f, st, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	name := path
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if err := sniffTrace(path, head[:n]); err != nil {
		return 0, err
	}
	if n >= 2 && string(head[:2]) == "PK" {
		return saz.Count(f, st.Size(), name, saz.Options{Password: sazPassword(app, opts)})
	}
	if strings.EqualFold(filepath.Ext(path), ".saz") {
		return 0, &trace.InputError{File: name, Entry: -1, Offset: 0, Err: errors.New("not a SAZ archive (no zip signature)")}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	var rd io.Reader = f
	if st.Size() > progressThreshold && app.IO.ErrTTY {
		p := newProgressReader(f, st.Size(), name, app.IO.ErrOut)
		defer p.Close()
		rd = p
	}
	return har.Count(newSkipBodies(rd), name)
}

// FileError is a file a command could not open or read, named as the
// user typed it, with why in words ("no such file", "is a directory").
// Err is the underlying error (errors.Is(err, fs.ErrNotExist) still holds).
type FileError struct {
	Path string
	Why  string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Why }
func (e *FileError) Unwrap() error { return e.Err }

// fileErr turns an error of opening or reading path into a FileError, the
// one line every command prints for it (never Go's "open X: ...").
func fileErr(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	why := err.Error()
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		why = "no such file"
	case errors.Is(err, fs.ErrPermission):
		why = "permission denied"
	case errors.As(err, &pe):
		why = pe.Err.Error()
	}
	return &FileError{Path: path, Why: why, Err: err}
}

// openInput opens a file a command reads (a trace, a log, a key, a
// journal). Errors are FileErrors naming path as typed; a directory is
// refused with "is a directory", what adds what the file should be.
func openInput(path, what string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileErr(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fileErr(path, err)
	}
	if st.IsDir() {
		f.Close()
		why := "is a directory"
		if what != "" {
			why += ", not " + what
		}
		return nil, nil, &FileError{Path: path, Why: why, Err: fs.ErrInvalid}
	}
	return f, st, nil
}

// openFile opens a trace file and says in words why it cannot: errors
// name the file as the user typed it.
func openFile(path string) (*os.File, os.FileInfo, error) {
	return openInput(path, "a HAR or SAZ file")
}

// sniffTrace rejects, before any parsing, content that can be neither a
// HAR (JSON: an object after an optional BOM and white space) nor a SAZ (a
// zip archive), naming the first bytes so the user sees what it is.
func sniffTrace(path string, head []byte) error {
	if len(head) == 0 {
		return fmt.Errorf("%s: empty file, not a HAR or SAZ file", path)
	}
	if bytes.HasPrefix(head, []byte("PK")) {
		return nil
	}
	t := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n")
	if len(t) == 0 || t[0] == '{' {
		return nil
	}
	n := min(len(head), 4)
	hexs := make([]string, n)
	for i := range n {
		hexs[i] = fmt.Sprintf("%02x", head[i])
	}
	more := ""
	if len(head) > n {
		more = " …"
	}
	return fmt.Errorf("%s: not a HAR or SAZ file: starts with bytes %s%s", path, strings.Join(hexs, " "), more)
}

// fileArg checks a trace file argument before anything is opened: it must
// not be empty ("-" is stdin). Whether the file exists is an I/O question
// answered by opening it (exit 1), not a usage error.
func fileArg(what, v string) error {
	if strings.TrimSpace(v) == "" {
		return usageErr("%s is empty: give a .har or .saz file, or - for stdin", what)
	}
	return nil
}

// sazPassword is --password, else $IDTRACE_SAZ_PASSWORD.
func sazPassword(app *App, opts traceOptions) string {
	if opts.Password != "" {
		return opts.Password
	}
	return app.Getenv("IDTRACE_SAZ_PASSWORD")
}

type progressCloser struct {
	f  *os.File
	rd io.Reader
}

func (p progressCloser) Close() error {
	if pr, ok := p.rd.(*progressReader); ok {
		pr.Close()
	}
	return p.f.Close()
}

// sessionProgress reports, on stderr, how many of a large SAZ's sessions
// have been read (a SAZ is read by session, not as a byte stream).
type sessionProgress struct {
	*saz.Reader
	name string
	w    io.Writer
}

func (p *sessionProgress) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		total, last, shown := p.Len(), time.Time{}, false
		defer func() {
			if shown {
				fmt.Fprint(p.w, "\r\033[K")
			}
		}()
		for f, err := range p.Reader.Flows() {
			if now := time.Now(); err == nil && now.Sub(last) > 200*time.Millisecond {
				last, shown = now, true
				fmt.Fprintf(p.w, "\r%s: session %d of %d", p.name, f.ID, total)
			}
			if !yield(f, err) {
				return
			}
		}
	}
}
