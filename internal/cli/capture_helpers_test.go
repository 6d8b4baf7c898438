package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

func tlsConfig(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }

func testFlow(id int) *trace.Flow {
	return &trace.Flow{ID: id, Started: time.Date(2026, 11, 25, 0, 0, id, 0, time.UTC), Time: 1, Timings: trace.NoTimings(),
		Request:  &trace.Request{Method: "GET", URL: fmt.Sprintf("https://example.test/%d", id), Proto: "HTTP/1.1"},
		Response: &trace.Response{Status: 200, Reason: "OK", Proto: "HTTP/1.1", Body: []byte("ok")}}
}
