package saz

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	yzip "github.com/yeka/zip"

	"github.com/idtrace/idtrace/internal/httpmsg"
	"github.com/idtrace/idtrace/internal/trace"
)

// Options control reading. Zero fields take the defaults.
type Options struct {
	// Password opens encrypted archives (ZipCrypto or WinZip AES).
	Password string
	// MaxEntryBytes caps one uncompressed entry (default 256 MiB).
	MaxEntryBytes int64
	// MaxTotalBytes caps all uncompressed bytes read (default 8 GiB).
	MaxTotalBytes int64
	// MaxRatio caps an entry's uncompressed/compressed ratio once it is
	// larger than 1 MiB (default 1000).
	MaxRatio int64
	// Limits bounds HTTP message parsing (header lines, decoded bodies).
	Limits httpmsg.Limits
	// StreamOver, when above 0, leaves in the archive the body of every
	// raw/N_c.txt or N_s.txt entry larger than StreamOver uncompressed
	// bytes: Flows reads only its start line and headers (Body empty;
	// Request.HasBody, or Response.BodyOmitted, set), and OpenBody streams
	// the body. MaxEntryBytes does not apply to those entries.
	StreamOver int64
}

const (
	defaultMaxEntry = 256 << 20
	defaultMaxTotal = 8 << 30
	defaultRatio    = 1000
	ratioFloor      = 1 << 20
	maxXMLBytes     = 8 << 20
	maxEntries      = 4 << 20
)

// ErrEncrypted is wrapped by the error returned when an encrypted archive is
// opened without a password or with a wrong one.
var ErrEncrypted = errors.New("the archive is encrypted (password-protected)")

// Reader reads a SAZ archive one session at a time. It implements
// trace.Source. Only the reader's goroutine may use it.
type Reader struct {
	name     string
	opts     Options
	ra       io.ReaderAt
	size     int64
	sessions []session
	// dirOff is where the central directory of a plain archive starts
	// (see zipindex.go); zr (and yz, when some entry is encrypted) is used
	// instead for archives that archive/zip must read.
	dirOff   int64
	zr       *zip.Reader
	yz       *yzip.Reader
	br       *bufio.Reader // reused for each plain entry
	dbr      *bufio.Reader // reused for each decrypted entry
	aesKeys  aesKeyCache   // keys of the last AES salt seen
	fr       io.ReadCloser // reused inflater
	comment  string
	marked   bool // the archive carries Fiddler's own files
	meta     trace.Meta
	total    int64
	closer   io.Closer
	warnings []string
	// openWarnings is how many warnings Open found (kept across passes).
	openWarnings int
}

var _ trace.Source = (*Reader)(nil)

// session is one session's files: 28 bytes, no strings.
type session struct {
	num   int32     // the number N of the entry names
	width uint8     // how many digits N is written with ("007": 3)
	spell [4]uint8  // how each name is spelled (see spelling)
	files [4]uint32 // c, s, m, w: offset of the record in the central directory (or index in zr.File); none if absent
}

const none = ^uint32(0)

const (
	fileC = iota
	fileS
	fileM
	fileW
)

var sessionName = regexp.MustCompile(`^raw/([0-9]{1,9})_([csmwCSMW])\.(txt|xml|TXT|XML)$`)
var versionRE = regexp.MustCompile(`\(v([0-9][0-9.]*)\)`)

// OpenFile opens the SAZ archive at path; Close releases the file.
func OpenFile(path string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := Open(f, st.Size(), path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close releases the file opened by OpenFile; it is a no-op for Open.
func (r *Reader) Close() error {
	if r.closer != nil {
		c := r.closer
		r.closer = nil
		return c.Close()
	}
	return nil
}

// Open reads the central directory of a SAZ archive of the given size.
// name labels errors. It checks every entry name (zip-slip) and the
// declared sizes, but reads no session yet.
func Open(ra io.ReaderAt, size int64, name string, opts Options) (*Reader, error) {
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = defaultMaxEntry
	}
	if opts.MaxTotalBytes <= 0 {
		opts.MaxTotalBytes = defaultMaxTotal
	}
	if opts.MaxRatio <= 0 {
		opts.MaxRatio = defaultRatio
	}
	r := &Reader{name: name, opts: opts, ra: ra, size: size}
	handled, err := r.openIndex()
	if err != nil {
		return nil, err
	}
	if !handled {
		if err := r.openZip(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(r.sessions, func(i, j int) bool { return keyLess(&r.sessions[i], &r.sessions[j]) })
	kept := r.sessions[:0]
	for _, s := range r.sessions {
		if s.files[fileC] == none {
			k := s.key()
			r.warnings = append(r.warnings, fmt.Sprintf("session %s has no raw/%s_c.txt; skipped", k, k))
			continue
		}
		kept = append(kept, s)
	}
	r.sessions = kept
	r.openWarnings = len(r.warnings)
	if len(r.sessions) == 0 && !r.marked {
		return nil, r.errf(-1, "raw/", "not a SAZ archive: no raw/N_c.txt session entries")
	}
	if r.zr != nil {
		if err := r.openEncrypted(); err != nil {
			return nil, err
		}
	}
	r.meta = trace.Meta{Format: "saz", Creator: trace.Software{Name: "Fiddler"}}
	if m := versionRE.FindStringSubmatch(r.comment); m != nil {
		r.meta.Version = m[1]
		r.meta.Creator.Version = m[1]
	}
	r.meta.Comment = strings.TrimSpace(r.comment)
	return r, nil
}

// addFile files entry idx, named name, under its session when the name is
// a session file's; it reports whether it was one.
func (r *Reader) addFile(byKey map[uint64]int32, name []byte, idx uint32) (bool, error) {
	m := sessionName.FindSubmatchIndex(name)
	if m == nil {
		return false, nil
	}
	digits := name[m[2]:m[3]]
	n, _ := strconv.Atoi(string(digits))
	k := indexOfKind(name[m[4]])
	mk := uint64(n)<<8 | uint64(len(digits))
	si, ok := byKey[mk]
	if !ok {
		si = int32(len(r.sessions))
		byKey[mk] = si
		r.sessions = append(r.sessions, session{num: int32(n), width: uint8(len(digits)), files: [4]uint32{none, none, none, none}})
	}
	s := &r.sessions[si]
	if s.files[k] != none {
		return true, r.errf(n, string(name), "duplicate entry")
	}
	s.files[k] = idx
	s.spell[k] = spelling(name[m[4]:m[5]], name[m[6]:m[7]])
	return true, nil
}

// openZip reads the directory through archive/zip: for encrypted archives
// and those with data before the zip.
func (r *Reader) openZip() error {
	zr, err := zip.NewReader(r.ra, r.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return r.errf(-1, "", "not a SAZ archive (not a valid zip file): %w", err)
	}
	r.zr = zr
	if len(zr.File) > maxEntries {
		return r.errf(-1, "", "too many entries (%d, limit %d)", len(zr.File), maxEntries)
	}
	byKey := map[uint64]int32{}
	for i, f := range zr.File {
		if f.Name == "[Content_Types].xml" || f.Name == "_index.htm" {
			r.marked = true
		}
		if err := checkName(f.Name); err != nil {
			return r.errf(-1, f.Name, "%w", err)
		}
		if f.UncompressedSize64 > uint64(r.opts.MaxEntryBytes) && !r.streamed(f.Name, f.UncompressedSize64) {
			return r.errf(-1, f.Name, "entry declares %d uncompressed bytes, over the %d-byte cap", f.UncompressedSize64, r.opts.MaxEntryBytes)
		}
		if f.CompressedSize64 > uint64(r.size) {
			return r.errf(-1, f.Name, "entry declares %d compressed bytes in a %d-byte archive", f.CompressedSize64, r.size)
		}
		if _, err := r.addFile(byKey, []byte(f.Name), uint32(i)); err != nil {
			return err
		}
	}
	r.comment = zr.Comment
	return nil
}

// openEncrypted opens the yeka/zip directory when some entry is encrypted.
func (r *Reader) openEncrypted() error {
	encrypted := false
	for _, f := range r.zr.File {
		if f.Flags&1 != 0 {
			encrypted = true
		}
	}
	if !encrypted {
		return nil
	}
	if r.opts.Password == "" {
		return r.errf(-1, "", "%w: give the password (--password or IDTRACE_SAZ_PASSWORD)", ErrEncrypted)
	}
	yz, err := yzip.NewReader(r.ra, r.size)
	if err != nil || len(yz.File) != len(r.zr.File) {
		if err == nil {
			err = errors.New("directory mismatch")
		}
		return r.errf(-1, "", "%w: cannot read its directory: %v", ErrEncrypted, err)
	}
	for i, f := range yz.File {
		if f.Name != r.zr.File[i].Name {
			return r.errf(-1, f.Name, "%w: directory mismatch", ErrEncrypted)
		}
		f.SetPassword(r.opts.Password)
	}
	r.yz = yz
	return nil
}

// checkName rejects entry names that could escape an extraction directory.
func checkName(n string) error {
	switch {
	case n == "":
		return errors.New("empty entry name")
	case strings.ContainsAny(n, "\\\x00"):
		return fmt.Errorf("unsafe entry name %q (backslash or NUL; zip-slip)", n)
	case strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':'):
		return fmt.Errorf("unsafe entry name %q (absolute path; zip-slip)", n)
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return fmt.Errorf("unsafe entry name %q (parent directory; zip-slip)", n)
		}
	}
	return nil
}

func (r *Reader) errf(entry int, field, format string, args ...any) *trace.InputError {
	e := &trace.InputError{File: r.name, Entry: entry, Offset: -1, Field: field, Err: fmt.Errorf(format, args...)}
	if entry >= 0 {
		e.EntryKind = "session"
	}
	return e
}

// Meta returns the trace metadata (complete after Open).
func (r *Reader) Meta() *trace.Meta { return &r.meta }

// Len returns the number of sessions the archive holds.
func (r *Reader) Len() int { return len(r.sessions) }

// Warnings lists problems that did not stop reading (orphan entries,
// bodies kept undecoded), in the order found.
func (r *Reader) Warnings() []string { return r.warnings }

// Flows yields one flow per session, in session-number order. Flow.ID is
// the position (from 1); Flow.Session is Fiddler's session ID (the SID of
// raw/N_m.xml, else the file number N). After an error it stops.
func (r *Reader) Flows() iter.Seq2[*trace.Flow, error] {
	return func(yield func(*trace.Flow, error) bool) {
		// Each pass has the whole MaxTotalBytes budget and its own warnings.
		r.total = 0
		r.warnings = r.warnings[:r.openWarnings]
		for i := range r.sessions {
			f, err := r.readSession(i+1, &r.sessions[i])
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// read returns the uncompressed bytes of file kind of s, within the caps.
func (r *Reader) read(s *session, kind int, cap int64) ([]byte, error) {
	i := s.files[kind]
	if i == none {
		return nil, nil
	}
	num := int(s.num)
	var csize uint64
	var zf *zip.File
	var e zent
	if r.zr != nil {
		zf = r.zr.File[i]
		csize = zf.CompressedSize64
	} else {
		var err error
		if e, err = r.entryAt(i); err != nil {
			return nil, r.errf(num, s.name(kind), "%w", err)
		}
		csize = e.csize
	}
	limit := min(cap, r.opts.MaxEntryBytes)
	if ratio := int64(csize) * r.opts.MaxRatio; ratio/r.opts.MaxRatio == int64(csize) {
		limit = min(limit, max(ratio, ratioFloor))
	}
	if rem := r.opts.MaxTotalBytes - r.total; rem < limit {
		limit = rem
	}
	var b []byte
	var err error
	switch {
	case zf == nil:
		b, err = r.readPlain(&e, limit)
		if err != nil {
			return nil, r.errf(num, s.name(kind), "%w", err)
		}
	case zf.Flags&1 != 0:
		if r.yz == nil {
			return nil, r.errf(num, zf.Name, "%w", ErrEncrypted)
		}
		// yeka/zip buffers an encrypted entry whole before inflating it.
		if csize > uint64(limit) {
			return nil, r.errf(num, zf.Name, "encrypted entry of %d bytes exceeds the %d-byte cap", csize, limit)
		}
		b, err = readEncrypted(r.yz.File[i], limit)
		if err != nil {
			return nil, r.errf(num, zf.Name, "%w: wrong password or corrupt entry (%v)", ErrEncrypted, err)
		}
	default:
		rc, err := zf.Open()
		if err != nil {
			return nil, r.errf(num, zf.Name, "%w", err)
		}
		b, err = io.ReadAll(io.LimitReader(rc, limit+1))
		rc.Close()
		if err != nil {
			return nil, r.errf(num, zf.Name, "%w", err)
		}
	}
	if int64(len(b)) > limit {
		return nil, r.errf(num, s.name(kind), "uncompressed entry exceeds %d bytes (%d compressed): zip bomb or over the size caps", limit, csize)
	}
	r.total += int64(len(b))
	return b, nil
}

// readEncrypted decrypts and inflates one entry through yeka/zip, reading
// at most limit+1 bytes. A panic inside that library on a malformed entry
// becomes an error: the input is untrusted and the library is pinned.
func readEncrypted(f *yzip.File, limit int64) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("malformed encrypted entry (%v)", p)
		}
	}()
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit+1))
}

func (r *Reader) readSession(id int, s *session) (*trace.Flow, error) {
	f := &trace.Flow{ID: id, Session: int(s.num), Time: trace.NA, Timings: trace.NoTimings()}
	cname := s.name(fileC)
	c, cStreamed, err := r.readMessage(s, fileC)
	if err != nil {
		return nil, err
	}
	req, err := httpmsg.ParseRequest(c)
	if cStreamed > 0 && req != nil {
		req.HasBody, req.BodySize, err = true, cStreamed, nil
	}
	if err != nil {
		var be *httpmsg.BodyError
		if !errors.As(err, &be) || req == nil {
			return nil, r.msgErr(s, cname, err)
		}
		r.warnings = append(r.warnings, fmt.Sprintf("session %d: %s: %v", s.num, cname, err))
	}
	f.Request = req
	if s.files[fileS] != none {
		sname := s.name(fileS)
		b, sStreamed, err := r.readMessage(s, fileS)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			resp, err := httpmsg.ParseResponse(b, r.opts.Limits)
			if sStreamed > 0 && resp != nil {
				resp.Body, resp.Wire = nil, nil
				resp.Extra = slices.DeleteFunc(resp.Extra, func(x trace.Extension) bool { return x.Name == httpmsg.DecodeErrorField })
				resp.BodyOmitted, resp.Size, resp.BodySize, err = true, trace.Unknown, sStreamed, nil
				if resp.Encoding == "" && resp.Headers.Get("Transfer-Encoding") == "" {
					resp.Size = sStreamed // the body is stored as it is
				}
			}
			if err != nil {
				var be *httpmsg.BodyError
				if !errors.As(err, &be) || resp == nil {
					return nil, r.msgErr(s, sname, err)
				}
				r.warnings = append(r.warnings, fmt.Sprintf("session %d: %s: %v", s.num, sname, err))
			}
			f.Response = resp
		}
	}
	if s.files[fileM] != none {
		mname := s.name(fileM)
		b, err := r.read(s, fileM, maxXMLBytes)
		if err != nil {
			return nil, err
		}
		m, err := parseMeta(b)
		if err != nil {
			return nil, r.errf(int(s.num), mname, "%w", err)
		}
		m.apply(f)
		restoreWire(f)
	}
	if s.files[fileW] != none {
		wname := s.name(fileW)
		b, err := r.read(s, fileW, r.opts.MaxEntryBytes)
		if err != nil {
			return nil, err
		}
		msgs, err := parseWebSocket(b)
		if err != nil {
			return nil, r.errf(int(s.num), wname, "%w", err)
		}
		f.WebSocket = msgs
	}
	if f.Response == nil && f.Error == "" {
		f.Error = errorFromFlags(f.Flags)
	}
	return f, nil
}

func (r *Reader) msgErr(s *session, field string, err error) error {
	e := r.errf(int(s.num), field, "%w", err)
	var se *httpmsg.SyntaxError
	if errors.As(err, &se) {
		e.Offset = se.Offset
	}
	return e
}

// errorFromFlags explains a missing response from Fiddler's session flags.
func errorFromFlags(fl []trace.Flag) string {
	for _, x := range fl {
		n := strings.ToLower(x.Name)
		if strings.Contains(n, "abort") || strings.Contains(n, "fail") || strings.Contains(n, "error") {
			if x.Value == "" {
				return x.Name
			}
			return x.Name + ": " + x.Value
		}
	}
	return ""
}
