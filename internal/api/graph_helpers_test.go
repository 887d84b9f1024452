package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// graphEnv is a broker replica with the Graph proxy, in front of the
// simulation's Graph behind a recorder that notes what Graph was sent and
// adds headers Graph might send that must not reach callers.
type graphEnv struct {
	*env
	srv   *httptest.Server
	h     *Handler
	audit *graphproxy.Audit
	key   string
	conn  store.Connection

	mu   sync.Mutex
	seen []http.Header // request headers Graph received, in order
}

func newGraphEnv(t *testing.T, o graphproxy.Options) *graphEnv {
	t.Helper()
	g := &graphEnv{env: newEnv(t)}
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen = append(g.seen, r.Header.Clone())
		g.mu.Unlock()
		w.Header().Set("Set-Cookie", "x-ms-gateway=1")
		w.Header().Set("X-Backend-Secret", "internal")
		if strings.HasSuffix(r.URL.Path, "/redirected") {
			w.Header().Set("Location", "https://elsewhere.example/download")
			w.WriteHeader(http.StatusFound)
			return
		}
		g.ms.Sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(graph.Close)

	st := openStore(t, g.url)
	quiet := slog.New(slog.DiscardHandler)
	svc := tokens.New(st, g.ms.Provider(), tokens.Options{Now: g.ms.Sim.Now, Logger: quiet})
	t.Cleanup(svc.Close)
	keys := apikeys.NewVerifier(st, apikeys.Options{Now: g.ms.Sim.Now, Logger: quiet})
	g.audit = graphproxy.NewAudit(st, quiet, 0)
	o.GraphBase, o.Refuse, o.Logger, o.Now = graph.URL, WriteGraphRefusal, quiet, g.ms.Sim.Now
	proxy, err := graphproxy.New(svc, graphproxy.NewPolicies(st, 0, g.ms.Sim.Now), g.audit, o)
	if err != nil {
		t.Fatal(err)
	}
	g.h = New(st, svc, keys, nil, quiet, g.ms.Sim.Now)
	g.h.Graph = proxy
	r := chi.NewRouter()
	r.Use(conformance(t)) // the broker's own answers are the ones the document lists
	r.Route("/api/v1", g.h.Routes)
	g.srv = httptest.NewServer(r)
	t.Cleanup(g.srv.Close)
	g.key, _ = g.env.key(t, g.tenant.ID)
	g.conn = g.env.conn(t, tokenstest.Conn{})
	return g
}

// do sends method path (from the version on) through the proxy.
func (g *graphEnv) do(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, g.srv.URL+"/api/v1/connections/"+g.conn.ID+"/graph"+path, rd)
	req.Header.Set("Authorization", "Bearer "+g.key)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := *g.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// lastSeen is the headers of the last request Graph received.
func (g *graphEnv) lastSeen() http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) == 0 {
		return nil
	}
	return g.seen[len(g.seen)-1]
}

func (g *graphEnv) graphCalls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
