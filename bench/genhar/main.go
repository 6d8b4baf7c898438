// Command genhar writes a large, realistic HAR for the benchmarks: browser-like
// headers and cookies, JSON and HTML text bodies, base64 image bodies, and an
// Entra sign-in every few entries. It streams, so any size can be made.
//
//	go run ./bench/genhar -size 200 -o bench/out/big200.har
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/trace"
)

func main() {
	size := flag.Int("size", 200, "approximate output size in MB")
	out := flag.String("o", "big.har", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	meta := &trace.Meta{Creator: trace.Software{Name: "idtrace bench genhar", Version: "1"},
		Pages: []trace.Page{{ID: "page_1", Title: "https://portal.contoso.example/", Started: time.Unix(1700000000, 0).UTC(), OnContentLoad: 900, OnLoad: 1500}}}
	w := har.NewWriter(bw, meta)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1700000000, 0).UTC()
	img := make([]byte, 24<<10)
	for i := range img {
		img[i] = byte(rng.IntN(256))
	}
	text := strings.Repeat(`{"id":"0f9a","displayName":"Adele Vance","mail":"adele@contoso.example","jobTitle":"Engineer"},`, 60)
	limit := int64(*size) << 20
	for i := 1; ; i++ {
		bw.Flush()
		if cw.n >= limit {
			break
		}
		fl := &trace.Flow{ID: i, PageRef: "page_1", Started: start.Add(time.Duration(i) * 37 * time.Millisecond), Time: 120,
			Timings:    trace.Timings{Blocked: 2, DNS: trace.NA, Connect: trace.NA, SSL: trace.NA, Send: 0.3, Wait: 100, Receive: 17.7},
			ServerAddr: "20.190.160.1", Connection: fmt.Sprint(1000 + i%40)}
		host := []string{"login.microsoftonline.com", "graph.microsoft.com", "portal.contoso.example", "aadcdn.msauth.net"}[i%4]
		req := &trace.Request{Method: "GET", URL: fmt.Sprintf("https://%s/v1.0/items/%d?$select=id,displayName&client-request-id=%08x", host, i, rng.Uint32()), Proto: "h2",
			HeadersSize: trace.Unknown, BodySize: 0}
		req.Headers = trace.Headers{{Name: ":authority", Value: host}, {Name: ":method", Value: "GET"}, {Name: "accept", Value: "application/json, text/plain, */*"},
			{Name: "accept-encoding", Value: "gzip, deflate, br, zstd"}, {Name: "accept-language", Value: "en-US,en;q=0.9"},
			{Name: "cookie", Value: fmt.Sprintf("ESTSAUTH=%x; ESTSAUTHPERSISTENT=%x; buid=%x; fpc=%x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())},
			{Name: "user-agent", Value: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"}}
		resp := &trace.Response{Status: 200, Reason: "", Proto: "h2", HeadersSize: trace.Unknown, BodySize: trace.Unknown, Size: trace.Unknown}
		resp.Headers = trace.Headers{{Name: "cache-control", Value: "no-cache, no-store"}, {Name: "date", Value: "Tue, 14 Nov 2023 22:13:20 GMT"},
			{Name: "set-cookie", Value: fmt.Sprintf("fpc=%x; expires=Thu, 14-Dec-2023 22:13:20 GMT; path=/; secure; HttpOnly; SameSite=None", rng.Uint64())},
			{Name: "x-ms-request-id", Value: fmt.Sprintf("%08x-%04x", rng.Uint32(), rng.Uint32()&0xffff)}, {Name: "strict-transport-security", Value: "max-age=31536000; includeSubDomains"}}
		switch i % 5 {
		case 0:
			resp.Headers = append(resp.Headers, trace.Header{Name: "content-type", Value: "image/png"})
			resp.MimeType, resp.Body = "image/png", img[:8<<10+rng.IntN(16<<10)]
		case 1:
			req.Method = "POST"
			req.URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
			req.MimeType, req.HasBody = "application/x-www-form-urlencoded", true
			req.Body = []byte(fmt.Sprintf("client_id=89bee1f7-5e6e-4d8a-9f3d-ecd601259da7&grant_type=refresh_token&refresh_token=1.AXkA%x%x&scope=openid+profile+offline_access", rng.Uint64(), rng.Uint64()))
			resp.Headers = append(resp.Headers, trace.Header{Name: "content-type", Value: "application/json; charset=utf-8"})
			resp.MimeType = "application/json; charset=utf-8"
			resp.Body = []byte(fmt.Sprintf(`{"token_type":"Bearer","scope":"openid profile","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIwMDAwMDAwMy0wMDAwLTAwMDAtYzAwMC0wMDAwMDAwMDAwMDAiLCJleHAiOjE3MDAwMDM2MDB9.%x","refresh_token":"1.AXkA%x"}`, rng.Uint64(), rng.Uint64()))
		default:
			resp.Headers = append(resp.Headers, trace.Header{Name: "content-type", Value: "application/json; charset=utf-8"})
			resp.MimeType, resp.Body = "application/json; charset=utf-8", []byte(`{"value":[`+text[:len(text)-1]+`]}`)
		}
		resp.Size = int64(len(resp.Body))
		fl.Request, fl.Response = req, resp
		if err := w.WriteFlow(fl); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

type countWriter struct {
	w *os.File
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
