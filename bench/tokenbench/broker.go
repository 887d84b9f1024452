package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
	webpkg "github.com/brokerhq/broker/internal/web"
)

const ringText = "bench:YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXkhISE="

// instance is one broker replica as the server assembly wires it: its own
// pool, token service with its background loops, key verifier, usage
// recorder and the /api/v1 routes on a loopback listener.
type instance struct {
	url   string
	st    *store.Store
	svc   *tokens.Service
	keys  *apikeys.Verifier
	srv   *http.Server
	close func()
}

func startInstance(ctx context.Context, dbURL string, ms *tokenstest.Microsoft) (*instance, error) {
	st, err := store.Open(ctx, dbURL, mustRing(), store.Options{MaxConns: 16})
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(discard{}, nil))
	svc := tokens.New(st, ms.Provider(), tokens.Options{Logger: quiet})
	// The limiter stays on (its cost is part of the hot path), far above the load.
	keys := apikeys.NewVerifier(st, apikeys.Options{Logger: quiet, Rate: 1e6, Burst: 1e6})
	usage := tokens.NewUsage(st, nil, quiet, 0)
	h := api.New(st, svc, keys, usage, quiet, nil)
	r := chi.NewRouter()
	r.Route("/api/v1", h.Routes)
	// The server wraps the API in request IDs, metrics and (debug-level)
	// access logs; so does the benchmark, so their cost is measured too.
	web, err := webpkg.New(webpkg.Deps{Store: st, Logger: quiet, PublicURL: "http://localhost", SessionKeys: ringText})
	if err != nil {
		st.Close()
		return nil, err
	}
	handler := web.ObserveAPI(r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	bg, stop := context.WithCancel(ctx)
	go svc.Run(bg)
	go keys.Run(bg)
	go usage.Run(bg)
	go svc.KeepAlive(tokens.KeepAliveOptions{}).Run(bg)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	in := &instance{url: "http://" + ln.Addr().String(), st: st, svc: svc, keys: keys, srv: srv}
	in.close = func() {
		srv.Close()
		stop()
		svc.Close()
		time.Sleep(50 * time.Millisecond) // let the loops' last flush finish before the pool closes
		st.Close()
	}
	return in, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// tokenBody mirrors the token endpoint's answer, so the bare server encodes
// the same shape the broker does.
type tokenBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresAt   string `json:"expires_at"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Connection  struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Project     string `json:"project"`
		AccountType string `json:"account_type"`
		AuthType    string `json:"auth_type"`
		Status      string `json:"status"`
		Account     struct {
			TenantID string `json:"tenant_id"`
			User     string `json:"user"`
		} `json:"account"`
	} `json:"connection"`
}

// bareServer is the machine's ceiling: plain net/http answering the same
// body (a real token answer of the broker), JSON-encoded per request as the
// broker does, and nothing else: no routing, no key, no cache.
func bareServer(body tokenBody) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}
