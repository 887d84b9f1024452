package tokenstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/brokerhq/broker/internal/oauth/mssim"
)

// ReuseGuard stands in front of the simulation and is stricter than
// Microsoft on purpose: it revokes a whole refresh token chain the moment
// any refresh token of it is presented a second time, as identity platforms
// with refresh token rotation and reuse detection do (OAuth 2.0 Security
// BCP, RFC 9700 §4.14.2). Microsoft itself keeps an old refresh token valid
// after issuing a new one
// (https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens),
// so the simulation does too; the guard exists to prove that the broker
// never presents one refresh token twice, even across replicas, crashes
// and frozen holders. Reuses counts the presentations it caught.
type ReuseGuard struct {
	next    http.Handler
	mu      sync.Mutex
	chainOf map[string]string // refresh token → the first token of its chain
	used    map[string]bool   // redeemed: Microsoft answered with new tokens
	sent    map[string]bool   // presented, no answer yet
	revoked map[string]bool   // chain → revoked
	Reuses  atomic.Int64
}

// StartStrictMicrosoft is StartMicrosoft behind a ReuseGuard.
func StartStrictMicrosoft() (*Microsoft, *ReuseGuard) {
	sim := mssim.New(mssim.Options{})
	demo := mssim.SeedDemo(sim, mssim.DemoConfig{})
	g := &ReuseGuard{next: sim.Handler(), chainOf: map[string]string{}, used: map[string]bool{}, sent: map[string]bool{}, revoked: map[string]bool{}}
	return &Microsoft{Sim: sim, Demo: demo, Server: httptest.NewServer(g)}, g
}

func (g *ReuseGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		g.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	rt := form.Get("refresh_token")
	if form.Get("grant_type") != "refresh_token" || rt == "" {
		g.next.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	chain, ok := g.chainOf[rt]
	if !ok {
		chain = rt // issued by a sign-in: the head of its chain
		g.chainOf[rt] = rt
	}
	// A token whose earlier presentation failed (a 503, a fault) was not
	// redeemed and may be presented again; one redeemed or in flight may not.
	twice := g.used[rt] || g.sent[rt]
	if twice {
		g.Reuses.Add(1)
		g.revoked[chain] = true
	}
	reused := twice || g.revoked[chain]
	g.sent[rt] = !reused
	g.mu.Unlock()
	if reused {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant", "error_codes": []int{70000},
			"error_description": "AADSTS70000: Provided grant is invalid or malformed. The refresh token was used before; its chain is revoked."})
		return
	}
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	g.mu.Lock()
	delete(g.sent, rt)
	if rec.Code == http.StatusOK {
		g.used[rt] = true
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.RefreshToken != "" {
			g.chainOf[tok.RefreshToken] = chain
		}
	}
	g.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}
