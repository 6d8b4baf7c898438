package proxy

import (
	"encoding/csv"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// processWait bounds how long a completed flow waits for its client's process name.
const processWait = time.Second

// connKey names a client's connection to the proxy.
type connKey struct{ client, server netip.AddrPort }

// batcher resolves connections to processes in batches: lookups that arrive
// while a resolution runs wait for the next one, which answers them all, so
// a burst of new connections costs one or two scans of the OS tables.
type batcher struct {
	resolve func(keys []connKey) map[connKey]string
	mu      sync.Mutex
	pending map[connKey][]chan string
	running bool
}

func (b *batcher) lookup(k connKey) string {
	ch := make(chan string, 1)
	b.mu.Lock()
	if b.pending == nil {
		b.pending = map[connKey][]chan string{}
	}
	b.pending[k] = append(b.pending[k], ch)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	return <-ch
}

func (b *batcher) loop() {
	for {
		b.mu.Lock()
		batch := b.pending
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.pending = nil
		b.mu.Unlock()
		keys := make([]connKey, 0, len(batch))
		for k := range batch {
			keys = append(keys, k)
		}
		found := b.resolve(keys)
		for k, chans := range batch {
			for _, ch := range chans {
				ch <- found[k]
			}
		}
	}
}

// processLookup starts finding the local process behind the client end of
// c with b and returns a function giving its "name:pid" ("" if unknown).
func processLookup(b *batcher, c net.Conn) func() string {
	if b == nil {
		return nil
	}
	client, err1 := netip.ParseAddrPort(c.RemoteAddr().String())
	server, err2 := netip.ParseAddrPort(c.LocalAddr().String())
	if err1 != nil || err2 != nil {
		return nil
	}
	done := make(chan struct{})
	var result string
	go func() {
		defer close(done)
		result = b.lookup(connKey{client: client, server: server})
	}()
	return sync.OnceValue(func() string {
		select {
		case <-done:
			return result
		case <-time.After(processWait):
			return ""
		}
	})
}

// parseLsof reads `lsof -nP -F pcn` output (macOS) and names the process of
// each wanted connection, whose name field reads "client->server".
func parseLsof(out string, keys []connKey) map[connKey]string {
	want := map[string]connKey{}
	for _, k := range keys {
		want[k.client.String()+"->"+k.server.String()] = k
	}
	found := map[connKey]string{}
	var pid, cmd string
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		switch line[0] {
		case 'p':
			pid, cmd = line[1:], ""
		case 'c':
			cmd = line[1:]
		case 'n':
			if k, ok := want[line[1:]]; ok && pid != "" {
				found[k] = cmd + ":" + pid
			}
		}
	}
	return found
}

// parseNetstat reads `netstat -ano` output (Windows) and returns the PID of
// each wanted connection.
func parseNetstat(out string, keys []connKey) map[connKey]int {
	want := map[[2]string]connKey{}
	for _, k := range keys {
		want[[2]string{k.client.String(), k.server.String()}] = k
	}
	found := map[connKey]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "TCP" {
			continue
		}
		if k, ok := want[[2]string{f[1], f[2]}]; ok {
			if pid, err := strconv.Atoi(f[4]); err == nil {
				found[k] = pid
			}
		}
	}
	return found
}

// parseTasklist reads `tasklist /FO CSV /NH` output (Windows): image name by PID.
func parseTasklist(out string) map[int]string {
	names := map[int]string{}
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if len(rec) >= 2 {
			if pid, err := strconv.Atoi(strings.TrimSpace(rec[1])); err == nil {
				names[pid] = rec[0]
			}
		}
	}
	return names
}
