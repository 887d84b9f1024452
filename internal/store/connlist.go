package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConnectionQuery is one page request of the admin connections list.
type ConnectionQuery struct {
	TenantID   string   // the viewer's tenant; empty with AllTenants for operators
	AllTenants bool     // operators: every tenant (optionally narrowed by OnlyTenant)
	OnlyTenant string   // operators' tenant filter
	ProjectIDs []string // members: the projects they may see; nil for everything in scope

	Status      string // a status, or "broken" for the three that need someone
	ProjectID   string
	AccountType string
	AuthType    string
	Search      string // name, account or end user, case-insensitive substring
	EndUserID   string // exactly
	Sort        string // newest (default) | oldest | name | name_desc
	Cursor      string // from the previous page's Next
	Limit       int

	// searchIndex: a tenant's search reads the trigram index through the
	// connection_search view (a selective pattern) instead of filtering the
	// tenant's rows in the list's order (a common one); see searchPlan.
	searchIndex bool
}

// BrokenStatuses need a person to act before the connection works again.
var BrokenStatuses = []string{"needs_reauth", "consent_required", "config_error"}

// ConnectionRow is a list row: a connection and its tenant.
type ConnectionRow struct {
	Connection
	TenantSlug string
}

// ConnectionPage is one page and the cursor of the next ("" on the last).
type ConnectionPage struct {
	Rows []ConnectionRow
	Next string
}

type listCursor struct {
	V  string `json:"v"`
	ID string `json:"id"`
}

var sorts = map[string]struct{ order, key, cmp string }{
	"newest":    {"c.created_at DESC, c.id DESC", "c.created_at", "<"},
	"oldest":    {"c.created_at ASC, c.id ASC", "c.created_at", ">"},
	"name":      {"lower(c.name) ASC, c.id ASC", "lower(c.name)", ">"},
	"name_desc": {"lower(c.name) DESC, c.id DESC", "lower(c.name)", "<"},
}

// where builds the shared WHERE clause; filterStatus=false leaves the status
// out, for the per-status counts above the list.
func (q ConnectionQuery) where(filterStatus bool) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if !q.AllTenants {
		add("c.tenant_id = ?", q.TenantID) // RLS enforces it too; this lets the planner use the index
	} else if q.OnlyTenant != "" {
		add("c.tenant_id = ?", q.OnlyTenant)
	}
	if q.ProjectIDs != nil {
		add("c.project_id = ANY(?::uuid[])", q.ProjectIDs)
	}
	if filterStatus && q.Status == "broken" {
		add("c.status = ANY(?)", BrokenStatuses)
	} else if filterStatus && q.Status != "" {
		add("c.status = ?", q.Status)
	}
	if q.ProjectID != "" {
		add("c.project_id = ?", q.ProjectID)
	}
	if q.AccountType != "" {
		add("c.account_type = ?", q.AccountType)
	}
	if q.AuthType != "" {
		add("c.auth_type = ?", q.AuthType)
	}
	if q.EndUserID != "" {
		add("c.end_user_id = ?", q.EndUserID)
	}
	if q.searchIndex && !q.AllTenants {
		// The view reads the pattern from broker.search (searchPlan set it).
		conds = append(conds, "c.id IN (SELECT s.id FROM connection_search s)")
	} else if pattern := q.searchPattern(); pattern != "" {
		// For an operator (broker_system's policy admits every row) this is
		// an index condition on connections_search as it stands; under a
		// tenant's policy it is a filter on the tenant's rows.
		add(searchDoc("c")+" LIKE ?", pattern)
	}
	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

// searchDoc is the text a search looks in, the expression migration 00016
// indexes with trigrams: the name, account and end user, lowercased and
// joined by U+001F (a search may not contain it, so no match spans fields).
func searchDoc(alias string) string {
	f := func(col string) string { return alias + "." + col }
	return "lower(" + strings.Join([]string{f("name"), f("account_username"), f("end_user_id"), f("end_user_email"),
		f("end_user_display_name")}, ` || E'\x1f' || `) + ")"
}

// searchPattern is the LIKE pattern of the search ("" for none).
func (q ConnectionQuery) searchPattern() string {
	s := strings.TrimSpace(q.Search)
	if s == "" {
		return ""
	}
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
}

// searchIndexMax: a tenant's search whose pattern Postgres expects in fewer
// rows than this reads the trigram index; a commoner one walks the tenant's
// rows in the list's order, where matches are dense enough to fill a page soon.
const searchIndexMax = 2000

// searchPlan, in a tenant's transaction, hands the pattern to the
// connection_search view (broker.search) and asks the planner how many rows
// it expects there, to choose between the index and the list's order. Under
// the tenant's policy the planner cannot weigh the two itself: the LIKE may
// not be an index condition on connections (migration 00016).
func searchPlan(ctx context.Context, tx pgx.Tx, q *ConnectionQuery, page bool) error {
	pattern := q.searchPattern()
	if pattern == "" {
		return nil
	}
	// A plan for this pattern, never the generic one Postgres caches for a
	// prepared statement after five runs (a rare pattern's plan, reused
	// for a common one, took 5 s at 100,000 rows), and the settings below
	// must reach the planner.
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('broker.search', $1, true)", pattern); err != nil {
		return err
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	// An operator's estimate comes from connection_search_all (every
	// tenant); the LIKE then stays on connections, an index condition there.
	view := "connection_search"
	if q.AllTenants {
		view = "connection_search_all"
	}
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) SELECT id FROM "+view).Scan(&plan); err != nil {
		return err
	}
	q.searchIndex = len(plan) == 1 && plan[0].Plan.Rows < searchIndexMax
	if !q.searchIndex {
		// Under RLS (even broker_system's USING true) the planner may not
		// use the column statistics to weigh a LIKE (not leakproof), so it
		// takes a common pattern for a rare one and sorts the whole tenant
		// (or table); the estimate above says it is common, so walk the
		// list's index instead (this transaction only).
		// The walk's cost is then overstated, which would buy a JIT
		// compilation (~200 ms) for a query that takes milliseconds.
		sets := []string{"SET LOCAL jit = off"}
		if page {
			// And no parallel workers: starting them costs more than the
			// few pages the walk reads before the page is full.
			sets = append(sets, "SET LOCAL enable_sort = off", "SET LOCAL max_parallel_workers_per_gather = 0")
		}
		for _, set := range sets {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
	}
	return nil
}

// validSearch refuses what a search box never sends: the fields' separator.
func validSearch(s string) bool { return !strings.ContainsRune(s, searchSep) }

const searchSep = '\x1f'

// PageQuery returns the SQL and arguments of the first or next page, exposed
// so a test can EXPLAIN exactly what the list runs.
func (q ConnectionQuery) PageQuery() (string, []any, error) {
	sort, ok := sorts[q.Sort]
	if !ok {
		sort = sorts["newest"]
	}
	if !validText(q.Search, q.Status, q.ProjectID, q.AccountType, q.AuthType, q.Sort, q.EndUserID) || !validSearch(q.Search) {
		return "", nil, fmt.Errorf("store: list connections: %w", ErrInvalid)
	}
	where, args := q.where(true)
	if q.Cursor != "" {
		cur, ok := decodeListCursor(q.Cursor, sort.key)
		if !ok {
			return "", nil, fmt.Errorf("store: list connections: bad cursor: %w", ErrNotFound)
		}
		cast := "::text"
		if sort.key == "c.created_at" {
			cast = "::timestamptz"
		}
		args = append(args, cur.V, cur.ID)
		where += fmt.Sprintf(" AND (%s, c.id) %s ($%d%s, $%d::uuid)", sort.key, sort.cmp, len(args)-1, cast, len(args))
	}
	limit := q.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	args = append(args, limit+1)
	sql := `SELECT ` + connectionColumns + `, t.slug` + connectionFrom + ` JOIN tenants t ON t.id = c.tenant_id
		WHERE ` + where + ` ORDER BY ` + sort.order + fmt.Sprintf(" LIMIT $%d", len(args))
	return sql, args, nil
}

// QueryConnections returns one page of the list.
func (s *Store) QueryConnections(ctx context.Context, q ConnectionQuery) (ConnectionPage, error) {
	var page ConnectionPage
	if _, _, err := q.PageQuery(); err != nil {
		return page, err
	}
	err := s.inScope(ctx, Scope{TenantID: q.TenantID, AllTenants: q.AllTenants}, func(tx pgx.Tx) error {
		if err := searchPlan(ctx, tx, &q, true); err != nil {
			return err
		}
		sql, args, err := q.PageQuery()
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		page.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConnectionRow, error) {
			var cr ConnectionRow
			c := &cr.Connection
			err := r.Scan(connectionFields(c, &cr.TenantSlug)...)
			return cr, err
		})
		return err
	})
	if err != nil {
		return page, mapErr("list connections", err)
	}
	limit := q.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		v := last.CreatedAt.UTC().Format(time.RFC3339Nano)
		if strings.HasPrefix(q.Sort, "name") {
			v = strings.ToLower(last.Name)
		}
		raw, _ := json.Marshal(listCursor{V: v, ID: last.ID})
		page.Next = base64.RawURLEncoding.EncodeToString(raw)
	}
	return page, nil
}

// CountConnectionsByStatus counts the list's connections per status, with
// every filter but the status applied. Without a search or an end user, it
// sums connection_counts (kept by triggers, migration 00016): a few rows per
// project instead of a count over the tenant's connections.
func (s *Store) CountConnectionsByStatus(ctx context.Context, q ConnectionQuery) (map[string]int, error) {
	if !validText(q.Search, q.ProjectID, q.AccountType, q.AuthType, q.EndUserID) || !validSearch(q.Search) {
		return nil, fmt.Errorf("store: count connections: %w", ErrInvalid)
	}
	counts := map[string]int{}
	err := s.inScope(ctx, Scope{TenantID: q.TenantID, AllTenants: q.AllTenants}, func(tx pgx.Tx) error {
		if err := searchPlan(ctx, tx, &q, false); err != nil {
			return err
		}
		sql, args := q.countQuery()
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			if n > 0 {
				counts[st] = n
			}
		}
		return rows.Err()
	})
	return counts, mapErr("count connections", err)
}

// countQuery is CountConnectionsByStatus's statement, exposed to EXPLAIN
// tests through CountQuery.
func (q ConnectionQuery) countQuery() (string, []any) {
	if strings.TrimSpace(q.Search) == "" && q.EndUserID == "" {
		// Every other filter is a column of connection_counts' key.
		where, args := q.where(false)
		return `SELECT c.status, sum(c.n)::bigint FROM connection_counts c WHERE ` + where + ` GROUP BY c.status`, args
	}
	where, args := q.where(false)
	return `SELECT c.status, count(*) FROM connections c WHERE ` + where + ` GROUP BY c.status`, args
}
