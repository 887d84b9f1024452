package adminweb

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// listView is admin_connections.html's data.
type listView struct {
	admin.List
	Operator     bool
	TenantAdmin  bool // may change the approval setting
	CanCreate    bool // tenant users may set up connections
	Counts       []countLink
	Rows         []rowView
	Projects     []option
	Tenants      []option
	Statuses     []option
	AccountType  []option
	AuthType     []option
	Sorts        []option
	Filtered     bool // anything but the defaults is applied
	NextHref     string
	FirstHref    string // set on pages after the first
	Shown        int    // rows matching the current status filter
	StatusFilter string // its label
}

type countLink struct {
	Status, Label string
	Count         int
	Href          string
	Current       bool
	Alert         bool   // needs someone: broken, awaiting approval
	Title         string // Broken: its causes
}

// countLinks are the status chips. Each connection counts once: "Broken"
// stands for the statuses that need someone (its title names them), which
// get chips of their own only while one of them is the filter.
func countLinks(l admin.List, f admin.Filter) []countLink {
	var out []countLink
	for _, st := range append([]string{"broken"}, admin.Statuses...) {
		n := l.Count(st)
		if n == 0 && st != "broken" && st != "active" && st != f.Status {
			continue // a status nobody is in is noise; active and broken always show
		}
		if slices.Contains(store.BrokenStatuses, st) && st != f.Status {
			continue // inside Broken
		}
		g := f
		g.Status, g.Cursor = st, ""
		if f.Status == st {
			g.Status = ""
		}
		c := countLink{Status: st, Label: admin.StatusLabel(st), Count: n, Href: listHref(g), Current: f.Status == st,
			Alert: n > 0 && (st == "broken" || st == "awaiting_approval")}
		if st == "broken" {
			var causes []string
			for _, b := range store.BrokenStatuses {
				if m := l.Count(b); m > 0 {
					causes = append(causes, fmt.Sprintf("%d %s", m, strings.ToLower(admin.StatusLabel(b))))
				}
			}
			c.Title = strings.Join(causes, ", ")
		}
		out = append(out, c)
	}
	return out
}

type option struct {
	Value, Label string
	Selected     bool
}

// rowView is a list row, formatted.
type rowView struct {
	store.ConnectionRow
	Href        string
	StatusLabel string
	AccountType string
	AuthType    string
	Account     string
	LastRefresh When
	LastUsed    When
	LastCaller  string
	Created     When
	Alert       bool
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	v, wv, ok := viewerOf(r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := admin.Filter{Tenant: q.Get("tenant"), Status: q.Get("status"), ProjectID: q.Get("project"),
		AccountType: q.Get("account_type"), AuthType: q.Get("auth_type"), Search: q.Get("q"), Sort: q.Get("sort"),
		Cursor: q.Get("cursor"), EndUser: q.Get("end_user")}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		f.Limit = n
	}
	l, err := h.Service.List(r.Context(), v, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.ui.Now()
	view := listView{List: l, Operator: v.Operator(), TenantAdmin: wv.IsAdmin(), CanCreate: !v.Operator()}
	f = l.Filter
	view.Filtered = f.Status != "" || f.ProjectID != "" || f.AccountType != "" || f.AuthType != "" || f.Search != "" || f.Tenant != "" || f.EndUser != ""
	view.Counts = countLinks(l, f)
	view.Shown = l.Total
	if f.Status != "" {
		view.Shown, view.StatusFilter = l.Count(f.Status), admin.StatusLabel(f.Status)
	}
	for _, c := range l.Rows {
		rv := rowView{ConnectionRow: c, Href: connectionHref(c.ID), StatusLabel: admin.StatusLabel(c.Status),
			AccountType: admin.AccountTypeLabel(c.AccountType), AuthType: admin.AuthTypeLabel(c.AuthType),
			Account: c.AccountUsername, LastRefresh: whenPtr(c.LastRefreshAt, now), LastUsed: whenPtr(c.LastUsedAt, now),
			Created: when(c.CreatedAt, now), Alert: admin.Broken(c.Status)}
		if rv.Account == "" {
			rv.Account = c.UserPrincipal
		}
		if lc, ok := l.LastCallers[c.ID]; ok {
			rv.LastCaller = lc.KeyName
			if rv.LastCaller == "" {
				rv.LastCaller = "a deleted key"
			}
			if rv.LastUsed.IsZero() || lc.At.After(derefTime(c.LastUsedAt)) {
				rv.LastUsed = when(lc.At, now)
			}
		}
		view.Rows = append(view.Rows, rv)
	}
	for _, p := range l.Projects {
		view.Projects = append(view.Projects, option{p.ID, p.Name, p.ID == f.ProjectID})
	}
	for _, t := range l.Tenants {
		view.Tenants = append(view.Tenants, option{t.Slug, t.Name + " (" + t.Slug + ")", t.Slug == f.Tenant})
	}
	for _, st := range append([]string{"broken"}, admin.Statuses...) {
		view.Statuses = append(view.Statuses, option{st, admin.StatusLabel(st), st == f.Status})
	}
	for _, t := range admin.AccountTypes {
		view.AccountType = append(view.AccountType, option{t, admin.AccountTypeLabel(t), t == f.AccountType})
	}
	for _, t := range admin.AuthTypes {
		view.AuthType = append(view.AuthType, option{t, admin.AuthTypeLabel(t), t == f.AuthType})
	}
	sortLabels := map[string]string{"newest": "Newest first", "oldest": "Oldest first", "name": "Name A–Z", "name_desc": "Name Z–A"}
	for _, s := range admin.Sorts {
		view.Sorts = append(view.Sorts, option{s, sortLabels[s], s == f.Sort || f.Sort == "" && s == "newest"})
	}
	if l.Next != "" {
		g := f
		g.Cursor = l.Next
		view.NextHref = listHref(g)
	}
	if f.Cursor != "" {
		g := f
		g.Cursor = ""
		view.FirstHref = listHref(g)
	}
	h.ui.Render(w, r, http.StatusOK, "admin_connections.html", web.Page{Title: "Connections", Data: view})
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// listHref is the list's address with f applied, defaults left out.
func listHref(f admin.Filter) string {
	sort := f.Sort
	if sort == "newest" {
		sort = ""
	}
	return href("/connections", "tenant", f.Tenant, "status", f.Status, "project", f.ProjectID,
		"account_type", f.AccountType, "auth_type", f.AuthType, "q", f.Search, "end_user", f.EndUser, "sort", sort, "cursor", f.Cursor)
}

// setApproval serves POST /settings/approval: require_approval=on|off.
func (h *Handler) setApproval(w http.ResponseWriter, r *http.Request) {
	v, _, ok := viewerOf(r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	on := r.PostForm.Get("require_approval") == "on"
	if err := h.Service.SetApproval(r.Context(), v, on); err != nil {
		h.fail(w, r, err)
		return
	}
	msg := "New connections no longer need approval."
	if on {
		msg = "From now on, a new connection waits for an administrator's approval after sign-in."
	}
	h.ui.SetFlash(w, "success", msg)
	web.SeeOther(w, r, "/connections")
}
