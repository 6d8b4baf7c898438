// Package proxy is idtrace's intercepting HTTP proxy: an explicit proxy
// (CONNECT and absolute-URI requests) that decrypts the TLS of the hosts it
// is told to with leaf certificates minted by the local CA (package certs),
// forwards each request upstream, and reports every exchange as a
// *trace.Flow.
//
// # The one invariant
//
// Every flow is reported exactly once through Config.OnFlow, when it has
// completed, with a Response or an Error — never both, never neither. IDs
// are sequence numbers taken when the request arrives, so a slow flow may be
// reported after a later one. When Serve returns, every flow it started has
// been reported and no further call is made.
//
// # What is recorded
//
//   - Decrypted HTTP/1.1 and HTTP/2 requests (ALPN offers h2 and http/1.1
//     to the client; upstream speaks whatever the server negotiates) and
//     plain-HTTP proxy requests: headers, bodies up to Config.MaxBody (cut
//     beyond and flagged x-idtrace-truncated), timings (blocked, dns, connect, ssl,
//     send, wait, receive), the server IP and the client's address and
//     process ("name:pid": on Linux from the socket's inode in /proc, on
//     macOS from lsof, on Windows from netstat -ano and tasklist; lookups
//     are batched and never delay a request).
//   - Headers of HTTP/1.x messages on both sides exactly as they crossed
//     the wire: names in their case, in their order, duplicates kept, and
//     the header block's size (see wire.go: the connections under net/http
//     keep each header block, and a block is used only when it agrees with
//     what net/http parsed). HTTP/2 headers (lower case on the wire) are
//     listed in net/http's canonical case ("Content-Type"), sorted by name
//     after Host: net/http's HTTP/2 client and server hand them over as a
//     map, so their HPACK order is not known. So are those of an HTTP/1.x
//     message whose block could not be matched.
//   - Response bodies as received on the wire (Response.Wire, with Encoding)
//     and decoded (Body) for gzip and deflate, and for other codings through
//     Config.DecodeBody when set; a body left undecoded keeps Body equal to
//     the wire bytes and sets the flag x-idtrace-undecoded.
//   - WebSocket upgrades, relayed byte for byte, with each message in
//     Flow.WebSocket (text as is, binary as base64; masking removed). The
//     proxy removes Sec-WebSocket-Extensions from the upgrade request so that
//     messages are not compressed and can be read in the trace.
//   - CONNECT requests for hosts not decrypted pass as blind tunnels and are
//     one flow each (status 200, Request.BodySize and Response.BodySize the
//     bytes each way), as Fiddler records them.
//   - Failures: an upstream whose certificate does not verify, an upstream
//     that cannot be reached or resets, a client that goes away mid-body, a
//     client that refuses the minted certificate. The flow carries the error
//     and, where the client is still there, it gets a 502 page saying why.
//
// # Why the standard library
//
// net/http already speaks HTTP/1.1 and HTTP/2 on both sides (its bundled
// HTTP/2 server takes over a *tls.Conn that negotiated h2, and
// http.Transport negotiates h2 upstream, also through an upstream proxy),
// returns a read-write body for a 101 Switching Protocols response (the
// WebSocket relay), and net/http/httptrace gives the connection timings. A
// third-party proxy framework (goproxy) would add a dependency and its own
// certificate handling without removing any of the recording work, which is
// where the invariant above has to be enforced.
//
// # Who may connect
//
// Clients not on a loopback address are refused (the connection is closed
// before anything is read) unless their address is in Config.AllowRemote.
package proxy
