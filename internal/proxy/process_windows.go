package proxy

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"
)

// netstatBatcher asks netstat and tasklist, once per batch, which processes
// hold the clients' connections.
var netstatBatcher = &batcher{resolve: func(keys []connKey) map[connKey]string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "netstat", "-ano").Output()
	if err != nil && len(out) == 0 {
		return nil
	}
	pids := parseNetstat(string(out), keys)
	if len(pids) == 0 {
		return nil
	}
	list, _ := exec.CommandContext(ctx, "tasklist", "/FO", "CSV", "/NH").Output()
	names := parseTasklist(string(list))
	found := map[connKey]string{}
	for k, pid := range pids {
		found[k] = fmt.Sprintf("%s:%d", names[pid], pid)
	}
	return found
}}

func lookupProcessAsync(c net.Conn) func() string { return processLookup(netstatBatcher, c) }
