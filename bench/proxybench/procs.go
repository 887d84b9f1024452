package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
)

const ringText = "bench:YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXkhISE="

// world is what a run starts: two processes, a database and the mailboxes.
type world struct {
	simURL, brokerURL string
	keys              []string // API keys used in turn: the per-key rate limit is not what is measured
	conns             []string // connection IDs, one mailbox each
	logs              string   // the processes' stderr
	procs             benchkit.Procs
	cleanup           []func()
}

func (w *world) close() {
	w.procs.Stop()
	for i := len(w.cleanup) - 1; i >= 0; i-- {
		w.cleanup[i]()
	}
}

// mailboxes are the demo users whose mailboxes the load uses.
// maxCallers is the most concurrent callers a phase runs (4 per mailbox).
const maxCallers = 12

var mailboxes = []string{"adele@" + mssim.DemoContosoDomain, "alex@" + mssim.DemoContosoDomain, "admin@" + mssim.DemoContosoDomain}

func setUp(ctx context.Context) (w *world, err error) {
	w = &world{}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	dir, err := os.MkdirTemp("", "proxybench")
	if err != nil {
		return nil, err
	}
	w.cleanup = append(w.cleanup, func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "broker")
	w.logs = filepath.Join(dir, "processes.log")
	w.procs.Log = w.logs
	defer func() {
		if err != nil { // what the processes said helps more than a timeout
			b, _ := os.ReadFile(w.logs)
			os.Stderr.Write(b)
		}
	}()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/broker")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build the broker: %w", err)
	}
	simAddr, brokerAddr := benchkit.FreeAddr(), benchkit.FreeAddr()
	w.simURL, w.brokerURL = "http://"+simAddr, "http://"+brokerAddr
	if err := w.procs.Start(bin, nil, "simulate-microsoft", "--addr", simAddr, "--msa-addr", "", "--idp-addr", ""); err != nil {
		return nil, err
	}
	if err := benchkit.WaitFor(ctx, w.simURL+"/common/v2.0/.well-known/openid-configuration"); err != nil {
		return nil, fmt.Errorf("simulated Microsoft: %w", err)
	}
	dbURL, drop, err := database(ctx)
	if err != nil {
		return nil, err
	}
	w.cleanup = append(w.cleanup, drop)
	if err := w.seed(ctx, dbURL); err != nil {
		return nil, err
	}
	env := []string{"BROKER_DATABASE_URL=" + dbURL, "BROKER_ENCRYPTION_KEYS=" + ringText, "BROKER_SESSION_KEYS=" + ringText,
		"BROKER_MICROSOFT_CLIENT_ID=" + mssim.DemoWebClientID, "BROKER_MICROSOFT_CLIENT_SECRET=" + mssim.DemoWebClientSecret,
		"BROKER_MICROSOFT_LOGIN_URL=" + w.simURL, "BROKER_MICROSOFT_GRAPH_URL=" + w.simURL,
		"BROKER_LISTEN_ADDR=" + brokerAddr, "BROKER_PUBLIC_URL=" + w.brokerURL}
	if err := w.procs.Start(bin, env, "serve"); err != nil {
		return nil, err
	}
	if err := benchkit.WaitFor(ctx, w.brokerURL+"/readyz"); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return w, nil
}

// seed makes a tenant, an API key and one connection per mailbox, each
// with a refresh token from a real sign-in at the simulated Microsoft.
func (w *world) seed(ctx context.Context, dbURL string) error {
	ring, err := secrets.ParseRing(ringText)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	tenant, err := st.CreateTenant(ctx, "bench", "Bench")
	if err != nil {
		return err
	}
	project, err := st.CreateProject(ctx, tenant.ID, "Sales")
	if err != nil {
		return err
	}
	for i := range maxCallers {
		key, _, err := apikeys.Create(ctx, st, apikeys.NewKey{TenantID: tenant.ID, Name: fmt.Sprintf("bench-%d", i)})
		if err != nil {
			return err
		}
		w.keys = append(w.keys, key)
	}
	p := &oauth.Microsoft{LoginBase: w.simURL, GraphBase: w.simURL, ClientID: mssim.DemoWebClientID,
		ClientSecret: mssim.DemoWebClientSecret, RedirectURL: mssim.DemoRedirectURI, HTTPClient: oauth.NewHTTPClient()}
	for _, upn := range mailboxes {
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

// database creates a fresh, migrated database and returns a drop function.
func database(ctx context.Context) (string, func(), error) {
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	return benchkit.Create(ctx, adminURL, "broker_proxybench")
}

// token fetches a connection's access token from the broker, for the
// direct calls.
func (w *world) token(ctx context.Context, conn string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", w.brokerURL+"/api/v1/connections/"+conn+"/token?min_ttl=1800", nil)
	req.Header.Set("Authorization", "Bearer "+w.keys[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token for %s: HTTP %d", conn, resp.StatusCode)
	}
	return body.AccessToken, nil
}

func machine() string {
	return fmt.Sprintf("Machine: %s, %d logical CPUs, Linux %s, %s; the three processes share the machine.\n",
		benchkit.CPU(), runtime.NumCPU(), benchkit.Kernel(), runtime.Version())
}
