// Package har reads and writes HTTP Archive (HAR 1.2) files as streams of
// trace.Flow values.
//
// # API
//
//   - NewReader(r, name) returns a *Reader, a trace.Source: Meta() and
//     Flows(). It decodes one entry at a time with jsontext; the file is never
//     held in memory. Flow.ID is the entry's 1-based position.
//   - Count(r, name) counts log.entries without decoding them, for
//     `idtrace ls --count`. Memory is bounded by the largest JSON token.
//   - NewWriter(w, meta) returns a *Writer, a trace.Sink: WriteFlow and
//     Close(meta).
//
// The package belongs to the HAR owner; other packages use it through this
// API only. Library code here never prints and never exits.
//
// # Reading: what goes where
//
// log.version, creator, browser, pages and comment fill trace.Meta; any
// other member of log goes to Meta.Extra in file order, wherever it appears.
// Meta called before Flows reads up to the entries, so what a file stores
// before them is known at once; what it stores after them is complete once
// Flows has ended. Members of the top-level object other than "log" are
// skipped (they are not HAR).
//
// An entry maps onto a Flow field by field: pageref, startedDateTime
// (Started, keeping its zone offset), time, request, response, cache (raw
// JSON, kept opaque), timings (milliseconds, -1 and absent stay trace.NA),
// serverIPAddress (ServerAddr), connection and comment. request.httpVersion
// and response.httpVersion are kept exactly as written ("HTTP/2.0", "h3",
// "unknown", ""). postData.text is Request.Body and postData.params are
// kept; queryString is skipped because it repeats the URL (the writer
// derives it again). content.compression 0 and an absent one are the same. content.text is Response.Body: decoded from base64
// when content.encoding says so, so Body always holds the bytes; an absent
// text sets BodyOmitted. Response.Encoding is taken from the
// Content-Encoding header (HAR bodies are already decoded), and Wire is
// never set. response._error (Chrome's net::ERR_... for failed requests) is
// copied into Flow.Error and also kept in Response.Extra; HAR files record
// such flows with a status-0 response, which is kept as a Response.
//
// Every field the model has no place for is kept, in order, as an opaque
// vendor field (trace.Extension: name and raw JSON) at its level: log,
// creator, browser, page, entry, request, postData, response, content,
// timings, cookie and WebSocket message. That covers Chrome's _initiator,
// _priority, _resourceType, _transferSize, Firefox's and Safari's extras,
// Playwright's _file content references and _monotonicTime, Charles'
// _charlesStatus and the like, and also unknown non-underscore fields.
// Fields of headers, query parameters, postData params and pageTimings
// beyond the standard ones are not kept (the model has no Extra there).
// _webSocketMessages becomes Flow.WebSocket when it is a list of message
// objects, and stays a vendor field otherwise.
//
// # Lenient
//
// A UTF-8 byte order mark; HAR 1.1 and any version string; missing version,
// creator, browser, pages or entries; null for any object, list or scalar
// (read as absent); numbers written as strings ("200", "1.5") and strings
// written as numbers; headers as {name, value} objects, as [name, value]
// pairs or as a {name: value} map; entries without a request (an empty
// Request is supplied) or without a response (Response is nil); status 0;
// empty or invalid URLs (kept as written); dates in RFC 3339 with or
// without a zone, with a space instead of T, or RFC 1123 (an unparsable date
// gives the zero time, and the text is kept as the vendor field
// _idtraceStartedDateTime of the entry or page); base64 with line breaks, without padding or in the
// URL alphabet; an unknown content.encoding (the text is kept as it is and
// the encoding kept as a vendor field); duplicate member names (for a
// model field the last wins, a repeated vendor field is kept twice); invalid UTF-8 inside strings (replaced by U+FFFD, as jsontext does).
//
// # Strict
//
// Input that is not JSON, JSON that is not a HAR document (no "log" object,
// log not an object, entries not a list, an entry not an object, a
// duplicate log or entries), data after the document, a truncated file, a
// known field of the wrong type (a status of "abc", headers that are a
// number), invalid base64 in a body, nesting deeper than Limits.MaxDepth
// (64), an entry (or other log member) over Limits.MaxValueBytes (512 MiB)
// and a header name or value over Limits.MaxHeaderBytes (1 MiB) all stop the
// stream with a *trace.InputError naming the file, the 0-based entry index
// (-1 outside entries), the byte offset in the file (BOM included) and the
// field path ("response.status", "log.entries"). Flows read before the error
// have been yielded; none is dropped silently. Count applies the same
// syntax, structure and limit checks but not the per-field ones, so a file
// the reader rejects in the middle of an entry may still count.
//
// # Writing
//
// The writer emits "version": "1.2" and, when NewWriter's meta names a
// creator, creator and browser; then each entry as it comes; then at Close,
// from the final meta, the creator if not yet written (DefaultCreator when
// none is known), pages, comment and the log's vendor fields. JSON key
// order is free, so pages known only at the end are still right. Output is
// indented with two spaces and passes the npm package har-validator (see
// tools/harvalidate; the tests run it over every corpus file).
//
// Bodies are written as text when they are valid UTF-8 without NUL bytes,
// and as base64 with "encoding": "base64" otherwise, so body bytes round
// trip exactly. Dates are written as RFC 3339 with milliseconds in the
// flow's own zone offset. NaN or infinite timings are written as -1. Vendor
// fields are written back at their level after the standard fields; a vendor
// field whose name collides with a standard field of that object is not
// written (the output never has duplicate names), and one whose JSON is
// invalid makes WriteFlow fail. queryString is derived from the URL and
// left percent-encoded, as recent Chrome and Edge write it (Firefox and
// mitmproxy decode it), so it always matches the URL, also after redaction.
//
// HAR has no place for some Flow fields, and har-validator rejects some
// values that real files contain; the writer keeps those in one entry-level
// vendor object, "_idtrace", which the reader maps back (and keeps as an
// ordinary vendor field if it has another shape; such a foreign "_idtrace"
// is written back unless the writer needs the name itself):
//
//   - session, process, clientAddr, flags: Fiddler session data;
//   - noResponse and error: the flow had no response (HAR requires one, so
//     an empty status-0 response is written) and why;
//   - url: the request URL as recorded, when it is empty or not a URI with a
//     scheme; "url" then holds "about:blank" or the URL with white space
//     percent-encoded and "about:" in front;
//   - serverAddr: the server address as recorded, when it is not a bare IP
//     address (Chrome writes "[2001:db8::1]"; serverIPAddress then gets the
//     bare form);
//   - cache: the cache object, when it does not follow the HAR schema
//     (Firefox writes afterRequest without lastAccess, eTag and hitCount);
//     "cache" is then {}.
//
// Not written: Response.Wire (HAR bodies are decoded), Response.Encoding
// (it is in the headers), Meta.Version (always "1.2"), Meta.Format.
package har
