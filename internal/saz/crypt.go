package saz

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Zip encryption, read and written one entry at a time so that memory does
// not grow with the number of entries (yeka/zip keeps a header per entry
// and buffers each encrypted entry whole).
//
// WinZip AES (method 99, extra field 0x9901; AE-1 and AE-2): the entry
// data is a salt (8, 12 or 16 bytes for AES-128/192/256), a 2-byte
// password verifier, the compressed data encrypted with AES in counter
// mode (a little-endian block counter from 1), and the first 10 bytes of
// an HMAC-SHA1 of the encrypted data. Keys and verifier come from PBKDF2-
// HMAC-SHA1 of the password and salt, 1000 iterations. AE-2 entries carry
// no CRC-32 (the HMAC protects them).
//
// Traditional PKWARE encryption ("ZipCrypto"): a 12-byte header whose last
// byte checks the password (the CRC-32's high byte, or the modification
// time's when a data descriptor follows), then the compressed data
// encrypted with the three-key stream cipher. It is weak; idtrace reads it
// (Fiddler and 7-Zip write it) but writes AES.

const (
	methodAES = 99
	aesExtra  = 0x9901
	aesIter   = 1000
	aesMACLen = 10
)

// errPassword is wrapped (with ErrEncrypted) when a password check fails.
var errPassword = errors.New("wrong password")

func aesSaltLen(strength uint8) int {
	switch strength {
	case 1:
		return 8
	case 2:
		return 12
	case 3:
		return 16
	}
	return 0
}

// aesKeys derives the encryption key, the authentication key and the
// password verifier.
func aesKeys(password string, salt []byte) (enc, auth, verify []byte) {
	n := len(salt) * 2 // key length: 16, 24 or 32
	k, err := pbkdf2.Key(sha1.New, password, salt, aesIter, 2*n+2)
	if err != nil {
		panic(err) // only for key lengths out of range, which n never is
	}
	return k[:n], k[n : 2*n], k[2*n:]
}

// winzipCTR is AES in counter mode with WinZip's little-endian counter.
type winzipCTR struct {
	block cipher.Block
	ctr   uint64
	ks    [aes.BlockSize]byte
	used  int
}

func newWinzipCTR(key []byte) (*winzipCTR, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &winzipCTR{block: b, used: aes.BlockSize}, nil
}

func (c *winzipCTR) xor(dst, src []byte) {
	for i := range src {
		if c.used == aes.BlockSize {
			c.ctr++
			var in [aes.BlockSize]byte
			binary.LittleEndian.PutUint64(in[:], c.ctr)
			c.block.Encrypt(c.ks[:], in[:])
			c.used = 0
		}
		dst[i] = src[i] ^ c.ks[c.used]
		c.used++
	}
}

// aesSeal encrypts compressed entry data as a WinZip AES-256 (AE-2) entry.
func aesSeal(password string, data []byte) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	enc, auth, verify := aesKeys(password, salt)
	c, err := newWinzipCTR(enc)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(salt)+2+len(data)+aesMACLen)
	out = append(out, salt...)
	out = append(out, verify...)
	ct := out[len(out) : len(out)+len(data)]
	c.xor(ct, data)
	out = out[:len(out)+len(data)]
	mac := hmac.New(sha1.New, auth)
	mac.Write(ct)
	return append(out, mac.Sum(nil)[:aesMACLen]...), nil
}

// aesKeyCache keeps the keys derived for the last salt, so an archive whose
// entries share one salt derives them once. (7-Zip and idtrace give each
// entry its own salt, so their archives cost one derivation per entry.)
type aesKeyCache struct {
	salt, password    string
	enc, auth, verify []byte
}

func (c *aesKeyCache) keys(password string, salt []byte) (enc, auth, verify []byte) {
	if c != nil && c.enc != nil && c.salt == string(salt) && c.password == password {
		return c.enc, c.auth, c.verify
	}
	enc, auth, verify = aesKeys(password, salt)
	if c != nil {
		*c = aesKeyCache{salt: string(salt), password: password, enc: enc, auth: auth, verify: verify}
	}
	return enc, auth, verify
}

// aesReader decrypts the data of a WinZip AES entry as it is read and
// checks the HMAC when the data ends.
type aesReader struct {
	r    io.Reader // the encrypted data, without salt, verifier and MAC
	ctr  *winzipCTR
	mac  hash.Hash
	tail io.Reader
	done bool
}

// openAES reads the salt and verifier of an entry whose data (csize
// bytes) r yields, checks the password and returns the decrypting reader.
func openAES(r io.Reader, csize uint64, strength uint8, password string, cache *aesKeyCache) (io.Reader, error) {
	sl := aesSaltLen(strength)
	if sl == 0 {
		return nil, fmt.Errorf("unknown AES strength %d", strength)
	}
	if csize < uint64(sl+2+aesMACLen) {
		return nil, errors.New("AES entry shorter than its salt and MAC")
	}
	head := make([]byte, sl+2)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	enc, auth, verify := cache.keys(password, head[:sl])
	if !hmac.Equal(verify, head[sl:]) {
		return nil, errPassword
	}
	c, err := newWinzipCTR(enc)
	if err != nil {
		return nil, err
	}
	n := int64(csize) - int64(sl+2+aesMACLen)
	return &aesReader{r: io.LimitReader(r, n), ctr: c, mac: hmac.New(sha1.New, auth), tail: r}, nil
}

func (a *aesReader) Read(p []byte) (int, error) {
	if a.done {
		return 0, io.EOF
	}
	n, err := a.r.Read(p)
	if n > 0 {
		a.mac.Write(p[:n])
		a.ctr.xor(p[:n], p[:n])
	}
	if err == io.EOF {
		a.done = true
		stored := make([]byte, aesMACLen)
		if _, err := io.ReadFull(a.tail, stored); err != nil {
			return n, io.ErrUnexpectedEOF
		}
		if !hmac.Equal(stored, a.mac.Sum(nil)[:aesMACLen]) {
			return n, errors.New("authentication code mismatch (corrupt entry)")
		}
	}
	return n, err
}

// pkCipher is the traditional PKWARE stream cipher.
type pkCipher struct{ k0, k1, k2 uint32 }

func newPKCipher(password string) *pkCipher {
	z := &pkCipher{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(password); i++ {
		z.update(password[i])
	}
	return z
}

func (z *pkCipher) update(b byte) {
	z.k0 = crc32.IEEETable[byte(z.k0)^b] ^ (z.k0 >> 8)
	z.k1 = (z.k1+(z.k0&0xff))*134775813 + 1
	z.k2 = crc32.IEEETable[byte(z.k2)^byte(z.k1>>24)] ^ (z.k2 >> 8)
}

func (z *pkCipher) decrypt(p []byte) {
	for i, c := range p {
		t := uint16(z.k2) | 2
		p[i] = c ^ byte((uint32(t)*uint32(t^1))>>8)
		z.update(p[i])
	}
}

type pkReader struct {
	r io.Reader
	z *pkCipher
}

func (c *pkReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.z.decrypt(p[:n])
	return n, err
}

// openPKCipher reads the 12-byte header of a ZipCrypto entry, checks the
// password against check (the expected last byte) and returns the
// decrypting reader of the remaining data.
func openPKCipher(r io.Reader, check byte, password string) (io.Reader, error) {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	z := newPKCipher(password)
	z.decrypt(head[:])
	if head[11] != check {
		return nil, errPassword
	}
	return &pkReader{r: r, z: z}, nil
}
