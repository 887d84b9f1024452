package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/brokerhq/broker/internal/store"
)

// Filter is the connections list's query as a person or script sends it.
// Unknown values are dropped rather than refused, so an old bookmark still opens.
type Filter struct {
	Tenant      string // operators: a tenant's slug
	Status      string // a status, or "broken"
	ProjectID   string
	AccountType string
	AuthType    string
	Search      string
	EndUser     string // a connect link's end user ID, exactly
	Sort        string // newest | oldest | name | name_desc
	Cursor      string
	Limit       int
}

// Sorts are the list's orders, the first the default.
var Sorts = []string{"newest", "oldest", "name", "name_desc"}

// List is one page of the connections list and what its filters offer.
type List struct {
	Filter      Filter // as applied: unknown values dropped
	Rows        []store.ConnectionRow
	Next        string
	Counts      map[string]int // per status, every filter but the status applied
	Total       int            // connections matching every filter but the status
	LastCallers map[string]store.LastCaller
	Projects    []store.Project // the project filter's choices
	Tenants     []store.Tenant  // operators: the tenant filter's choices
	Approval    bool            // the viewer's tenant requires approval
}

// cleanText trims a search text and cuts it to at most max bytes on a
// character boundary; false when it is not text (invalid UTF-8, control
// characters such as NUL), which Postgres would refuse.
func cleanText(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", false
	}
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s, true
}

func errBadText(field string) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: "Search text must be plain text, without control characters."}
}

// ErrBadCursor is a page link from a list that no longer matches.
var ErrBadCursor = &Error{Code: CodeInvalid, Field: "cursor", Message: "That page link is no longer valid. Start again from the first page."}

// List returns a page of the connections v may see: a member's projects, a
// tenant admin's tenant, every tenant for an operator.
func (s *Service) List(ctx context.Context, v Viewer, f Filter) (List, error) {
	out := List{}
	q := store.ConnectionQuery{TenantID: v.TenantID, ProjectIDs: v.projectScope(), Search: f.Search, Cursor: f.Cursor, Limit: f.Limit}
	if v.Operator() {
		tenants, err := s.Store.ListTenants(ctx)
		if err != nil {
			return out, fmt.Errorf("admin: list: %w", err)
		}
		out.Tenants = tenants
		q.TenantID, q.AllTenants = "", true
		if i := slices.IndexFunc(tenants, func(t store.Tenant) bool { return t.Slug == f.Tenant }); i >= 0 {
			q.OnlyTenant = tenants[i].ID
		} else {
			f.Tenant = ""
		}
	} else if v.TenantID == "" {
		return out, errNotFound
	} else {
		f.Tenant = ""
	}
	if tid := firstNonEmpty(q.OnlyTenant, q.TenantID); tid != "" {
		projects, err := s.Store.ListProjects(ctx, tid)
		if err != nil {
			return out, fmt.Errorf("admin: list: %w", err)
		}
		out.Projects = slices.DeleteFunc(projects, func(p store.Project) bool { return !v.mayUse(p.ID) })
		if !v.Operator() {
			t, err := s.Store.Tenant(ctx, tid)
			if err != nil {
				return out, fmt.Errorf("admin: list: %w", err)
			}
			out.Approval = t.RequireApproval
		}
	}
	if !ValidStatus(f.Status) {
		f.Status = ""
	}
	if !slices.ContainsFunc(out.Projects, func(p store.Project) bool { return p.ID == f.ProjectID }) || uuid.Validate(f.ProjectID) != nil {
		f.ProjectID = ""
	}
	if !slices.Contains(AccountTypes, f.AccountType) {
		f.AccountType = ""
	}
	if !slices.Contains(AuthTypes, f.AuthType) {
		f.AuthType = ""
	}
	if !slices.Contains(Sorts, f.Sort) {
		f.Sort = ""
	}
	var ok bool
	if f.Search, ok = cleanText(f.Search, 200); !ok {
		return out, errBadText("q")
	}
	if f.EndUser, ok = cleanText(f.EndUser, 200); !ok {
		return out, errBadText("end_user")
	}
	q.Status, q.ProjectID, q.AccountType, q.AuthType, q.Sort, q.Search = f.Status, f.ProjectID, f.AccountType, f.AuthType, f.Sort, f.Search
	q.EndUserID = f.EndUser
	out.Filter = f

	var page store.ConnectionPage
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		page, err = s.Store.QueryConnections(gctx, q)
		return err
	})
	g.Go(func() error {
		var err error
		out.Counts, err = s.Store.CountConnectionsByStatus(gctx, q)
		return err
	})
	if err := g.Wait(); err != nil {
		if errors.Is(err, store.ErrNotFound) && f.Cursor != "" {
			return out, ErrBadCursor
		}
		if errors.Is(err, store.ErrInvalid) {
			return out, errBadText("q")
		}
		return out, fmt.Errorf("admin: list: %w", err)
	}
	out.Rows, out.Next = page.Rows, page.Next
	for _, n := range out.Counts {
		out.Total += n
	}
	ids := make([]string, len(page.Rows))
	for i, r := range page.Rows {
		ids[i] = r.ID
	}
	scope := store.Scope{TenantID: q.TenantID, AllTenants: q.AllTenants}
	var err error
	if out.LastCallers, err = s.Store.LastCallers(ctx, scope, ids); err != nil {
		return out, fmt.Errorf("admin: list: %w", err)
	}
	return out, nil
}

// Count is the number of connections in a status (or "broken") in the list.
func (l List) Count(status string) int {
	if status == "broken" {
		n := 0
		for _, st := range store.BrokenStatuses {
			n += l.Counts[st]
		}
		return n
	}
	return l.Counts[status]
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
