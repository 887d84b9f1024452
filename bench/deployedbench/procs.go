package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/devseed"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

const ringText = "bench:YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXkhISE="

var mailboxes = []string{"adele@" + mssim.DemoContosoDomain, "alex@" + mssim.DemoContosoDomain, "admin@" + mssim.DemoContosoDomain}

// world is what a run starts: three processes, a database, keys and
// connections.
type world struct {
	dir                           string
	simURL, brokerURL, ceilingURL string
	keys                          []string
	conns                         []string
	logs                          string // the processes' stderr
	machine                       string
	procs                         benchkit.Procs
	cleanup                       []func()
}

func (w *world) close() {
	w.procs.Stop()
	for i := len(w.cleanup) - 1; i >= 0; i-- {
		w.cleanup[i]()
	}
}

func setUp(ctx context.Context, c config) (w *world, err error) {
	w = &world{}
	defer func() {
		if err != nil {
			if b, rerr := os.ReadFile(w.logs); rerr == nil { // what the processes said helps more than a timeout
				os.Stderr.Write(b)
			}
			w.close()
		}
	}()
	if w.dir, err = os.MkdirTemp("", "deployedbench"); err != nil {
		return w, err
	}
	w.cleanup = append(w.cleanup, func() { os.RemoveAll(w.dir) })
	w.logs = filepath.Join(w.dir, "processes.log")
	w.procs.Log = w.logs
	bin := filepath.Join(w.dir, "broker")
	// Built as the Makefile's `build` target builds the release binary.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/broker")
	build.Env, build.Stderr = append(os.Environ(), "CGO_ENABLED=0"), os.Stderr
	if err := build.Run(); err != nil {
		return w, fmt.Errorf("build the broker: %w", err)
	}
	simAddr, brokerAddr, ceilingAddr := benchkit.FreeAddr(), benchkit.FreeAddr(), benchkit.FreeAddr()
	w.simURL, w.brokerURL, w.ceilingURL = "http://"+simAddr, "http://"+brokerAddr, "http://"+ceilingAddr
	if err := w.procs.Start(bin, nil, "simulate-microsoft", "--addr", simAddr, "--msa-addr", "", "--idp-addr", ""); err != nil {
		return w, err
	}
	if err := benchkit.WaitFor(ctx, w.simURL+"/common/v2.0/.well-known/openid-configuration"); err != nil {
		return w, fmt.Errorf("simulated Microsoft: %w", err)
	}
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	dbURL, drop, err := benchkit.Create(ctx, adminURL, c.dbPrefix)
	if err != nil {
		return w, err
	}
	w.cleanup = append(w.cleanup, drop)
	if err := w.seed(ctx, c, dbURL); err != nil {
		return w, err
	}
	env := []string{"BROKER_DATABASE_URL=" + dbURL, "BROKER_ENCRYPTION_KEYS=" + ringText, "BROKER_SESSION_KEYS=" + ringText,
		"BROKER_MICROSOFT_CLIENT_ID=" + mssim.DemoWebClientID, "BROKER_MICROSOFT_CLIENT_SECRET=" + mssim.DemoWebClientSecret,
		"BROKER_MICROSOFT_LOGIN_URL=" + w.simURL, "BROKER_MICROSOFT_GRAPH_URL=" + w.simURL,
		"BROKER_LISTEN_ADDR=" + brokerAddr, "BROKER_PUBLIC_URL=" + w.brokerURL}
	if err := w.procs.Start(bin, env, "serve"); err != nil {
		return w, err
	}
	if err := benchkit.WaitFor(ctx, w.brokerURL+"/readyz"); err != nil {
		return w, fmt.Errorf("broker: %w", err)
	}
	body, err := w.fetch(ctx)
	if err != nil {
		return w, err
	}
	doc := filepath.Join(w.dir, "token.json")
	if err := os.WriteFile(doc, body, 0o600); err != nil {
		return w, err
	}
	self, err := os.Executable()
	if err != nil {
		return w, err
	}
	if err := w.procs.Start(self, nil, "-serve-ceiling", ceilingAddr, "-ceiling-body", doc); err != nil {
		return w, err
	}
	if err := benchkit.WaitFor(ctx, w.ceilingURL+"/"); err != nil {
		return w, fmt.Errorf("ceiling: %w", err)
	}
	w.machine = machine(ctx, dbURL)
	return w, nil
}

// seed makes a tenant, the API keys and one connection per mailbox, each
// with a refresh token from a real sign-in at the simulated Microsoft.
func (w *world) seed(ctx context.Context, c config, dbURL string) error {
	ring, err := secrets.ParseRing(ringText)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	if c.background > 0 {
		// The rows a large deployment holds beside the fetched ones: the
		// broker starts on them and its change feed and keep-alive scan
		// them while the load is on. Seeded an hour ahead so none falls
		// due within the run: their refresh tokens are placeholders
		// Microsoft refuses, and a storm of refusals is not what a
		// million healthy rows cost (bench-keepalive measures refreshes).
		o := devseed.Options{Connections: c.background, Now: time.Now().Add(time.Hour), Progress: os.Stderr}
		if _, err := devseed.Seed(ctx, st, o); err != nil {
			return fmt.Errorf("seed %d background connections: %w", c.background, err)
		}
		if _, err := st.Pool().Exec(ctx, "ANALYZE"); err != nil {
			return err
		}
	}
	tenant, err := st.CreateTenant(ctx, "bench", "Bench")
	if err != nil {
		return err
	}
	project, err := st.CreateProject(ctx, tenant.ID, "Sales")
	if err != nil {
		return err
	}
	for i := range c.keys {
		key, _, err := apikeys.Create(ctx, st, apikeys.NewKey{TenantID: tenant.ID, Name: fmt.Sprintf("bench-%d", i)})
		if err != nil {
			return err
		}
		w.keys = append(w.keys, key)
	}
	p := &oauth.Microsoft{LoginBase: w.simURL, GraphBase: w.simURL, ClientID: mssim.DemoWebClientID,
		ClientSecret: mssim.DemoWebClientSecret, RedirectURL: mssim.DemoRedirectURI, HTTPClient: oauth.NewHTTPClient()}
	for _, upn := range mailboxes[:c.mailboxes] {
		tok, err := benchkit.SignIn(ctx, p, upn)
		if err != nil {
			return err
		}
		conn, err := st.CreateConnection(ctx, store.NewConnection{TenantID: tenant.ID, ProjectID: project.ID, Name: upn,
			Status: "active", AccountType: "common", AuthType: "authorization_code", RequestedScopes: mssim.OutlookScopes})
		if err != nil {
			return err
		}
		_, err = st.UpdateConnection(ctx, tenant.ID, conn.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
			return store.ConnectionUpdate{RefreshToken: &tok.RefreshToken, AccessToken: &tok.AccessToken,
				AccessTokenExpiresAt: &tok.ExpiresAt, GrantedScopes: oauth.GrantedScopes(mssim.OutlookScopes, tok.Scopes, true),
				Account: &store.Account{Username: upn}}, nil
		})
		if err != nil {
			return err
		}
		w.conns = append(w.conns, conn.ID)
	}
	return nil
}

// fetch gets one token answer from the broker: the body the ceiling serves.
func (w *world) fetch(ctx context.Context) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.tokenPath(0, w.brokerURL), nil)
	req.Header.Set("Authorization", "Bearer "+w.keys[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("first token fetch: HTTP %d %v", resp.StatusCode, err)
	}
	return body, nil
}

func (w *world) tokenPath(i int, base string) string {
	return base + "/api/v1/connections/" + w.conns[i%len(w.conns)] + "/token"
}

func machine(ctx context.Context, dbURL string) string {
	pg := "unknown"
	if conn, err := benchkit.Connect(ctx, dbURL); err == nil {
		conn.QueryRow(ctx, "SHOW server_version").Scan(&pg)
		conn.Close(ctx)
	}
	return fmt.Sprintf("Machine: %s, %d logical CPUs, Linux %s, %s, PostgreSQL %s on localhost TCP; %s. Every process shares the machine.\n",
		benchkit.CPU(), runtime.NumCPU(), benchkit.Kernel(), runtime.Version(), pg, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}
