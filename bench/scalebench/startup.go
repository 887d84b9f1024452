package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// startUp times the real broker process, built as released, from its start
// to its first 200 on /readyz, against the seeded (warm) database: twice,
// the second after the first has stopped.
func startUp(ctx context.Context, dbURL, simURL string, out io.Writer) error {
	dir, err := os.MkdirTemp("", "scalebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "broker")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/broker")
	build.Env, build.Stderr = append(os.Environ(), "CGO_ENABLED=0"), os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the broker: %w", err)
	}
	var took []time.Duration
	for range 2 {
		addr := benchkit.FreeAddr()
		procs := benchkit.Procs{Log: filepath.Join(dir, "broker.log")}
		start := time.Now()
		if err := procs.Start(bin, []string{"BROKER_DATABASE_URL=" + dbURL, "BROKER_ENCRYPTION_KEYS=" + ringText,
			"BROKER_SESSION_KEYS=" + ringText, "BROKER_MICROSOFT_CLIENT_ID=" + mssim.DemoWebClientID,
			"BROKER_MICROSOFT_CLIENT_SECRET=" + mssim.DemoWebClientSecret, "BROKER_MICROSOFT_LOGIN_URL=" + simURL,
			"BROKER_MICROSOFT_GRAPH_URL=" + simURL, "BROKER_LISTEN_ADDR=" + addr, "BROKER_PUBLIC_URL=http://" + addr}, "serve"); err != nil {
			return err
		}
		err := benchkit.WaitForEvery(ctx, "http://"+addr+"/readyz", 2*time.Minute, 5*time.Millisecond) // 5 ms: the figure is the wait
		took = append(took, time.Since(start))
		procs.Stop()
		if err != nil {
			logs, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
			return fmt.Errorf("broker start-up: %w\n%s", err, logs)
		}
	}
	fmt.Fprintf(out, "## Start-up with a warm database\n\n`broker serve` (release build) from process start to its first 200 on "+
		"/readyz: %s, then %s. Load average %s.\n\n", took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), benchkit.LoadAverage())
	return nil
}
