package testdb

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Outage is a TCP proxy in front of the test Postgres whose Cut makes the
// database unreachable for its clients, as a stopped or restarting server
// is (open connections reset, new ones refused at once), without touching
// the Postgres that other tests share. Restore lets clients in again.
type Outage struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

// WithOutage returns a URL for the database at dbURL that goes through a
// new Outage on 127.0.0.1, and the Outage. It closes with the test.
func WithOutage(t testing.TB, dbURL string) (string, *Outage) {
	t.Helper()
	proxied, o, err := NewOutage(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return proxied, o
}

// NewOutage is WithOutage for callers without a test (the benchmark);
// Close it when done.
func NewOutage(dbURL string) (string, *Outage, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	o := &Outage{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	if u.Port() == "" {
		o.target = net.JoinHostPort(u.Hostname(), "5432")
	}
	go o.accept()
	u.Host = ln.Addr().String()
	return u.String(), o, nil
}

// Close stops the proxy and resets its connections.
func (o *Outage) Close() {
	o.ln.Close()
	o.Cut()
}

// Cut resets every open connection and refuses new ones until Restore.
func (o *Outage) Cut() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cut = true
	for c := range o.conns {
		c.Close()
	}
	clear(o.conns)
}

// Restore lets connections through again.
func (o *Outage) Restore() {
	o.mu.Lock()
	o.cut = false
	o.mu.Unlock()
}

func (o *Outage) accept() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		go o.pipe(c)
	}
}

func (o *Outage) pipe(c net.Conn) {
	o.mu.Lock()
	if o.cut {
		o.mu.Unlock()
		c.Close()
		return
	}
	o.mu.Unlock()
	up, err := net.Dial("tcp", o.target)
	if err != nil {
		c.Close()
		return
	}
	o.mu.Lock()
	if o.cut {
		o.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	o.conns[c], o.conns[up] = true, true
	o.mu.Unlock()
	go func() {
		io.Copy(up, c)
		up.Close()
	}()
	io.Copy(c, up)
	c.Close()
}
