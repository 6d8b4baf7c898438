package saz

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"time"
)

// zipWriter writes a plain zip archive without keeping a header per entry
// (archive/zip's Writer keeps one, with the name and extra, until Close).
// Each entry is complete in memory before it is written, so its local
// header carries the CRC-32 and sizes (no data descriptor); the central
// directory is written at Close from a packed record per entry (kind,
// CRC-32 and the two sizes as varints: about 10 bytes), the name being
// rebuilt from the session number (the count of raw/N_c.txt entries so
// far) and the offset from the sizes of the entries before. The output is what archive/zip
// writes for the same entries (deflate level 5, an extended-timestamp
// extra, ZIP64 records when needed), apart from the data descriptors.
type zipWriter struct {
	bw         *bufio.Writer
	off        uint64   // bytes written so far
	recs       [][]byte // packed zrecs, in chunks of recChunk bytes
	fw         *flate.Writer
	comp       bytes.Buffer
	date, time uint16 // MS-DOS modification time
	mtime      uint32 // Unix modification time
	width      int
	n          int // entries written
	err        error
	// force64 writes every record in its ZIP64 form (for tests).
	force64 bool
	// password, when set, encrypts every file entry with WinZip AES-256
	// (AE-2; see crypt.go).
	password string
}

// encrypted reports whether entries of kind are encrypted.
func (z *zipWriter) encrypted(kind uint8) bool { return z.password != "" && kind != kindDir }

// aesField is the 0x9901 extra field of an AES-256 (AE-2) entry whose data
// is deflated.
var aesField = []byte{0x01, 0x99, 7, 0, 2, 0, 'A', 'E', 3, 8, 0}

// zrec is what the central directory needs of one entry; the Writer keeps
// it packed (see pack).
type zrec struct {
	off   uint64
	csize uint64
	usize uint64
	crc   uint32
	num   int32 // session number (for kinds fileC..fileW)
	kind  uint8 // fileC..fileW, or one of the kinds below
	z64   bool  // the local header has a ZIP64 extra field
}

// Entry kinds that are not session files.
const (
	kindDir = iota + 4 // "raw/"
	kindIndex
	kindTypes
)

const max32 = 0xffffffff

const recChunk = 64 << 10

// pack appends r's kind, CRC-32 and sizes to the record store.
func (z *zipWriter) pack(r *zrec) {
	if len(z.recs) == 0 || len(z.recs[len(z.recs)-1])+1+4+2*binary.MaxVarintLen64 > recChunk {
		z.recs = append(z.recs, make([]byte, 0, recChunk))
	}
	b := z.recs[len(z.recs)-1]
	k := r.kind
	if r.z64 {
		k |= 0x80
	}
	b = append(b, k)
	b = binary.LittleEndian.AppendUint32(b, r.crc)
	b = binary.AppendUvarint(b, r.csize)
	b = binary.AppendUvarint(b, r.usize)
	z.recs[len(z.recs)-1] = b
}

// unpacked calls yield with each record in order, its number and offset
// rebuilt, and returns the offset where the entries end.
func (z *zipWriter) unpacked(yield func(r *zrec)) uint64 {
	var r zrec
	num := int32(0)
	off := uint64(0)
	for _, b := range z.recs {
		for len(b) > 0 {
			r = zrec{kind: b[0] &^ 0x80, z64: b[0]&0x80 != 0, crc: binary.LittleEndian.Uint32(b[1:5]), off: off}
			b = b[5:]
			var n int
			r.csize, n = binary.Uvarint(b)
			b = b[n:]
			r.usize, n = binary.Uvarint(b)
			b = b[n:]
			if r.kind == fileC {
				num++
			}
			r.num = num
			yield(&r)
			off += 30 + uint64(len(z.name(&r))+len(z.localExtra(&r))) + r.csize
		}
	}
	return off
}

// localExtra is the extra field of an entry's local header.
func (z *zipWriter) localExtra(r *zrec) []byte {
	extra := z.extTime(make([]byte, 0, 40))
	if z.encrypted(r.kind) {
		extra = append(extra, aesField...)
	}
	if r.z64 {
		le := binary.LittleEndian
		extra = le.AppendUint16(extra, 0x0001)
		extra = le.AppendUint16(extra, 16)
		extra = le.AppendUint64(extra, r.usize)
		extra = le.AppendUint64(extra, r.csize)
	}
	return extra
}

func newZipWriter(w io.Writer, modified time.Time, width int) *zipWriter {
	z := &zipWriter{bw: bufio.NewWriterSize(w, 64<<10), width: width}
	// As archive/zip: the DOS time in the time's own zone, plus the Unix time.
	z.date = uint16(modified.Day() + int(modified.Month())<<5 + (modified.Year()-1980)<<9)
	z.time = uint16(modified.Second()/2 + modified.Minute()<<5 + modified.Hour()<<11)
	z.mtime = uint32(modified.Unix())
	return z
}

// name rebuilds the entry name of a record.
func (z *zipWriter) name(r *zrec) string {
	switch r.kind {
	case kindDir:
		return "raw/"
	case kindIndex:
		return "_index.htm"
	case kindTypes:
		return "[Content_Types].xml"
	}
	n := strconv.Itoa(int(r.num))
	for len(n) < z.width {
		n = "0" + n
	}
	return "raw/" + n + [4]string{"_c.txt", "_s.txt", "_m.xml", "_w.txt"}[r.kind]
}

func (z *zipWriter) write(p []byte) {
	if z.err != nil {
		return
	}
	_, z.err = z.bw.Write(p)
	z.off += uint64(len(p))
}

// extTime is the extended-timestamp extra field (0x5455) archive/zip adds.
func (z *zipWriter) extTime(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, 0x5455)
	b = binary.LittleEndian.AppendUint16(b, 5)
	b = append(b, 1)
	return binary.LittleEndian.AppendUint32(b, z.mtime)
}

// add writes one entry: data deflated, or stored for the directory entry.
func (z *zipWriter) add(num int, kind uint8, data []byte) error {
	if z.err != nil {
		return z.err
	}
	r := zrec{off: z.off, num: int32(num), kind: kind, usize: uint64(len(data)), crc: crc32.ChecksumIEEE(data)}
	method := uint16(8)
	body := data
	if kind == kindDir {
		method = 0
	} else {
		z.comp.Reset()
		if z.fw == nil {
			z.fw, _ = flate.NewWriter(&z.comp, 5) // level 5 is valid: no error
		} else {
			z.fw.Reset(&z.comp)
		}
		if _, err := z.fw.Write(data); err != nil {
			return err
		}
		if err := z.fw.Close(); err != nil {
			return err
		}
		body = z.comp.Bytes()
	}
	flags := uint16(0) // sizes known, ASCII name
	if z.encrypted(kind) {
		var err error
		if body, err = aesSeal(z.password, body); err != nil {
			return err
		}
		method, flags = methodAES, 1
		r.crc = 0 // AE-2: the HMAC protects the data
	}
	r.csize = uint64(len(body))
	name := z.name(&r)
	zip64 := z.force64 || r.usize >= max32 || r.csize >= max32
	r.z64 = zip64
	var h [30]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0x04034b50)
	le.PutUint16(h[4:], z.version(&r, zip64))
	le.PutUint16(h[6:], flags)
	le.PutUint16(h[8:], method)
	le.PutUint16(h[10:], z.time)
	le.PutUint16(h[12:], z.date)
	le.PutUint32(h[14:], r.crc)
	extra := z.localExtra(&r)
	if zip64 {
		le.PutUint32(h[18:], max32)
		le.PutUint32(h[22:], max32)
	} else {
		le.PutUint32(h[18:], uint32(r.csize))
		le.PutUint32(h[22:], uint32(r.usize))
	}
	le.PutUint16(h[26:], uint16(len(name)))
	le.PutUint16(h[28:], uint16(len(extra)))
	z.write(h[:])
	z.write([]byte(name))
	z.write(extra)
	z.write(body)
	if z.err == nil {
		z.pack(&r)
		z.n++
	}
	return z.err
}

// version is the "version needed" of an entry: 2.0, 4.5 with ZIP64, 5.1
// with AES.
func (z *zipWriter) version(r *zrec, zip64 bool) uint16 {
	switch {
	case z.encrypted(r.kind):
		return 51
	case zip64:
		return 45
	}
	return 20
}

// close writes the central directory, the ZIP64 end records when the
// archive needs them (65,535 entries or more, or 4 GiB), the end record
// with the comment, and flushes.
func (z *zipWriter) close(comment string) error {
	if z.err != nil {
		return z.err
	}
	if len(comment) > 0xffff {
		return errors.New("saz: archive comment too long")
	}
	le := binary.LittleEndian
	start := z.off
	var b []byte
	end := z.unpacked(func(r *zrec) {
		name := z.name(r)
		method, flags := uint16(8), uint16(0)
		if r.kind == kindDir {
			method = 0
		}
		if z.encrypted(r.kind) {
			method, flags = methodAES, 1
		}
		zip64 := z.force64 || r.usize >= max32 || r.csize >= max32 || r.off >= max32
		version := z.version(r, zip64)
		b = b[:0]
		b = le.AppendUint32(b, 0x02014b50)
		b = le.AppendUint16(b, version) // made by (FAT)
		b = le.AppendUint16(b, version) // needed
		b = le.AppendUint16(b, flags)
		b = le.AppendUint16(b, method)
		b = le.AppendUint16(b, z.time)
		b = le.AppendUint16(b, z.date)
		b = le.AppendUint32(b, r.crc)
		if zip64 {
			b = le.AppendUint32(b, max32)
			b = le.AppendUint32(b, max32)
		} else {
			b = le.AppendUint32(b, uint32(r.csize))
			b = le.AppendUint32(b, uint32(r.usize))
		}
		xlen := 9
		if zip64 {
			xlen += 28
		}
		if z.encrypted(r.kind) {
			xlen += len(aesField)
		}
		b = le.AppendUint16(b, uint16(len(name)))
		b = le.AppendUint16(b, uint16(xlen))
		b = le.AppendUint16(b, 0) // comment
		b = le.AppendUint16(b, 0) // disk
		b = le.AppendUint16(b, 0) // internal attributes
		b = le.AppendUint32(b, 0) // external attributes
		if zip64 {
			b = le.AppendUint32(b, max32)
		} else {
			b = le.AppendUint32(b, uint32(r.off))
		}
		b = append(b, name...)
		b = z.extTime(b)
		if zip64 {
			b = le.AppendUint16(b, 0x0001)
			b = le.AppendUint16(b, 24)
			b = le.AppendUint64(b, r.usize)
			b = le.AppendUint64(b, r.csize)
			b = le.AppendUint64(b, r.off)
		}
		if z.encrypted(r.kind) {
			b = append(b, aesField...)
		}
		z.write(b)
	})
	if end != start {
		return errors.New("saz: internal error: entry offsets do not add up")
	}
	end = z.off
	size := end - start
	records := uint64(z.n)
	b = b[:0]
	if z.force64 || records >= 0xffff || size >= max32 || start >= max32 {
		b = le.AppendUint32(b, 0x06064b50)
		b = le.AppendUint64(b, 44) // size of the rest of the record
		b = le.AppendUint16(b, 45)
		b = le.AppendUint16(b, 45)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, records)
		b = le.AppendUint64(b, records)
		b = le.AppendUint64(b, size)
		b = le.AppendUint64(b, start)
		b = le.AppendUint32(b, 0x07064b50)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, end)
		b = le.AppendUint32(b, 1)
		records, size, start = 0xffff, max32, max32
	}
	b = le.AppendUint32(b, 0x06054b50)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, uint16(records))
	b = le.AppendUint16(b, uint16(records))
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint32(b, uint32(start))
	b = le.AppendUint16(b, uint16(len(comment)))
	b = append(b, comment...)
	z.write(b)
	if z.err != nil {
		return z.err
	}
	z.recs = nil
	return z.bw.Flush()
}
