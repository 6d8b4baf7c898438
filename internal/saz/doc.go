// Package saz reads and writes Fiddler Session Archive Zip (SAZ) files as
// streams of trace.Flow.
//
// Ownership: the SAZ owner maintains this package (and internal/httpmsg);
// others call Open, OpenFile and NewWriter and must not change the package.
//
// # The format as implemented
//
// A SAZ is a zip archive. Fiddler writes, in this order: a "raw/" folder
// entry; per session N (numbered 1..n, zero-padded to the width of n) the
// files raw/N_c.txt, raw/N_s.txt and raw/N_m.xml (plus raw/N_w.txt for a
// WebSocket session); then _index.htm (an HTML table for humans) and
// [Content_Types].xml. The zip comment reads
// "Fiddler (vX.Y.Z) Session Archive. See https://...". Every file entry
// is deflated. The Writer follows that layout exactly, except that
// _index.htm lists at most the first 10,000 sessions and then one row
// saying how many more are in raw/ (the index is only for people browsing
// the zip; nothing reads it back).
//
//   - raw/N_c.txt is the request as the client sent it, with an absolute
//     URI in the request line ("GET https://host/path HTTP/1.1") or the
//     authority for CONNECT. For an HTTPS tunnel Fiddler puts a text
//     description of the TLS ClientHello where the body would be; it is
//     kept as the body.
//   - raw/N_s.txt is the response as received: chunked framing and content
//     codings still applied. An empty (or blank) or absent file means no response:
//     Flow.Response is nil and Flow.Error is set from a session flag whose
//     name mentions abort, fail or error, when there is one.
//   - raw/N_m.xml (UTF-8 with a BOM): <Session SID BitFlags> holding
//     <SessionTimers .../>, <PipeInfo/>, optionally <TunnelInfo/>, and
//     <SessionFlags><SessionFlag N V/>...</SessionFlags>.
//   - raw/N_w.txt: CRLF, then per WebSocket message a block of lines
//     (Request-Length or Response-Length: the frame size; DoneRead,
//     BeginSend, DoneSend: times) ended by an empty line, the raw frame
//     bytes, and CRLF.
//
// Reading sorts sessions by the numeric value of N (padding and gaps are
// fine). Flow.ID is the position from 1; Flow.Session is the SID of
// N_m.xml (Fiddler's own session number, shown in its "#" column), or N
// when there is no N_m.xml. The Writer numbers files 1..n and writes
// Flow.Session (else Flow.ID) as the SID, so Session survives a round trip.
//
// # Timers and timings
//
// Fiddler stores absolute timestamps (.NET "o" format, 100 ns, with the
// capture's UTC offset; "0001-01-01T00:00:00" when a timer never fired) and
// four integer millisecond durations. They map to the trace like this:
//
//	Started   = ClientBeginRequest (else ClientConnected)
//	dns       = DNSTime
//	ssl       = HTTPSHandshakeTime
//	connect   = TCPConnectTime + HTTPSHandshakeTime   (HAR: connect includes ssl)
//	blocked   = FiddlerBeginRequest - ClientBeginRequest - GatewayTime - dns - connect (>= 0)
//	send      = ServerGotRequest - FiddlerBeginRequest
//	wait      = ServerBeginResponse - ServerGotRequest
//	receive   = ServerDoneResponse - ServerBeginResponse
//	Flow.Time = ClientDoneResponse - ClientBeginRequest
//
// A phase whose timers are missing is NA (-1); a negative difference (clock
// adjustments, reused connections) reads as 0. ClientConnected,
// GotRequestHeaders, ClientDoneRequest, ServerConnected, GotResponseHeaders
// and ClientBeginResponse are not needed for the phases.
//
// Writing inverts the table from Started: ClientConnected,
// ClientBeginRequest, GotRequestHeaders and ClientDoneRequest = Started;
// GatewayTime = 0; DNSTime, TCPConnectTime (connect - ssl) and
// HTTPSHandshakeTime rounded to whole ms; ServerConnected = Started +
// blocked + dns + tcp; FiddlerBeginRequest = that + ssl; ServerGotRequest
// = + send; ServerBeginResponse = GotResponseHeaders = + wait;
// ServerDoneResponse = + receive; ClientBeginResponse = ServerBeginResponse;
// ClientDoneResponse = Started + Flow.Time. Reading that back gives every
// phase within 0.5 ms (exactly, for durations read from a SAZ). An NA dns,
// connect or ssl is written as 0 and reads back as 0.
//
// # Session flags
//
// All flags are kept in Flow.Flags, in order. Some also fill fields:
// x-processinfo -> Process ("name:pid"), x-clientip and x-clientport ->
// ClientAddr ("ip:port"; a port of 0 is dropped), x-hostip -> ServerAddr,
// ui-comments -> Comment, and x-responsebodytransferlength (a number that
// may carry group separators, "1,371") -> Response.BodySize. The Writer
// writes Flags as they are, rewriting these flags only where they no
// longer give back the fields (so a redacted ClientAddr is not leaked by a
// stale flag). BitFlags, PipeInfo and TunnelInfo are not kept (BitFlags is
// written as 0).
//
// # Strict HTTP/1.1 messages
//
// Every raw/N_c.txt and raw/N_s.txt the Writer writes is a message that a
// strict HTTP/1.1 parser accepts (Go's net/http ReadRequest and
// ReadResponse, with the body read to its end: fidelity_test.go checks it
// for every shared sample and for fuzzed flows). What such a message
// cannot carry is kept in a session flag, the original value quoted as a
// Go string literal, and put back when the archive is read (the flags are
// then removed from Flags):
//
//   - a version other than exactly HTTP/1.0 or HTTP/1.1 ("HTTP/2", "h3",
//     "") is written as HTTP/1.1: x-idtrace-request-protocol,
//     x-idtrace-response-protocol;
//   - a method that is not a token is written as INVALID-METHOD:
//     x-idtrace-request-method;
//   - a URL that is not a valid request-target (data: URLs with spaces,
//     relative or empty URLs, stray "%") is written percent-encoded, or
//     with "/" in front: x-idtrace-request-url;
//   - a status outside 0..999 is written as 000, and a reason with control
//     characters with spaces: x-idtrace-response-status,
//     x-idtrace-response-reason; a recorded response with status 0 and
//     nothing else is an empty raw/N_s.txt (Fiddler's "no response") with
//     x-idtrace-response-status = "0", so it reads back as that response,
//     while a flow without a response reads back without one;
//   - headers a strict parser refuses or that would not read back alike
//     (pseudo-headers such as ":authority", names that are not tokens,
//     values with control characters or surrounding spaces, a
//     Transfer-Encoding other than one "chunked", Content-Length values
//     that disagree with each other or with the body written) are left out
//     of the file or corrected, and the whole original list is kept in
//     x-idtrace-request-headers or x-idtrace-response-headers, one
//     quoted name and quoted value per line.
//
// Archives written by earlier versions kept only pseudo-headers, in
// x-idtrace-request-pseudo-headers and x-idtrace-response-pseudo-headers;
// they are still read.
//
// # Bodies
//
// Messages are parsed by internal/httpmsg: the response body is de-chunked
// and decoded (gzip, deflate, br, zstd, stacked); Response.Wire keeps the
// received bytes. A body that cannot be decoded is kept as received and
// reported in Response.Extra["_decodeError"] and Reader.Warnings; the
// session is not failed. The Writer writes Wire when present and still
// consistent with Body (a Wire left behind by a consumer that changed Body
// is ignored, so redacted bytes are never replaced by originals); otherwise it
// encodes the decoded body again with the recorded Content-Encoding (see
// httpmsg.WriteResponse), so the header list and the decoded body survive
// SAZ -> trace -> SAZ -> trace.
//
// # Encryption and untrusted input
//
// Archives are read and written one entry at a time (zipindex.go,
// zipwrite.go, crypt.go). Open and Count walk the zip central directory
// once through a fixed 64 KiB buffer, with one walker (walkDirectory) that
// checks every record. Open keeps 28 bytes per session (its number, how its
// names are spelled, and where its files' records are in the directory);
// Count keeps one small map entry per session (about 40 bytes) to catch
// duplicates. Reading a file parses its record again (whose name and extra
// lengths may differ from the directory's); the data is stored or
// inflated — and first decrypted, for ZipCrypto or WinZip AES entries — and
// checked against the directory's size and CRC-32 (AE-2 entries carry no
// CRC-32: their HMAC-SHA1 is checked instead). ZIP64 extra fields and data
// descriptors are handled. So the memory of a read is those bytes per
// session plus the one session being read (its entries are each capped,
// see below). Only archives with data before the zip, or a central
// directory of 4 GiB, go through archive/zip and yeka/zip, which keep a
// header per entry.
//
// The Writer builds each entry in memory and writes it with its sizes and
// CRC-32 in the local header, keeping its central directory record packed
// (kind, CRC-32, sizes: about 10 bytes); names and offsets are rebuilt at
// Close. The rows of _index.htm are kept too, for at most 10,000 sessions.
// ZIP64 records are written for entries or offsets of 4 GiB and from
// 65,535 entries on. Go's archive/zip, Info-ZIP's unzip and 7-Zip read
// what it writes (zip_test.go, sevenzip_test.go).
//
// Encrypted entries (ZipCrypto or WinZip AES-128/192/256) are read with
// Options.Password. A missing or wrong password yields an error wrapping
// ErrEncrypted. WriterOptions.Password writes every file entry with WinZip
// AES-256 (AE-2). Each AES entry derives its keys with PBKDF2 (1000
// iterations of HMAC-SHA1, as the format requires, with a salt of its
// own), about 1.4 ms an entry on the machine the tests were written on: an
// encrypted archive of 10,000 sessions costs about a minute to write, and
// as much to read whole. 7-Zip lists, tests and extracts the archives
// written, and archives 7-Zip writes with -mem=AES256 or -mem=ZipCrypto
// read back (sevenzip_test.go).
//
// Entry names with "..", a leading "/", a drive letter, a backslash or NUL
// are rejected at Open (zip-slip). Each entry is read with a cap: the
// smallest of MaxEntryBytes, MaxRatio x its compressed size (once above
// 1 MiB) and what remains of MaxTotalBytes, counting the bytes actually
// inflated, not the sizes the directory declares. N_m.xml is capped at
// 8 MiB and parsed without DTDs. Problems are *trace.InputError values with
// File, Entry (the session number N, EntryKind "session"), Field (the
// entry name, e.g. "raw/3_s.txt") and, for message syntax errors, Offset:
// the byte offset inside that entry (after inflating), not in the archive.
//
// Options.StreamOver leaves large bodies in the archive: a request or
// response entry over that size is read up to its headers only (the
// MaxEntryBytes cap then does not apply to it), and Reader.OpenBody streams
// its body, inflated, de-chunked and decoded as Flows would decode it,
// with the ratio and total caps checked as it is read (stream.go). ls and
// show use it so that their memory does not grow with a body's size.
package saz
