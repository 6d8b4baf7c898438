package saz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/idtrace/idtrace/internal/trace"
)

// Count returns the number of sessions in a SAZ archive by reading only its
// zip central directory, through the same walker as Open (walkDirectory):
// no entry is decompressed, so no password is needed, and the directory is
// read through a fixed buffer. Memory is not constant: it keeps one map
// entry per session (its number and a bit per file kind, to catch a
// duplicate file), some 40 bytes a session, whatever the entries' sizes.
// (An archive whose directory is not where its end record says is left to
// Open, with opts.) It refuses what Open refuses by name — not a zip,
// zip-slip names, duplicate session files, no session and no Fiddler marker
// file — but does not look inside entries: a session that Open would
// reject for its content is still counted.
func Count(ra io.ReaderAt, size int64, name string, opts Options) (int, error) {
	fail := func(field string, err error) (int, error) {
		return 0, &trace.InputError{File: name, Entry: -1, Offset: -1, Field: field, Err: err}
	}
	d, err := locateDirectory(ra, size)
	if errors.Is(err, errShifted) {
		r, err := Open(ra, size, name, opts)
		if err != nil {
			return 0, err
		}
		return r.Len(), nil
	}
	if err != nil {
		return fail("", fmt.Errorf("not a SAZ archive (not a valid zip file): %w", err))
	}
	if d.entries > maxEntries {
		return fail("", fmt.Errorf("too many entries (%d, limit %d)", d.entries, maxEntries))
	}
	// seen holds one bit per file kind (c, s, m, w) for each session key
	// (number<<8 | digits, as Open keys sessions).
	seen := map[uint64]uint8{}
	marked := false
	var bad *trace.InputError
	err = walkDirectory(ra, size, d, func(rec *dirRecord) error {
		n := rec.name
		if err := checkName(string(n)); err != nil {
			bad = &trace.InputError{File: name, Entry: -1, Offset: -1, Field: string(n), Err: err}
			return bad
		}
		if string(n) == "[Content_Types].xml" || string(n) == "_index.htm" {
			marked = true
		}
		m := sessionName.FindSubmatchIndex(n)
		if m == nil {
			return nil
		}
		digits := n[m[2]:m[3]]
		num, _ := strconv.Atoi(string(digits))
		key := uint64(num)<<8 | uint64(len(digits))
		bit := uint8(1) << indexOfKind(n[m[4]])
		if seen[key]&bit != 0 {
			bad = &trace.InputError{File: name, Entry: -1, Offset: -1, Field: string(n), Err: errors.New("duplicate entry")}
			return bad
		}
		seen[key] |= bit
		return nil
	})
	var nz *notZipError
	switch {
	case bad != nil:
		return 0, bad
	case errors.As(err, &nz):
		return fail("", fmt.Errorf("not a SAZ archive (not a valid zip file): %w", nz.err))
	case err != nil:
		return fail("", err)
	}
	sessions := 0
	for _, bits := range seen {
		if bits&1 != 0 { // has raw/N_c.txt, as Open requires
			sessions++
		}
	}
	if sessions == 0 && !marked {
		return fail("raw/", errors.New("not a SAZ archive: no raw/N_c.txt session entries"))
	}
	return sessions, nil
}

// errShifted reports a central directory that is not where its end record
// says, which Count hands over to archive/zip.
var errShifted = errors.New("central directory is not where the end record says")

func indexOfKind(c byte) uint {
	switch c | 0x20 {
	case 'c':
		return 0
	case 's':
		return 1
	case 'm':
		return 2
	}
	return 3
}

// findDirectory locates the central directory from the end-of-central-
// directory record (and its ZIP64 form for archives of more than 65,535
// entries, which large SAZ files are).
func findDirectory(ra io.ReaderAt, size int64) (off, length int64, entries uint64, err error) {
	d, err := locateDirectory(ra, size)
	return d.off, d.length, d.entries, err
}

// directory is what the end records say of the central directory.
type directory struct {
	off, length int64
	entries     uint64
	comment     string // the archive comment
}

// locateDirectory is findDirectory that also returns the archive comment.
func locateDirectory(ra io.ReaderAt, size int64) (directory, error) {
	off, length, entries, comment, err := locate(ra, size)
	return directory{off: off, length: length, entries: entries, comment: comment}, err
}

func locate(ra io.ReaderAt, size int64) (off, length int64, entries uint64, comment string, err error) {
	const eocdLen = 22
	if size < eocdLen {
		return 0, 0, 0, "", errors.New("too short")
	}
	tail := int64(eocdLen + 65535) // the record plus the longest comment
	if tail > size {
		tail = size
	}
	buf := make([]byte, tail)
	if _, err := ra.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, 0, 0, "", err
	}
	at := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			at = i
			break
		}
	}
	if at < 0 {
		return 0, 0, 0, "", errors.New("no end of central directory record")
	}
	e := buf[at:]
	if int(binary.LittleEndian.Uint16(e[20:22])) > len(e)-eocdLen {
		return 0, 0, 0, "", errors.New("truncated: the archive comment runs past the end of the file")
	}
	comment = string(e[eocdLen : eocdLen+int(binary.LittleEndian.Uint16(e[20:22]))])
	entries = uint64(binary.LittleEndian.Uint16(e[10:12]))
	length = int64(binary.LittleEndian.Uint32(e[12:16]))
	off = int64(binary.LittleEndian.Uint32(e[16:20]))
	eocdPos := size - tail + int64(at)
	z64 := int64(0) // where the ZIP64 end record starts, if there is one
	if entries == 0xffff || length == 0xffffffff || off == 0xffffffff {
		// ZIP64: a 20-byte locator sits just before the end record.
		if eocdPos < 20 {
			return 0, 0, 0, "", errors.New("bad ZIP64 locator")
		}
		var loc [20]byte
		if _, err := ra.ReadAt(loc[:], eocdPos-20); err != nil {
			return 0, 0, 0, "", err
		}
		if binary.LittleEndian.Uint32(loc[0:4]) != 0x07064b50 {
			return 0, 0, 0, "", errors.New("bad ZIP64 locator")
		}
		z := int64(binary.LittleEndian.Uint64(loc[8:16]))
		var rec [56]byte
		if z < 0 || z+56 > size {
			return 0, 0, 0, "", errors.New("bad ZIP64 end record offset")
		}
		if _, err := ra.ReadAt(rec[:], z); err != nil {
			return 0, 0, 0, "", err
		}
		if binary.LittleEndian.Uint32(rec[0:4]) != 0x06064b50 {
			return 0, 0, 0, "", errors.New("bad ZIP64 end record")
		}
		z64 = z
		entries = binary.LittleEndian.Uint64(rec[32:40])
		length = int64(binary.LittleEndian.Uint64(rec[40:48]))
		off = int64(binary.LittleEndian.Uint64(rec[48:56]))
	}
	// Data prepended to the archive (or a wrong offset) shifts the directory;
	// archive/zip has its own rules for that, so Count leaves such archives
	// to it (errShifted).
	end := eocdPos
	if z64 > 0 {
		end = z64
	}
	if end-length != off {
		return 0, 0, 0, "", errShifted
	}
	if off < 0 || length < 0 || off >= size {
		return 0, 0, 0, "", errors.New("central directory lies outside the file")
	}
	return off, length, entries, comment, nil
}
