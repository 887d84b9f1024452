package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/bench/benchkit"
	"github.com/brokerhq/broker/internal/devseed"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

const ringText = "bench:YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXkhISE="

func run(ctx context.Context, c config) error {
	adminURL := os.Getenv("BROKER_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = testdb.DefaultURL
	}
	dbURL, drop, err := benchkit.Create(ctx, adminURL, c.dbPrefix)
	if err != nil {
		return err
	}
	defer drop()
	ring, _ := secrets.ParseRing(ringText)
	st, err := store.Open(ctx, dbURL, ring, store.Options{MaxConns: 16})
	if err != nil {
		return err
	}
	defer st.Close()
	sim := tokenstest.StartMicrosoft()
	defer sim.Server.Close()
	tok, err := sim.SignIn(ctx, "common", sim.Demo.Adele.UPN)
	if err != nil {
		return err
	}
	out := os.Stdout
	fmt.Fprintf(out, "# Scale benchmark: %d connections\n\n%s, load average %s at the start.\n\n", c.connections,
		machineLine(), benchkit.LoadAverage())
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
	if _, err := owner.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	var tableBytes, dbBytes int64
	owner.QueryRow(ctx, `SELECT pg_total_relation_size('connections'), pg_database_size(current_database())`).Scan(&tableBytes, &dbBytes)
	fmt.Fprintf(out, "Seeded with `broker dev seed`'s generator in %s (%.0f rows/s, load average %s). Postgres: connections "+
		"table with its indexes %s (%s per million), database %s.\n\n", res.Elapsed.Round(time.Second),
		float64(res.Rows)/res.Elapsed.Seconds(), benchkit.LoadAverage(), mib(tableBytes),
		mib(tableBytes*1_000_000/int64(c.connections)), mib(dbBytes))
	big := res.Tenants[0].ID
	var bigRows int
	owner.QueryRow(ctx, `SELECT count(*) FROM connections WHERE tenant_id = $1`, big).Scan(&bigRows)

	fmt.Fprintf(out, "## Admin list, counts, search (median of 7, after one untimed run)\n\n| query | median | load average |\n|---|---:|---|\n")
	for _, q := range []struct {
		name string
		fn   func() error
	}{
		{fmt.Sprintf("first page, largest tenant (%d rows)", bigRows), func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{TenantID: big})
			return err
		}},
		{"first page, operator (every tenant)", func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{AllTenants: true})
			return err
		}},
		{"status counts, largest tenant", func() error {
			_, err := st.CountConnectionsByStatus(ctx, store.ConnectionQuery{TenantID: big})
			return err
		}},
		{"status counts, operator (every tenant)", func() error {
			_, err := st.CountConnectionsByStatus(ctx, store.ConnectionQuery{AllTenants: true})
			return err
		}},
		{"search \"user00012\", largest tenant", func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{TenantID: big, Search: "user00012"})
			return err
		}},
		{"search \"user00012\", operator (every tenant)", func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{AllTenants: true, Search: "user00012"})
			return err
		}},
		{"status counts of search \"user00012\", largest tenant", func() error {
			_, err := st.CountConnectionsByStatus(ctx, store.ConnectionQuery{TenantID: big, Search: "user00012"})
			return err
		}},
		{"search \"mailbox\" (in every row), largest tenant", func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{TenantID: big, Search: "mailbox"})
			return err
		}},
		{"search \"mailbox\" (in every row), operator", func() error {
			_, err := st.QueryConnections(ctx, store.ConnectionQuery{AllTenants: true, Search: "mailbox"})
			return err
		}},
	} {
		d, err := timeIt(7, q.fn)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		fmt.Fprintf(out, "| %s | %s | %s |\n", q.name, ms(d), benchkit.LoadAverage())
	}
	if err := background(ctx, c, st, owner, out); err != nil {
		return err
	}
	if err := cacheSize(ctx, c, st, sim, owner, out); err != nil {
		return err
	}
	if err := startUp(ctx, dbURL, sim.Server.URL, out); err != nil {
		return err
	}
	return keepAlive(ctx, c, dbURL, ring, st, sim, out)
}

// background times the statements the replicas' loops run: the change
// poll (versions of 5,000 cached connections, once a second) and the usage
// flush (last use of 1,000 connections).
func background(ctx context.Context, c config, st *store.Store, owner *pgx.Conn, out io.Writer) error {
	ids, err := someIDs(ctx, owner, 5000, "status = 'active'")
	if err != nil {
		return err
	}
	poll, err := timeIt(7, func() error {
		_, err := st.ConnectionStamps(ctx, ids)
		return err
	})
	if err != nil {
		return err
	}
	// The change feed: what one poll a second reads. At a million
	// connections in use with hourly tokens, keep-alive changes ~280 rows a
	// second; the feed reads those (and tombstones), whatever is cached.
	quiet, err := timeIt(7, func() error {
		mark, err := st.ChangeMark(ctx)
		if err != nil {
			return err
		}
		_, err = st.ConnectionChangesSince(ctx, mark)
		return err
	})
	if err != nil {
		return err
	}
	mark, err := st.ChangeMark(ctx)
	if err != nil {
		return err
	}
	if _, err := owner.Exec(ctx, `UPDATE connections SET version = version + 1 WHERE id = ANY($1::uuid[])`, ids[1000:1280]); err != nil {
		return err
	}
	var read int
	feed, err := timeIt(7, func() error {
		ch, err := st.ConnectionChangesSince(ctx, mark)
		read = len(ch.Changed)
		return err
	})
	if err != nil {
		return err
	}
	// Each flush carries newer times than the last, so every row is written.
	flush, err := timeIt(7, func() error {
		now, used := time.Now(), map[string]time.Time{}
		for _, id := range ids[:1000] {
			used[id] = now
		}
		return st.TouchConnections(ctx, used)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| before: versions of 5,000 cached connections (the old poll: one of %d queries a second at %d cached) | %s | %s |\n",
		(c.connections+4999)/5000, c.connections, ms(poll), benchkit.LoadAverage())
	fmt.Fprintf(out, "| change feed: one poll, nothing changed | %s | %s |\n", ms(quiet), benchkit.LoadAverage())
	fmt.Fprintf(out, "| change feed: one poll after 280 changes (a second of keep-alive at 1M in use), %d rows read | %s | %s |\n",
		read, ms(feed), benchkit.LoadAverage())
	fmt.Fprintf(out, "| usage flush: last use of 1,000 connections, one statement | %s | %s |\n\n", ms(flush), benchkit.LoadAverage())
	return nil
}

// cacheSize loads connections into one replica's memory and measures the
// heap each costs.
func cacheSize(ctx context.Context, c config, st *store.Store, ms *tokenstest.Microsoft, owner *pgx.Conn, out io.Writer) error {
	rows, err := owner.Query(ctx, `SELECT tenant_id::text, id::text FROM connections WHERE status = 'active'
		AND access_token_expires_at > now() + interval '10 minutes' LIMIT $1`, c.cached)
	if err != nil {
		return err
	}
	type pair struct{ tenant, id string }
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.tenant, &p.id)
	})
	if err != nil {
		return err
	}
	svc := tokens.New(st, ms.Provider(), tokens.Options{Logger: slog.New(slog.DiscardHandler), CacheMax: len(pairs) + 1})
	defer svc.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tokenBytes := 0
	for _, p := range pairs {
		t, err := svc.Token(ctx, p.tenant, p.id, tokens.Request{MinTTL: time.Minute})
		if err != nil {
			return err
		}
		tokenBytes += len(t.AccessToken)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(pairs))
	tokenPer := float64(tokenBytes) / float64(len(pairs))
	fmt.Fprintf(out, "## Memory per cached connection\n\n%d connections loaded into one replica's cache: %.0f bytes of heap each, "+
		"of which %.0f are the access token itself (seeded tokens are short; a Microsoft access token is 1.5-2.5 KB and "+
		"adds its length). Without the token: %.0f bytes. Bound: BROKER_TOKEN_CACHE_MAX (default %d). %s\n\n",
		len(pairs), per, tokenPer, per-tokenPer, tokens.DefaultCacheMax, benchkit.LoadAverage())
	runtime.KeepAlive(svc)
	return nil
}

func someIDs(ctx context.Context, c *pgx.Conn, n int, where string) ([]string, error) {
	rows, err := c.Query(ctx, `SELECT id::text FROM connections WHERE `+where+` ORDER BY random() LIMIT $1`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func timeIt(n int, fn func() error) (time.Duration, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2], nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func machineLine() string {
	return fmt.Sprintf("Machine: %s, %d logical CPUs, Linux %s, %s; %s", benchkit.CPU(), runtime.NumCPU(),
		benchkit.Kernel(), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}
