package saz

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	"github.com/idtrace/idtrace/internal/httpmsg"
	"github.com/idtrace/idtrace/internal/trace"
)

// maxHeadBytes caps the start line and headers read from an entry whose
// body is streamed (Options.StreamOver): interim answers included.
const maxHeadBytes = 1 << 20

// streamed reports whether the entry named name, of usize uncompressed
// bytes, is one whose body is left in the archive (Options.StreamOver): a
// request or response file over the threshold. MaxEntryBytes does not
// apply to it, since it is never read whole.
func (r *Reader) streamed(name string, usize uint64) bool {
	if r.opts.StreamOver <= 0 || usize <= uint64(r.opts.StreamOver) {
		return false
	}
	n := strings.ToLower(name)
	return strings.HasSuffix(n, "_c.txt") || strings.HasSuffix(n, "_s.txt")
}

// entrySize is the uncompressed size the directory declares for file
// kind of s (0 when it has none).
func (r *Reader) entrySize(s *session, kind int) (uint64, error) {
	i := s.files[kind]
	switch {
	case i == none:
		return 0, nil
	case r.zr != nil:
		return r.zr.File[i].UncompressedSize64, nil
	}
	e, err := r.entryAt(i)
	if err != nil {
		return 0, r.errf(int(s.num), s.name(kind), "%w", err)
	}
	return e.usize, nil
}

// openEntry streams the uncompressed bytes of file kind of s, with its own
// buffers (so the stream may outlive the next Flows step). The directory's
// size and CRC-32 are checked at the end, and the bytes may not exceed
// MaxRatio times the compressed size (above 1 MiB) nor MaxTotalBytes.
// Encrypted entries of archives read through yeka/zip are buffered whole
// by that library.
func (r *Reader) openEntry(s *session, kind int) (io.ReadCloser, error) {
	i := s.files[kind]
	if i == none {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	num, name := int(s.num), s.name(kind)
	var rc io.ReadCloser
	var csize uint64
	switch {
	case r.zr != nil && r.zr.File[i].Flags&1 != 0:
		if r.yz == nil {
			return nil, r.errf(num, name, "%w", ErrEncrypted)
		}
		f, err := r.yz.File[i].Open()
		if err != nil {
			return nil, r.errf(num, name, "%w: wrong password or corrupt entry (%v)", ErrEncrypted, err)
		}
		rc, csize = f, r.zr.File[i].CompressedSize64
	case r.zr != nil:
		f, err := r.zr.File[i].Open()
		if err != nil {
			return nil, r.errf(num, name, "%w", err)
		}
		rc, csize = f, r.zr.File[i].CompressedSize64
	default:
		e, err := r.entryAt(i)
		if err != nil {
			return nil, r.errf(num, name, "%w", err)
		}
		if rc, err = r.openPlain(&e); err != nil {
			return nil, r.errf(num, name, "%w", err)
		}
		csize = e.csize
	}
	limit := r.opts.MaxTotalBytes
	if ratio := int64(csize) * r.opts.MaxRatio; ratio/r.opts.MaxRatio == int64(csize) {
		limit = min(limit, max(ratio, ratioFloor))
	}
	return &cappedEntry{rc: rc, limit: limit, errf: func(format string, a ...any) error {
		return r.errf(num, name, format, a...)
	}}, nil
}

// openPlain is the streaming form of readPlain, for the archives read
// through the index.
func (r *Reader) openPlain(e *zent) (io.ReadCloser, error) {
	var lh [30]byte
	if e.off < 0 || e.off > r.size-30 {
		return nil, fmt.Errorf("%w: local header outside the archive", zip.ErrFormat)
	}
	if _, err := r.ra.ReadAt(lh[:], e.off); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(lh[0:4]) != 0x04034b50 {
		return nil, fmt.Errorf("%w: bad local header signature", zip.ErrFormat)
	}
	start := e.off + 30 + int64(binary.LittleEndian.Uint16(lh[26:28])) + int64(binary.LittleEndian.Uint16(lh[28:30]))
	if start > r.size || e.csize > uint64(r.size-start) {
		return nil, fmt.Errorf("%w: entry data runs past the end of the archive", zip.ErrFormat)
	}
	var data io.Reader = bufio.NewReaderSize(io.NewSectionReader(r.ra, start, int64(e.csize)), 32<<10)
	method := e.method
	if e.flags&1 != 0 {
		var err error
		if e.method == methodAES {
			var keys aesKeyCache
			data, err = openAES(data, e.csize, e.aesStrength, r.opts.Password, &keys)
			method = e.aesMethod
		} else {
			check := byte(e.crc >> 24)
			if e.flags&8 != 0 {
				check = byte(e.mtime >> 8)
			}
			data, err = openPKCipher(data, check, r.opts.Password)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEncrypted, err)
		}
		data = bufio.NewReaderSize(data, 32<<10)
	}
	var src io.ReadCloser
	switch method {
	case 0:
		src = io.NopCloser(data)
	case 8:
		src = flate.NewReader(data)
	default:
		return nil, fmt.Errorf("%w (method %d)", zip.ErrAlgorithm, method)
	}
	aes2 := e.method == methodAES && e.aesVersion == 2 // no CRC-32: the HMAC checked the data
	check := !aes2 && (e.crc != 0 || e.flags&8 != 0)
	return &checkedEntry{rc: src, want: e.usize, crc: e.crc, check: check, h: crc32.NewIEEE(), encrypted: e.flags&1 != 0}, nil
}

// checkedEntry checks, at the end of an entry read through the index, its
// size and CRC-32 against the directory (as readPlain does).
type checkedEntry struct {
	rc        io.ReadCloser
	n, want   uint64
	crc       uint32
	check     bool
	h         hash.Hash32
	encrypted bool
}

func (c *checkedEntry) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += uint64(n)
	c.h.Write(p[:n])
	if c.n > c.want {
		return n, fmt.Errorf("%w: entry holds %d+ bytes, the directory says %d", zip.ErrFormat, c.n, c.want)
	}
	switch {
	case err == io.EOF:
		if c.n != c.want {
			return n, fmt.Errorf("%w: entry holds %d bytes, the directory says %d", zip.ErrFormat, c.n, c.want)
		}
		if c.check && c.h.Sum32() != c.crc {
			if c.encrypted {
				return n, fmt.Errorf("%w: wrong password or corrupt entry (%v)", ErrEncrypted, zip.ErrChecksum)
			}
			return n, zip.ErrChecksum
		}
	case err != nil && (errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(flate.CorruptInputError))):
		return n, fmt.Errorf("%w: %v", zip.ErrFormat, err)
	}
	return n, err
}

func (c *checkedEntry) Close() error { return c.rc.Close() }

// cappedEntry fails a stream that inflates past its limit (a zip bomb).
type cappedEntry struct {
	rc    io.ReadCloser
	n     int64
	limit int64
	errf  func(format string, a ...any) error
}

func (c *cappedEntry) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n, c.errf("uncompressed entry exceeds %d bytes: zip bomb or over the size caps", c.limit)
	}
	if err != nil && err != io.EOF {
		return n, c.errf("%w", err)
	}
	return n, err
}

func (c *cappedEntry) Close() error { return c.rc.Close() }

// readHead reads the start line and headers of the message in file kind
// of s (and those of interim 1xx answers before it), leaving the body in
// the archive; br, when not nil, receives the reader positioned at the
// body, which the caller then owns.
func (r *Reader) readHead(s *session, kind int, keep *io.ReadCloser) ([]byte, *bufio.Reader, error) {
	rc, err := r.openEntry(s, kind)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if len(head) > maxHeadBytes {
			rc.Close()
			return nil, nil, r.errf(int(s.num), s.name(kind), "headers longer than %d bytes", maxHeadBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			rc.Close()
			return nil, nil, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			// The blank line: stop, unless an interim answer's ends here
			// and the final one follows.
			if next, _ := br.Peek(5); kind == fileS && string(next) == "HTTP/" && isInterimHead(head) {
				continue
			}
			break
		}
	}
	if keep != nil {
		*keep = rc
		return head, br, nil
	}
	rc.Close()
	return head, nil, nil
}

// isInterimHead reports whether the last message in head starts with a
// 1xx status other than 101.
func isInterimHead(head []byte) bool {
	b := bytes.TrimRight(head, "\r\n")
	if i := bytes.LastIndex(b, []byte("\nHTTP/")); i >= 0 {
		b = b[i+1:]
	}
	_, rest, _ := bytes.Cut(b, []byte(" "))
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) >= 3 && rest[0] == '1' && string(rest[:3]) != "101"
}

// OpenBody streams the decoded body of session id (its position from 1,
// as Flows numbers flows): the response's, or the request's with request.
// Chunked framing and content codings are removed as they are for Flows,
// in constant memory; the caps of Options apply as it is read, except
// MaxEntryBytes and Limits.MaxBodyBytes (the body is not held). It is how
// a body left in the archive by StreamOver is read.
func (r *Reader) OpenBody(id int, request bool) (io.ReadCloser, error) {
	if id < 1 || id > len(r.sessions) {
		return nil, fmt.Errorf("saz: no session %d", id)
	}
	s := &r.sessions[id-1]
	kind := fileS
	if request {
		kind = fileC
	}
	var rc io.ReadCloser
	head, br, err := r.readHead(s, kind, &rc)
	if err != nil {
		return nil, err
	}
	var hs trace.Headers
	if request {
		q, err := httpmsg.ParseRequest(head)
		if q == nil {
			rc.Close()
			return nil, r.msgErr(s, s.name(kind), err)
		}
		hs = q.Headers
	} else {
		p, err := httpmsg.ParseResponse(head, r.opts.Limits)
		if p == nil {
			rc.Close()
			return nil, r.msgErr(s, s.name(kind), err)
		}
		hs = p.Headers
	}
	lim := r.opts.Limits
	lim.MaxBodyBytes = r.opts.MaxTotalBytes
	body, err := httpmsg.DecodeStream(hs, br, lim)
	if err != nil {
		rc.Close()
		return nil, r.errf(int(s.num), s.name(kind), "%w", err)
	}
	return bodyStream{body, rc}, nil
}

// bodyStream closes the decoders, then the entry.
type bodyStream struct {
	io.ReadCloser
	entry io.Closer
}

func (b bodyStream) Close() error {
	b.ReadCloser.Close()
	return b.entry.Close()
}

// readMessage reads file kind (c or s) of s whole, or only its start line
// and headers when its body is left in the archive (Options.StreamOver):
// streamed is then the size of the body as recorded, else 0.
func (r *Reader) readMessage(s *session, kind int) (b []byte, streamed int64, err error) {
	if r.opts.StreamOver > 0 {
		size, err := r.entrySize(s, kind)
		if err != nil {
			return nil, 0, err
		}
		if r.streamed(s.name(kind), size) {
			head, _, err := r.readHead(s, kind, nil)
			return head, int64(size) - int64(len(head)), err
		}
	}
	b, err = r.read(s, kind, r.opts.MaxEntryBytes)
	return b, 0, err
}
