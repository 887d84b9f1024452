// Package devseed fills a database with many connections fast, spread as a
// busy broker's are, for `broker dev seed` and the scale benchmark. Rows go
// in with COPY, in batches; their secrets are sealed with the store's key
// ring, so they decrypt as any connection's do.
package devseed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/store"
)

// NotFetchable is the refresh token rows get unless the caller gives a real
// one: Microsoft refuses it (invalid_grant), so a refresh of such a row
// turns it needs_reauth; its access token is served until it expires.
const NotFetchable = "seeded-not-a-refresh-token"

// Options say how much to seed.
type Options struct {
	Connections       int
	Tenants           int // default 200; sizes follow 1/rank, as customers' do
	ProjectsPerTenant int // default 5
	Now               time.Time
	// RefreshToken is what every authorization-code row holds (default
	// NotFetchable). Microsoft keeps a refresh token valid after using it,
	// so one real token may serve many rows in a benchmark.
	RefreshToken string
	Scopes       []string // requested and granted (default Mail.Read and Mail.Send)
	Batch        int      // rows per COPY (default 10,000)
	// Workers write batches at once, each its own transaction (default 2):
	// a row's cost is in Postgres (two foreign-key checks and a dozen index
	// entries), so more than one backend shares it.
	Workers  int
	Progress io.Writer // a line per 100,000 rows; nil: quiet
}

// Result is what was seeded.
type Result struct {
	Tenants  []store.Tenant
	Projects map[string][]store.Project // tenant ID → its projects
	Rows     int
	Elapsed  time.Duration
}

// Seed writes o.Connections connections over new tenants and projects.
func Seed(ctx context.Context, st *store.Store, o Options) (Result, error) {
	o.Tenants = orInt(o.Tenants, 200)
	o.ProjectsPerTenant = orInt(o.ProjectsPerTenant, 5)
	o.Batch = orInt(o.Batch, 10_000)
	o.Workers = orInt(o.Workers, 2)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Scopes == nil {
		o.Scopes = []string{"offline_access", "https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/Mail.Send"}
	}
	if o.RefreshToken == "" {
		o.RefreshToken = NotFetchable
	}
	start := time.Now()
	res := Result{Projects: map[string][]store.Project{}}
	var run [3]byte
	rand.Read(run[:])
	for i := range o.Tenants {
		t, err := st.CreateTenant(ctx, fmt.Sprintf("seed-%s-%d", hex.EncodeToString(run[:]), i), fmt.Sprintf("Seed tenant %d", i))
		if err != nil {
			return res, fmt.Errorf("devseed: %w", err)
		}
		res.Tenants = append(res.Tenants, t)
		for j := range o.ProjectsPerTenant {
			p, err := st.CreateProject(ctx, t.ID, fmt.Sprintf("Project %d", j))
			if err != nil {
				return res, fmt.Errorf("devseed: %w", err)
			}
			res.Projects[t.ID] = append(res.Projects[t.ID], p)
		}
	}
	// One generator (the spread stays as a single sequence makes it), many
	// writers.
	g := newGen(o, res)
	batches := make(chan []store.SeedConnection)
	done := make(chan int)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := st.SeedConnections(wctx, b); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done <- len(b)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	go func() {
		defer close(batches)
		for made := 0; made < o.Connections; {
			batch := make([]store.SeedConnection, 0, min(o.Batch, o.Connections-made))
			for len(batch) < cap(batch) {
				batch = append(batch, g.row(made+len(batch)))
			}
			made += len(batch)
			select {
			case batches <- batch:
			case <-wctx.Done():
				return
			}
		}
	}()
	for n := range done {
		before := res.Rows
		res.Rows += n
		if o.Progress != nil && res.Rows/100_000 != before/100_000 {
			fmt.Fprintf(o.Progress, "%d connections, %.0f/s\n", res.Rows, float64(res.Rows)/time.Since(start).Seconds())
		}
	}
	res.Elapsed = time.Since(start)
	if firstErr != nil {
		return res, fmt.Errorf("devseed: %w", firstErr)
	}
	return res, ctx.Err()
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// gen makes rows: tenants by a 1/rank weight (a few large customers, a
// long tail), statuses, auth types and times spread as in use.
type gen struct {
	o     Options
	res   Result
	rnd   *mrand.Rand
	cumul []float64 // cumulative tenant weights
}

func newGen(o Options, res Result) *gen {
	g := &gen{o: o, res: res, rnd: mrand.New(mrand.NewPCG(uint64(o.Now.UnixNano()), 17))}
	total := 0.0
	for i := range res.Tenants {
		total += 1 / float64(i+1)
		g.cumul = append(g.cumul, total)
	}
	for i := range g.cumul {
		g.cumul[i] /= total
	}
	return g
}

// statuses by share: most active, some broken, a few waiting.
var statuses = []struct {
	status, code string
	share        float64
}{{"active", "", 0.86}, {"needs_reauth", "AADSTS70008", 0.05}, {"consent_required", "AADSTS65001", 0.02},
	{"disabled", "", 0.02}, {"pending", "", 0.02}, {"config_error", "AADSTS7000215", 0.01},
	{"secret_expiring", "", 0.01}, {"awaiting_approval", "", 0.01}}

func (g *gen) row(n int) store.SeedConnection {
	now := g.o.Now
	u := g.rnd.Float64()
	ti := 0
	for ti < len(g.cumul)-1 && g.cumul[ti] < u {
		ti++
	}
	t := g.res.Tenants[ti]
	projects := g.res.Projects[t.ID]
	r := store.SeedConnection{ID: uuid.NewString(), TenantID: t.ID, ProjectID: projects[g.rnd.IntN(len(projects))].ID,
		Name: fmt.Sprintf("mailbox-%07d", n), AccountType: "common", AuthType: "authorization_code",
		AccountUsername: fmt.Sprintf("user%07d@%s.example", n, t.Slug),
		Scopes:          g.o.Scopes,
		CreatedAt:       now.Add(-time.Duration(g.rnd.Float64() * float64(400*24*time.Hour)))}
	p := g.rnd.Float64()
	for _, s := range statuses {
		if p < s.share {
			r.Status, r.StatusCode = s.status, s.code
			break
		}
		p -= s.share
	}
	if r.Status == "" {
		r.Status = "active"
	}
	if g.rnd.IntN(20) == 0 { // one in twenty: a daemon app's client credentials
		r.AuthType, r.AccountType = "client_credentials", "tenant"
		r.ClientSecret = "seeded-client-secret"
		exp := now.Add(24*time.Hour + time.Duration(g.rnd.Float64()*float64(730*24*time.Hour)))
		r.ClientSecretExpiresAt = &exp
	} else if r.Status != "pending" {
		r.RefreshToken = g.o.RefreshToken
	}
	if r.Status == "pending" {
		return r
	}
	// A fifth in use: fetched within the hour, tokens expiring over the
	// next hour. The rest idle: last used from an hour to 60 days ago (or
	// never), tokens expired an hour after that use.
	refreshed := now.Add(-time.Duration(g.rnd.Float64() * float64(14*24*time.Hour)))
	r.LastRefreshAt = &refreshed
	if g.rnd.IntN(5) == 0 {
		used := now.Add(-time.Duration(g.rnd.Float64() * float64(time.Hour)))
		exp := now.Add(time.Duration(g.rnd.Float64() * float64(time.Hour)))
		last := exp.Add(-time.Hour)
		r.LastUsedAt, r.AccessTokenExpiresAt, r.LastRefreshAt = &used, &exp, &last
	} else if g.rnd.IntN(4) != 0 {
		used := now.Add(-time.Hour - time.Duration(math.Abs(g.rnd.NormFloat64())*float64(20*24*time.Hour)))
		exp := used.Add(time.Hour)
		r.LastUsedAt, r.AccessTokenExpiresAt = &used, &exp
	}
	if r.AccessTokenExpiresAt != nil {
		r.AccessToken = "seeded-access-token-" + r.ID
	}
	return r
}
