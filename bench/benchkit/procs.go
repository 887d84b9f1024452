package benchkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// Procs are the separate processes a benchmark runs (the broker, the
// simulation, a ceiling), their stderr appended to one log file.
type Procs struct {
	Log  string // file the processes' stderr goes to
	cmds []*exec.Cmd
}

// Start runs bin with args and the environment plus env.
func (p *Procs) Start(bin string, env []string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logs, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmds = append(p.cmds, cmd)
	return nil
}

// Stop interrupts every process, newest first, and waits for each.
func (p *Procs) Stop() {
	for i := len(p.cmds) - 1; i >= 0; i-- {
		c := p.cmds[i]
		c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
	p.cmds = nil
}

// FreeAddr is a loopback address nobody listens on right now.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitFor polls u until it answers 200, for up to a minute.
func WaitFor(ctx context.Context, u string) error {
	return WaitForEvery(ctx, u, 60*time.Second, 100*time.Millisecond)
}

// WaitForEvery is WaitFor with its bound and its poll interval: a start-up
// timed by the first 200 needs a finer poll than 100 ms.
func WaitForEvery(ctx context.Context, u string, within, every time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return fmt.Errorf("%s did not answer 200 within %s", u, within)
}
