package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/bench/benchkit"
	brokerconfig "github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/devseed"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

var dbPrefix = "broker_keepalivebench"

func run(ctx context.Context, c config) error {
	if v := os.Getenv("KEEPALIVEBENCH_DB_PREFIX"); v != "" {
		dbPrefix = v
	}
	if c.inFlight == 0 {
		c.inFlight = brokerconfig.DefaultRefreshMaxInFlight
	}
	dir, err := os.MkdirTemp("", "keepalivebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "broker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/broker")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the broker: %w", err)
	}
	simAddr := benchkit.FreeAddr()
	simURL := "http://" + simAddr
	sim := exec.Command(bin, "simulate-microsoft", "--addr", simAddr, "--msa-addr", "", "--idp-addr", "")
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		return err
	}
	defer func() { sim.Process.Signal(os.Interrupt); sim.Wait() }()
	if err := benchkit.WaitFor(ctx, simURL+"/common/v2.0/.well-known/openid-configuration"); err != nil {
		return fmt.Errorf("simulated Microsoft: %w", err)
	}
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	dbURL, drop, err := benchkit.Create(ctx, adminURL, dbPrefix)
	if err != nil {
		return err
	}
	defer drop()
	ring, _ := secrets.ParseRing(ringText)
	st, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer st.Close()
	p := &oauth.Microsoft{LoginBase: simURL, GraphBase: simURL, ClientID: mssim.DemoWebClientID,
		ClientSecret: mssim.DemoWebClientSecret, RedirectURL: mssim.DemoRedirectURI, HTTPClient: oauth.NewHTTPClient()}
	tok, err := benchkit.SignIn(ctx, p, "adele@"+mssim.DemoContosoDomain)
	if err != nil {
		return err
	}
	out := os.Stdout
	fmt.Fprintf(out, "# Keep-alive benchmark: %d connections, simulated token endpoint +%s\n\n%s, load average %s at the start.\n\n",
		c.connections, c.latency, machineLine(), benchkit.LoadAverage())
	res, err := devseed.Seed(ctx, st, devseed.Options{Connections: c.connections, RefreshToken: tok.RefreshToken,
		Scopes: mssim.OutlookScopes, Progress: os.Stderr})
	if err != nil {
		return err
	}
	owner, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "ANALYZE connections"); err != nil {
		return err
	}
	fmt.Fprintf(out, "Seeded in %s (load average %s).\n\n", res.Elapsed.Round(time.Second), benchkit.LoadAverage())
	fmt.Fprintf(out, "| phase | replicas | refreshed | refreshes/s per replica | claim statements per refresh | "+
		"refresh's own statements per refresh | replicas' CPU (per refresh) | simulation's CPU (per refresh) | "+
		"Postgres backends' CPU (per refresh) | rows refreshed twice | load average |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	phases := []phase{}
	for _, n := range c.replicas {
		phases = append(phases, phase{name: fmt.Sprintf("+%s latency", c.latency), replicas: n})
	}
	if c.throttle {
		phases = append(phases, phase{name: "a quarter answered 429, Retry-After 5s", replicas: 1, throttle: true})
	}
	for _, ph := range phases {
		if err := ph.run(ctx, c, bin, simURL, dbURL, owner, sim.Process.Pid); err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
	}
	return nil
}

type phase struct {
	name     string
	replicas int
	throttle bool
}

func (ph phase) run(ctx context.Context, c config, bin, simURL, dbURL string, owner *pgx.Conn, simPID int) error {
	out := os.Stdout
	// The backlog: c.due active grants in use, their tokens expiring
	// within 5 minutes (due now: ExpiresWithin is 10 minutes).
	if _, err := owner.Exec(ctx, `UPDATE connections SET last_used_at = now(), refresh_not_before = NULL, refresh_failures = 0,
		access_token_expires_at = now() + random() * interval '5 minutes'
		WHERE id IN (SELECT id FROM connections WHERE status = 'active' AND auth_type = 'authorization_code'
		             AND (next_refresh_at IS NULL OR next_refresh_at > now()) ORDER BY random() LIMIT $1)`, c.due); err != nil {
		return err
	}
	if _, err := owner.Exec(ctx, "ANALYZE connections"); err != nil {
		return err
	}
	if err := simCall(ctx, "DELETE", simURL+"/_sim/faults", nil); err != nil {
		return err
	}
	latency := map[string]any{"endpoint": mssim.EndpointToken, "grant": "refresh_token", "latency": c.latency.String()}
	if ph.throttle {
		throttle := map[string]any{"endpoint": mssim.EndpointToken, "grant": "refresh_token", "latency": c.latency.String(),
			"status": 429, "retryAfter": "5s", "times": c.due / 4}
		if err := simCall(ctx, "POST", simURL+"/_sim/faults", throttle); err != nil {
			return err
		}
	}
	if err := simCall(ctx, "POST", simURL+"/_sim/faults", latency); err != nil {
		return err
	}
	if err := simCall(ctx, "DELETE", simURL+"/_sim/counters", nil); err != nil {
		return err
	}
	var dueNow int
	owner.QueryRow(ctx, `SELECT count(*) FROM connections WHERE next_refresh_at <= now()`).Scan(&dueNow)
	start := time.Now()
	startAt := start.Add(2 * time.Second)
	simCPU0 := procCPU(simPID)
	args := []string{"-replica", "-db", dbURL, "-sim", simURL, "-start-at", strconv.FormatInt(startAt.UnixMilli(), 10),
		"-duration", c.maxFor.String(), "-max-in-flight", strconv.Itoa(c.inFlight), "-concurrency", strconv.Itoa(c.conc)}
	if ph.throttle {
		args = append(args, "-drain", "8s")
	}
	pg := watchBackends(ctx, owner)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmds := make([]*exec.Cmd, ph.replicas)
	outs := make([]*bytes.Buffer, ph.replicas)
	for i := range cmds {
		outs[i] = &bytes.Buffer{}
		cmds[i] = exec.CommandContext(ctx, self, args...)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			return err
		}
	}
	results := make([]replicaResult, ph.replicas)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("replica %d: %w", i, err)
		}
		if err := json.Unmarshal(outs[i].Bytes(), &results[i]); err != nil {
			return fmt.Errorf("replica %d said %q: %w", i, outs[i].String(), err)
		}
	}
	wall := time.Since(startAt).Seconds()
	simCPU := procCPU(simPID) - simCPU0
	pgCPU := pg()
	load := benchkit.LoadAverage()
	counts := map[string]int64{}
	if err := simGet(ctx, simURL+"/_sim/counters", &counts); err != nil {
		return err
	}
	var stored int64
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM connections WHERE last_refresh_at >= $1`, start).Scan(&stored); err != nil {
		return err
	}
	var refreshed, upstream, claimQ, ownQ int64
	var cpu float64
	rates := []string{}
	for _, r := range results {
		refreshed += r.Refreshed
		upstream += r.Upstream
		claimQ += r.ClaimQueries
		ownQ += r.OwnQueries
		cpu += r.CPUSeconds
		rates = append(rates, fmt.Sprintf("%.0f", float64(r.Refreshed)/max(r.Seconds, 0.001)))
	}
	asked := counts[mssim.EndpointToken+"/refresh_token"]
	twice := "0"
	if ph.throttle || asked != refreshed || stored != refreshed {
		// Throttled rows are asked again after their Retry-After: each
		// ask is one request, each success one stored token.
		twice = fmt.Sprintf("%d asked, %d tokens stored by the replicas, %d rows with a new token", asked, refreshed, stored)
		if !ph.throttle && stored != refreshed {
			defer fmt.Fprintf(os.Stderr, "keepalivebench: %s: rows refreshed twice or lost: %s\n", ph.name, twice)
		}
	}
	per := func(sec float64) float64 { return 1000 * sec / float64(max(refreshed, 1)) }
	fmt.Fprintf(out, "| %s (backlog %d due) | %d | %d | %s | %.3f | %.2f | %.0f%% (%.2f ms) | %.0f%% (%.2f ms) | %.0f%% (%.2f ms) | %s | %s |\n",
		ph.name, dueNow, ph.replicas, refreshed, strings.Join(rates, ", "), float64(claimQ)/float64(max(refreshed, 1)),
		float64(ownQ)/float64(max(refreshed, 1)), 100*cpu/wall, per(cpu), 100*simCPU/wall, per(simCPU), 100*pgCPU/wall, per(pgCPU),
		twice, load)
	fmt.Fprintf(os.Stderr, "phase %q: %+v; sim counters %v; wall %.1fs\n", ph.name, results, counts, wall)
	return nil
}

func simCall(ctx context.Context, method, u string, body any) error {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return nil
}

func simGet(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// watchBackends samples, every half second until the returned function is
// called, the CPU of every Postgres backend serving this database (they
// run on this machine), and returns the CPU seconds they took meanwhile.
func watchBackends(ctx context.Context, owner *pgx.Conn) func() float64 {
	first, last := map[int]float64{}, map[int]float64{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		rows, err := owner.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			return
		}
		pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
		for _, pid := range pids {
			v := procCPU(int(pid))
			if _, ok := first[int(pid)]; !ok {
				first[int(pid)] = v
			}
			last[int(pid)] = v
		}
	}
	go func() {
		defer close(stopped)
		for {
			sample()
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		total := 0.0
		for pid, v := range last {
			total += v - first[pid]
		}
		return total
	}
}

// procCPU is a process's user + system CPU seconds so far (/proc/PID/stat).
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stime) / 100 // USER_HZ
}

func machineLine() string {
	return fmt.Sprintf("Machine: %s, %d logical CPUs, Linux %s, %s; %s", benchkit.CPU(), runtime.NumCPU(),
		benchkit.Kernel(), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}
