package proxy

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"time"
)

// lsofBatcher asks lsof, once per batch, which processes hold TCP
// connections to the proxy's port.
var lsofBatcher = &batcher{resolve: func(keys []connKey) map[connKey]string {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	port := strconv.Itoa(int(keys[0].server.Port()))
	out, err := exec.CommandContext(ctx, "lsof", "-nP", "-iTCP:"+port, "-sTCP:ESTABLISHED", "-F", "pcn").Output()
	if err != nil && len(out) == 0 {
		return nil
	}
	return parseLsof(string(out), keys)
}}

func lookupProcessAsync(c net.Conn) func() string { return processLookup(lsofBatcher, c) }
