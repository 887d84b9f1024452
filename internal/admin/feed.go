package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/store"
)

// FeedFilter is the audit page's query.
type FeedFilter struct {
	Tenant       string // operators: a tenant's slug
	Actor        string
	ConnectionID string
	Action       string
	From, To     string // YYYY-MM-DD, UTC; To is inclusive
	Cursor       string
	Limit        int
}

// Feed is one page of the audit feed.
type Feed struct {
	Filter   FeedFilter
	Entries  []store.FeedEntry
	Next     string
	Names    map[string]string // connection ID → name, for those still there
	Tenants  []store.Tenant    // operators: the tenant filter's choices
	Problems map[string]string // filter field → what is wrong with it
}

// MayReadAudit reports whether v may open the audit log: tenant admins (and
// admin keys for every project) and operators.
func MayReadAudit(v Viewer) bool {
	return v.Operator() || v.TenantAdmin() && v.AllProjects
}

// Feed returns a page of the audit feed v may read.
func (s *Service) Feed(ctx context.Context, v Viewer, f FeedFilter) (Feed, error) {
	out := Feed{Problems: map[string]string{}}
	if !MayReadAudit(v) {
		return out, forbidden("The audit log is for the tenant's administrators.")
	}
	q, err := s.feedQuery(ctx, v, &f, &out)
	if err != nil {
		return out, err
	}
	out.Filter = f
	page, err := s.Store.AuditFeed(ctx, q)
	if errors.Is(err, store.ErrNotFound) && f.Cursor != "" {
		return out, ErrBadCursor
	}
	if errors.Is(err, store.ErrInvalid) {
		return out, errBadText("actor")
	}
	if err != nil {
		return out, fmt.Errorf("admin: audit feed: %w", err)
	}
	out.Entries, out.Next = page.Entries, page.Next
	out.Names, err = s.names(ctx, q, page.Entries)
	return out, err
}

// FeedAll calls fn with every entry matching f, a page at a time, for the
// CSV export; it stops at the first error fn returns.
func (s *Service) FeedAll(ctx context.Context, v Viewer, f FeedFilter, fn func(store.FeedEntry, string) error) error {
	if !MayReadAudit(v) {
		return forbidden("The audit log is for the tenant's administrators.")
	}
	var out Feed
	out.Problems = map[string]string{}
	q, err := s.feedQuery(ctx, v, &f, &out)
	if err != nil {
		return err
	}
	q.Cursor, q.Limit = "", 1000
	for {
		page, err := s.Store.AuditFeed(ctx, q)
		if err != nil {
			return fmt.Errorf("admin: audit export: %w", err)
		}
		names, err := s.names(ctx, q, page.Entries)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if err := fn(e, names[e.ConnectionID]); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

func (s *Service) feedQuery(ctx context.Context, v Viewer, f *FeedFilter, out *Feed) (store.FeedQuery, error) {
	q := store.FeedQuery{TenantID: v.TenantID, Cursor: f.Cursor, Limit: f.Limit}
	if v.Operator() {
		tenants, err := s.Store.ListTenants(ctx)
		if err != nil {
			return q, fmt.Errorf("admin: audit feed: %w", err)
		}
		out.Tenants = tenants
		q.TenantID, q.AllTenants = "", true
		if i := slices.IndexFunc(tenants, func(t store.Tenant) bool { return t.Slug == f.Tenant }); i >= 0 {
			q.OnlyTenant = tenants[i].ID
		} else {
			f.Tenant = ""
		}
	} else {
		f.Tenant = ""
	}
	var ok bool
	if f.Actor, ok = cleanText(f.Actor, 200); !ok {
		return q, errBadText("actor")
	}
	q.Actor = f.Actor
	f.ConnectionID = strings.ToLower(strings.TrimSpace(f.ConnectionID))
	if f.ConnectionID != "" && uuid.Validate(f.ConnectionID) != nil {
		out.Problems["connection"] = "Enter a connection ID (a UUID), as on the connection's page."
		f.ConnectionID = ""
	}
	q.ConnectionID = f.ConnectionID
	if f.Action != "" && !slices.Contains(AuditActions, f.Action) {
		f.Action = ""
	}
	q.Action = f.Action
	if t, ok := day(f.From, out, "from"); ok {
		q.Since = t
	} else {
		f.From = ""
	}
	if t, ok := day(f.To, out, "to"); ok {
		if t != nil {
			end := t.Add(24 * time.Hour)
			q.Until = &end
		}
	} else {
		f.To = ""
	}
	return q, nil
}

// day parses an optional YYYY-MM-DD; false (with a problem noted) when it
// is not one.
func day(s string, out *Feed, field string) (*time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		out.Problems[field] = "Enter a date as YYYY-MM-DD."
		return nil, false
	}
	return &t, true
}

func (s *Service) names(ctx context.Context, q store.FeedQuery, entries []store.FeedEntry) (map[string]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, e := range entries {
		if e.ConnectionID != "" && !seen[e.ConnectionID] {
			seen[e.ConnectionID] = true
			ids = append(ids, e.ConnectionID)
		}
	}
	scope := store.Scope{TenantID: q.TenantID, AllTenants: q.AllTenants}
	names, err := s.Store.ConnectionNames(ctx, scope, ids)
	if err != nil {
		return nil, fmt.Errorf("admin: audit feed: %w", err)
	}
	return names, nil
}
