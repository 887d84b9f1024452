package securitytest

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/app"
)

// zeros is an endless body of form-ish bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// Claim: no form or JSON endpoint reads an unbounded body: a 50 MB post is
// refused after at most a few tens of kilobytes, with 413 or 400, quickly,
// and the broker keeps answering.
func TestOversizedBodiesAreRefused(t *testing.T) {
	b := start(t)
	admin := b.signInA(t)
	const size = 50 << 20
	probes := []struct {
		path, contentType, key string
	}{
		{"/login", "application/x-www-form-urlencoded", ""},
		{"/connections", "application/x-www-form-urlencoded", ""},
		{"/connections", "multipart/form-data; boundary=broker-limit-probe", ""}, // the form with a certificate upload
		{"/connections/" + b.A.ConnectionID + "/disable", "application/x-www-form-urlencoded", ""},
		{"/api-keys", "application/x-www-form-urlencoded", ""},
		{"/api/v1/admin/connections/" + b.B.Conn.ID + "/disable", "application/json", b.B.AdmKey},
	}
	for _, p := range probes {
		req, _ := http.NewRequest(http.MethodPost, b.URL+p.path, io.MultiReader(strings.NewReader("name="), io.LimitReader(zeros{}, size)))
		req.ContentLength = size
		req.Header.Set("Content-Type", p.contentType)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if p.key != "" {
			req.Header.Set("Authorization", "Bearer "+p.key)
		}
		began := time.Now()
		res, err := admin.c.Do(req)
		took := time.Since(began)
		if err != nil {
			// The broker may close the connection while the client is still
			// writing; that is a refusal too, as long as it came fast.
			t.Logf("POST %s with 50 MB: connection closed after %v", p.path, took)
			if took > 10*time.Second {
				t.Errorf("POST %s: %v after %v", p.path, err, took)
			}
			continue
		}
		res.Body.Close()
		t.Logf("POST %s with 50 MB: %d after %v", p.path, res.StatusCode, took)
		if (res.StatusCode != http.StatusRequestEntityTooLarge && res.StatusCode != http.StatusBadRequest) || took > 10*time.Second {
			t.Errorf("POST %s with 50 MB: %d after %v", p.path, res.StatusCode, took)
		}
	}
	wantStatus(t, admin.get("/connections"), http.StatusOK)
}

// Claim: a client that sends its headers slowly (slowloris) is cut off: the
// server gives the request line and headers about ten seconds in all.
func TestSlowHeadersAreCutOff(t *testing.T) {
	b := start(t)
	addr, conn := serveAndDial(t, b)
	defer conn.Close()
	began := time.Now()
	if _, err := conn.Write([]byte("GET /login HTTP/1.1\r\nHost: " + addr + "\r\nX-Slow: 1\r\n")); err != nil {
		t.Fatal(err)
	}
	// Trickle a header byte every second; the server must hang up anyway.
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- time.Since(began)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case d := <-closed:
			if d < 5*time.Second {
				t.Fatalf("cut off after %v: too early to be the header timeout", d)
			}
			return
		case <-tick.C:
			conn.Write([]byte("X"))
			if time.Since(began) > 20*time.Second {
				t.Fatal("a connection trickling its headers is still open after 20s")
			}
		}
	}
}

// Claim: a body trickled one byte at a time (slow POST) is cut off when
// the whole request has taken longer than the read timeout (30 s by default;
// 3 s here).
func TestSlowBodiesAreCutOff(t *testing.T) {
	b := start(t, func(o *app.Options) { o.ReadTimeout = 3 * time.Second })
	addr, conn := serveAndDial(t, b)
	defer conn.Close()
	began := time.Now()
	head := "POST /login HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Sec-Fetch-Site: same-origin\r\nContent-Length: 1000\r\n\r\nemail="
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		io.Copy(io.Discard, conn)
		closed <- time.Since(began)
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d := <-closed:
			if d < 2*time.Second {
				t.Fatalf("cut off after %v: before the read timeout", d)
			}
			return
		case <-tick.C:
			conn.Write([]byte("a"))
			if time.Since(began) > 15*time.Second {
				t.Fatal("a connection trickling its body is still open after 15s (read timeout 3s)")
			}
		}
	}
}

// serveAndDial runs the app on a real listener (the http.Server's own
// timeouts are what these tests are about) and opens a raw TCP connection.
func serveAndDial(t *testing.T, b *broker) (string, net.Conn) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- b.App.Serve(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-served })
	addr := (<-addrc).String()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return addr, conn
}
