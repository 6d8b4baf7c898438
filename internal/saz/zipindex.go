package saz

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

// The reader of plain (unencrypted) archives does not keep archive/zip's
// directory (a *File with name, extra, comment and header fields for each
// of the ~3 entries per session). Open scans the central directory once,
// with a fixed buffer, checking every record, and keeps per session file
// only where its central directory record is (4 bytes); reading the file
// parses that record again into a zent. Names are rebuilt from the session
// number when an error needs one. Encrypted
// archives, and archives whose directory is not where the end record says
// (data prepended), still go through archive/zip and yeka/zip.

// zent locates and checks one plain entry.
type zent struct {
	off    int64 // local file header, from the start of the archive
	csize  uint64
	usize  uint64
	crc    uint32
	method uint16
	flags  uint16
	mtime  uint16 // MS-DOS time (ZipCrypto's password check with a data descriptor)
	// WinZip AES (method 99): the AE version, key strength and the real
	// compression method, from the 0x9901 extra field.
	aesVersion  uint16
	aesStrength uint8
	aesMethod   uint16
}

// Name spellings of a session file, so that names rebuilt for errors are
// the ones in the archive: bit 0 set for an upper-case kind letter, bits
// 1-2 the extension.
var nameExts = [4]string{"txt", "xml", "TXT", "XML"}

func spelling(kind, ext []byte) uint8 {
	var v uint8
	if kind[0] < 'a' {
		v = 1
	}
	for i, e := range nameExts {
		if string(ext) == e {
			v |= uint8(i) << 1
		}
	}
	return v
}

// key is the session number as written in the entry names ("007").
func (s *session) key() string {
	k := strconv.Itoa(int(s.num))
	for len(k) < int(s.width) {
		k = "0" + k
	}
	return k
}

// name rebuilds the entry name of file kind k of s ("raw/3_s.txt").
func (s *session) name(k int) string {
	v := s.spell[k]
	c := "csmw"[k]
	if v&1 != 0 {
		c -= 'a' - 'A'
	}
	return "raw/" + s.key() + "_" + string(c) + "." + nameExts[v>>1]
}

// keyLess orders sessions as the old string keys did: by number, then by
// the key as written.
func keyLess(a, b *session) bool {
	if a.num != b.num {
		return a.num < b.num
	}
	if a.width == b.width {
		return false
	}
	return a.key() < b.key()
}

// openIndex builds the compact index of a plain archive. It returns
// handled=false, with no error, when the archive must go through
// archive/zip instead: an encrypted entry or a shifted directory.
func (r *Reader) openIndex() (handled bool, err error) {
	d, err := locateDirectory(r.ra, r.size)
	if errors.Is(err, errShifted) {
		return false, nil
	}
	if err != nil {
		return true, r.errf(-1, "", "not a SAZ archive (not a valid zip file): %w", err)
	}
	if d.entries > maxEntries {
		return true, r.errf(-1, "", "too many entries (%d, limit %d)", d.entries, maxEntries)
	}
	if d.entries > uint64(r.size)/46 {
		return true, r.errf(-1, "", "not a SAZ archive (not a valid zip file): %d entries cannot fit in %d bytes", d.entries, r.size)
	}
	byKey := map[uint64]int32{} // number<<8 | width -> index in r.sessions
	marked, encrypted, tooBig := false, false, false
	err = walkDirectory(r.ra, r.size, d, func(rec *dirRecord) error {
		e := &rec.zent
		if rec.rel >= uint64(none) {
			// A directory of 4 GiB (possible only with huge extra fields
			// or comments) is left to archive/zip.
			tooBig = true
			return errStopWalk
		}
		name := string(rec.name)
		if name == "[Content_Types].xml" || name == "_index.htm" {
			marked = true
		}
		if err := checkName(name); err != nil {
			return r.errf(-1, name, "%w", err)
		}
		if e.usize > uint64(r.opts.MaxEntryBytes) && !r.streamed(name, e.usize) {
			return r.errf(-1, name, "entry declares %d uncompressed bytes, over the %d-byte cap", e.usize, r.opts.MaxEntryBytes)
		}
		if e.csize > uint64(r.size) {
			return r.errf(-1, name, "entry declares %d compressed bytes in a %d-byte archive", e.csize, r.size)
		}
		if e.flags&1 != 0 {
			encrypted = true
			if e.method == methodAES && aesSaltLen(e.aesStrength) == 0 {
				return r.errf(-1, name, "AES-encrypted entry without a valid 0x9901 extra field")
			}
		}
		_, err := r.addFile(byKey, rec.name, uint32(rec.rel))
		return err
	})
	if tooBig {
		r.sessions = nil
		return false, nil
	}
	var nz *notZipError
	if errors.As(err, &nz) {
		return true, r.errf(-1, "", "not a SAZ archive (not a valid zip file): %w", nz.err)
	}
	if err != nil {
		return true, err
	}
	if encrypted && r.opts.Password == "" {
		return true, r.errf(-1, "", "%w: give the password (--password or IDTRACE_SAZ_PASSWORD)", ErrEncrypted)
	}
	r.dirOff = d.off
	r.comment = d.comment
	r.marked = marked
	return true, nil
}

// dirRecord is one central directory record as walkDirectory yields it.
type dirRecord struct {
	zent
	name []byte // valid during the callback only
	rel  uint64 // offset of the record from the start of the directory
	n    uint64 // its index
}

// notZipError is a central directory that does not hold together.
type notZipError struct{ err error }

func (e *notZipError) Error() string { return e.err.Error() }
func (e *notZipError) Unwrap() error { return e.err }

// errStopWalk ends a walk early without an error.
var errStopWalk = errors.New("stop")

// walkDirectory reads the central directory d record by record through a
// fixed 64 KiB buffer and calls fn with each, ZIP64 extra fields and the
// AES extra field applied. As archive/zip does, it reads records until one
// does not start with the directory signature, then compares the count's
// low 16 bits with the end record's. Open and Count both walk the
// directory with it. Structural problems come back as *notZipError; an
// error from fn comes back as it is.
func walkDirectory(ra io.ReaderAt, size int64, d directory, fn func(*dirRecord) error) error {
	if d.entries > maxEntries {
		return &notZipError{fmt.Errorf("too many entries (%d, limit %d)", d.entries, maxEntries)}
	}
	if d.entries > uint64(size)/46 {
		return &notZipError{fmt.Errorf("%d entries cannot fit in %d bytes", d.entries, size)}
	}
	bad := func(n uint64, err error) error {
		return &notZipError{fmt.Errorf("central directory record %d: %w", n, err)}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(ra, d.off, size-d.off), 64<<10)
	var hdr [46]byte
	buf := make([]byte, 0, 512)
	var rec dirRecord
	for ; ; rec.n++ {
		if rec.n > maxEntries {
			return &notZipError{fmt.Errorf("too many entries (limit %d)", maxEntries)}
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil || binary.LittleEndian.Uint32(hdr[0:4]) != 0x02014b50 {
			break
		}
		e, nlen, xlen, clen := centralEntry(hdr[:])
		if cap(buf) < nlen+xlen {
			buf = make([]byte, nlen+xlen)
		}
		buf = buf[:nlen+xlen]
		if _, err := io.ReadFull(br, buf); err != nil {
			return bad(rec.n, err)
		}
		if _, err := br.Discard(clen); err != nil {
			return bad(rec.n, err)
		}
		if err := zip64Extra(&e, buf[nlen:]); err != nil {
			return bad(rec.n, err)
		}
		rec.zent, rec.name = e, buf[:nlen]
		if err := fn(&rec); err != nil {
			if err == errStopWalk {
				return nil
			}
			return err
		}
		rec.rel += uint64(46 + nlen + xlen + clen)
	}
	if uint16(rec.n) != uint16(d.entries) {
		return &notZipError{fmt.Errorf("the end record promises %d entries, the directory holds %d", d.entries, rec.n)}
	}
	return nil
}

// centralEntry decodes the fixed part of a central directory record.
func centralEntry(hdr []byte) (e zent, nlen, xlen, clen int) {
	le := binary.LittleEndian
	e = zent{
		flags:  le.Uint16(hdr[8:10]),
		method: le.Uint16(hdr[10:12]),
		mtime:  le.Uint16(hdr[12:14]),
		crc:    le.Uint32(hdr[16:20]),
		csize:  uint64(le.Uint32(hdr[20:24])),
		usize:  uint64(le.Uint32(hdr[24:28])),
		off:    int64(le.Uint32(hdr[42:46])),
	}
	return e, int(le.Uint16(hdr[28:30])), int(le.Uint16(hdr[30:32])), int(le.Uint16(hdr[32:34]))
}

// entryAt parses again the central directory record at rel, which Open
// checked.
func (r *Reader) entryAt(rel uint32) (zent, error) {
	var buf [46 + 96]byte
	off := r.dirOff + int64(rel)
	n, err := r.ra.ReadAt(buf[:], off)
	if n < 46 {
		return zent{}, fmt.Errorf("%w: central directory record: %v", zip.ErrFormat, err)
	}
	if binary.LittleEndian.Uint32(buf[0:4]) != 0x02014b50 {
		return zent{}, fmt.Errorf("%w: central directory record moved", zip.ErrFormat)
	}
	e, nlen, xlen, _ := centralEntry(buf[:46])
	var extra []byte
	if 46+nlen+xlen <= n {
		extra = buf[46+nlen : 46+nlen+xlen]
	} else {
		extra = make([]byte, xlen)
		if _, err := r.ra.ReadAt(extra, off+46+int64(nlen)); err != nil {
			return zent{}, fmt.Errorf("%w: central directory record: %v", zip.ErrFormat, err)
		}
	}
	if err := zip64Extra(&e, extra); err != nil {
		return zent{}, fmt.Errorf("%w: %v", zip.ErrFormat, err)
	}
	return e, nil
}

// zip64Extra takes the sizes and offset that the 32-bit fields leave at
// 0xFFFFFFFF from a ZIP64 extra field (0x0001), as archive/zip does.
func zip64Extra(e *zent, extra []byte) error {
	needU := e.usize == 0xffffffff
	needC := e.csize == 0xffffffff
	needO := e.off == 0xffffffff
	for len(extra) >= 4 {
		tag := binary.LittleEndian.Uint16(extra[0:2])
		n := int(binary.LittleEndian.Uint16(extra[2:4]))
		extra = extra[4:]
		if len(extra) < n {
			break
		}
		field := extra[:n]
		extra = extra[n:]
		if tag == aesExtra && len(field) >= 7 {
			e.aesVersion = binary.LittleEndian.Uint16(field[0:2])
			e.aesStrength = field[4]
			e.aesMethod = binary.LittleEndian.Uint16(field[5:7])
			continue
		}
		if tag != 0x0001 {
			continue
		}
		next := func(v *uint64) error {
			if len(field) < 8 {
				return errors.New("short ZIP64 extra field")
			}
			*v = binary.LittleEndian.Uint64(field)
			field = field[8:]
			return nil
		}
		if needU {
			needU = false
			if err := next(&e.usize); err != nil {
				return err
			}
		}
		if needC {
			needC = false
			if err := next(&e.csize); err != nil {
				return err
			}
		}
		if needO {
			needO = false
			var o uint64
			if err := next(&o); err != nil {
				return err
			}
			if o > 1<<62 {
				return errors.New("ZIP64 header offset out of range")
			}
			e.off = int64(o)
		}
	}
	// An uncompressed size of exactly 0xFFFFFFFF without ZIP64 is taken as
	// it is (archive/zip does the same).
	if needC || needO {
		return errors.New("ZIP64 sizes missing")
	}
	return nil
}

// readPlain inflates one plain entry through its local header, reading at
// most limit+1 bytes (so that the caller can tell a bomb from a big entry),
// and checks its size and CRC-32 against the central directory (which is
// also where the sizes of an entry with a data descriptor come from).
func (r *Reader) readPlain(e *zent, limit int64) ([]byte, error) {
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
	sr := io.NewSectionReader(r.ra, start, int64(e.csize))
	if r.br == nil {
		r.br = bufio.NewReaderSize(sr, 32<<10)
	} else {
		r.br.Reset(sr)
	}
	var data io.Reader = r.br
	method := e.method
	if e.flags&1 != 0 {
		var err error
		if e.method == methodAES {
			data, err = openAES(r.br, e.csize, e.aesStrength, r.opts.Password, &r.aesKeys)
			method = e.aesMethod
		} else {
			check := byte(e.crc >> 24)
			if e.flags&8 != 0 {
				check = byte(e.mtime >> 8)
			}
			data, err = openPKCipher(r.br, check, r.opts.Password)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrEncrypted, err)
		}
		if r.dbr == nil {
			r.dbr = bufio.NewReaderSize(data, 32<<10)
		} else {
			r.dbr.Reset(data)
		}
		data = r.dbr
	}
	var src io.Reader
	switch method {
	case 0: // Store
		src = data
	case 8: // Deflate
		if r.fr == nil {
			r.fr = flate.NewReader(data)
		} else if err := r.fr.(flate.Resetter).Reset(data, nil); err != nil {
			return nil, err
		}
		src = r.fr
	default:
		return nil, fmt.Errorf("%w (method %d)", zip.ErrAlgorithm, method)
	}
	// Read one byte past the cap and past the declared size: the first
	// tells a bomb, the second a lying directory.
	want := min(limit, int64(e.usize)) + 1
	b := make([]byte, 0, min(want, 1<<20))
	for int64(len(b)) < want {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := src.Read(b[len(b):min(int64(cap(b)), want)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if e.flags&1 != 0 {
				return nil, fmt.Errorf("%w: wrong password or corrupt entry (%v)", ErrEncrypted, err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(flate.CorruptInputError)) {
				return nil, fmt.Errorf("%w: %v", zip.ErrFormat, err)
			}
			return nil, err
		}
	}
	if int64(len(b)) > limit {
		return b, nil // the caller reports the cap
	}
	if uint64(len(b)) != e.usize {
		return nil, fmt.Errorf("%w: entry holds %d+ bytes, the directory says %d", zip.ErrFormat, len(b), e.usize)
	}
	aes2 := e.method == methodAES && e.aesVersion == 2 // no CRC-32: the HMAC checked the data
	if !aes2 && (e.crc != 0 || e.flags&8 != 0) && crc32.ChecksumIEEE(b) != e.crc {
		if e.flags&1 != 0 {
			return nil, fmt.Errorf("%w: wrong password or corrupt entry (%v)", ErrEncrypted, zip.ErrChecksum)
		}
		return nil, zip.ErrChecksum
	}
	return b, nil
}
