package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Feed sources, in their tie-break order (higher first at the same instant).
const (
	SourceUsage  = 1 // token_usage: fetches per key, connection and hour
	SourceStatus = 2 // connection_events: status changes with Microsoft's codes
	SourceAudit  = 3 // audit_events: who did what
)

// Actions the feed makes up from sources other than audit_events.
const (
	ActionStatusChanged = "connection.status_changed"
	ActionTokenFetched  = "token.fetched"
)

// FeedQuery is one page of the audit feed: audit events, status changes and
// hourly token fetch summaries, newest first.
type FeedQuery struct {
	TenantID   string // the viewer's tenant; empty with AllTenants
	AllTenants bool   // operators: every tenant and platform events
	OnlyTenant string // operators' tenant filter

	Actor        string // actor ID, or part of the actor's label (email, key name), any case
	ConnectionID string
	Action       string
	Since, Until *time.Time // at >= Since, at < Until
	Cursor       string
	Limit        int // default 100, at most 1000
}

// FeedEntry is one line of the audit feed. Details never hold secrets.
type FeedEntry struct {
	Source       int
	Key          string // with At, unique within its source
	TenantID     string
	At           time.Time // for token fetches: the end of the hour, so an hour's fetches sort after what happened in it
	ActorType    string    // user | operator | api_key | system
	ActorID      string
	ActorLabel   string
	Action       string
	ConnectionID string
	Reason       string
	Details      map[string]any
	RequestID    string
}

// FeedPage is one page and the cursor of the next ("" on the last).
type FeedPage struct {
	Entries []FeedEntry
	Next    string
}

type feedCursor struct {
	At  time.Time `json:"at"`
	Src int       `json:"s"`
	Key string    `json:"k"`
}

func (q FeedQuery) limit() int {
	if q.Limit <= 0 {
		return 100
	}
	return min(q.Limit, 1000)
}

// AuditFeed returns one page of the feed. Each source is read in its own
// index order up to the page size and the three are merged, so a page costs
// three bounded index scans however long the history.
func (s *Store) AuditFeed(ctx context.Context, q FeedQuery) (FeedPage, error) {
	if !validText(q.Actor, q.Action, q.ConnectionID) {
		return FeedPage{}, fmt.Errorf("store: audit feed: %w", ErrInvalid)
	}
	var cur *feedCursor
	if q.Cursor != "" {
		var ok bool
		if cur, ok = decodeFeedCursor(q.Cursor); !ok {
			return FeedPage{}, fmt.Errorf("store: audit feed: bad cursor: %w", ErrNotFound)
		}
	}
	n := q.limit()
	var all []FeedEntry
	err := s.inScope(ctx, Scope{TenantID: q.TenantID, AllTenants: q.AllTenants}, func(tx pgx.Tx) error {
		for _, src := range []int{SourceAudit, SourceStatus, SourceUsage} {
			sql, args, ok := q.sourceSQL(src, cur, n+1)
			if !ok {
				continue
			}
			rows, err := tx.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedEntry, error) {
				e := FeedEntry{Source: src}
				return e, r.Scan(&e.Key, &e.At, &e.TenantID, &e.ActorType, &e.ActorID, &e.ActorLabel, &e.Action,
					&e.ConnectionID, &e.Reason, &e.Details, &e.RequestID)
			})
			if err != nil {
				return err
			}
			all = append(all, got...)
		}
		return nil
	})
	if err != nil {
		return FeedPage{}, mapErr("audit feed", err)
	}
	slices.SortFunc(all, func(a, b FeedEntry) int { return -compareEntries(a, b) })
	page := FeedPage{Entries: all}
	if len(all) > n {
		page.Entries = all[:n]
		last := all[n-1]
		raw, _ := json.Marshal(feedCursor{At: last.At, Src: last.Source, Key: last.Key})
		page.Next = base64.RawURLEncoding.EncodeToString(raw)
	}
	return page, nil
}

func compareEntries(a, b FeedEntry) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if a.Source != b.Source {
		return a.Source - b.Source
	}
	return strings.Compare(a.Key, b.Key)
}

// sourceSQL builds one source's query; false when the filters exclude the
// source altogether (an action it never has, an actor it cannot match).
func (q FeedQuery) sourceSQL(src int, cur *feedCursor, limit int) (string, []any, bool) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var sel, at, key, order, tenant, actorCond string
	actor := strings.TrimSpace(q.Actor)
	pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(actor)) + "%"
	switch src {
	case SourceAudit:
		if q.Action == ActionStatusChanged || q.Action == ActionTokenFetched {
			return "", nil, false
		}
		sel = `SELECT lpad(a.id::text, 20, '0'), a.at, coalesce(a.tenant_id::text, ''), a.actor_type, a.actor_id, a.actor_label,
			a.action, coalesce(a.connection_id::text, ''), a.reason, a.details, a.request_id FROM audit_events a`
		at, key, order, tenant = "a.at", "a.id", "a.at DESC, a.id DESC", "a.tenant_id"
		if q.Action != "" {
			conds = append(conds, "a.action = "+arg(q.Action))
		}
		if q.ConnectionID != "" {
			conds = append(conds, "a.connection_id = "+arg(q.ConnectionID)+"::uuid")
		}
		if actor != "" {
			actorCond = "(a.actor_id = " + arg(actor) + " OR lower(a.actor_label) LIKE " + arg(pattern) + ")"
		}
	case SourceStatus:
		if q.Action != "" && q.Action != ActionStatusChanged {
			return "", nil, false
		}
		if actor != "" && !strings.Contains("broker", strings.ToLower(actor)) {
			return "", nil, false
		}
		sel = `SELECT lpad(e.id::text, 20, '0'), e.at, e.tenant_id::text, 'system', '', 'Broker', '` + ActionStatusChanged + `',
			e.connection_id::text, e.reason, jsonb_build_object('status', e.status, 'error_code', e.error_code,
			'trace_id', e.trace_id, 'correlation_id', e.correlation_id), '' FROM connection_events e`
		at, key, order, tenant = "e.at", "e.id", "e.at DESC, e.id DESC", "e.tenant_id"
		if q.ConnectionID != "" {
			conds = append(conds, "e.connection_id = "+arg(q.ConnectionID)+"::uuid")
		}
	case SourceUsage:
		if q.Action != "" && q.Action != ActionTokenFetched {
			return "", nil, false
		}
		// The row sorts at the end of its hour (the current hour's at the
		// top): its fetches happened during the hour, not at its start.
		// Conditions stay on u.hour, with times shifted, to walk the index.
		sel = `SELECT u.api_key_id::text || '/' || u.connection_id::text, u.hour + interval '1 hour', u.tenant_id::text, 'api_key', u.api_key_id::text,
			coalesce(k.name, 'deleted key'), '` + ActionTokenFetched + `', u.connection_id::text, '',
			jsonb_build_object('cached', u.cached, 'refreshed', u.refreshed, 'first_at', u.first_at, 'last_at', u.last_at,
			'key_prefix', coalesce(k.prefix, '')), ''
			FROM token_usage u LEFT JOIN api_keys k ON k.id = u.api_key_id`
		at, key, order, tenant = "u.hour", "", "u.hour DESC, u.api_key_id DESC, u.connection_id DESC", "u.tenant_id"
		if q.ConnectionID != "" {
			conds = append(conds, "u.connection_id = "+arg(q.ConnectionID)+"::uuid")
		}
		if actor != "" {
			actorCond = "(u.api_key_id::text = " + arg(actor) + " OR lower(k.name) LIKE " + arg(pattern) + " OR k.prefix = " + arg(actor) + ")"
		}
	}
	switch {
	case !q.AllTenants:
		conds = append(conds, tenant+" = "+arg(q.TenantID)+"::uuid") // RLS enforces it too; this picks the index
	case q.OnlyTenant != "":
		conds = append(conds, tenant+" = "+arg(q.OnlyTenant)+"::uuid")
	}
	if actorCond != "" {
		conds = append(conds, actorCond)
	}
	shift := func(t time.Time) time.Time { // usage rows are at u.hour + 1 hour
		if src == SourceUsage {
			return t.Add(-time.Hour)
		}
		return t
	}
	if q.Since != nil {
		conds = append(conds, at+" >= "+arg(shift(*q.Since)))
	}
	if q.Until != nil {
		conds = append(conds, at+" < "+arg(shift(*q.Until)))
	}
	if cur != nil {
		c := arg(shift(cur.At))
		switch {
		case src < cur.Src:
			conds = append(conds, at+" <= "+c)
		case src > cur.Src:
			conds = append(conds, at+" < "+c)
		case src == SourceUsage:
			keyID, connID, _ := strings.Cut(cur.Key, "/")
			conds = append(conds, fmt.Sprintf("%[1]s <= %[2]s AND (%[1]s < %[2]s OR (u.api_key_id, u.connection_id) < (%[3]s::uuid, %[4]s::uuid))",
				at, c, arg(keyID), arg(connID)))
		default:
			id, _ := strconv.ParseInt(cur.Key, 10, 64)
			conds = append(conds, fmt.Sprintf("%[1]s <= %[2]s AND (%[1]s < %[2]s OR %[3]s < %[4]s)", at, c, key, arg(id)))
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	return sel + where + " ORDER BY " + order + " LIMIT " + arg(limit), args, true
}

// FeedSourceSQL returns one source's first-page query and arguments,
// exposed so a test can EXPLAIN what the feed runs.
func FeedSourceSQL(q FeedQuery, src, limit int) (string, []any, bool) {
	return q.sourceSQL(src, nil, limit)
}
