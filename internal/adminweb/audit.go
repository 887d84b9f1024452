package adminweb

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// auditView is admin_audit.html's data.
type auditView struct {
	admin.Feed
	Operator bool
	Rows     []eventRow
	Actions  []option
	Tenants  []option
	Filtered bool
	NextHref string
	First    string
	CSVHref  string
}

// eventRow is one audit entry, formatted.
type eventRow struct {
	When        When
	Tenant      string
	ActorType   string
	Actor       string
	Action      string
	ActionLabel string
	ConnHref    string
	ConnLabel   string
	Reason      string
	Details     string
	RequestID   string
}

func feedFilter(r *http.Request) admin.FeedFilter {
	q := r.URL.Query()
	return admin.FeedFilter{Tenant: q.Get("tenant"), Actor: q.Get("actor"), ConnectionID: q.Get("connection"),
		Action: q.Get("type"), From: q.Get("from"), To: q.Get("to"), Cursor: q.Get("cursor")}
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	v, _, ok := viewerOf(r)
	if !ok {
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		h.auditCSV(w, r, v)
		return
	}
	feed, err := h.Service.Feed(r.Context(), v, feedFilter(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.ui.Now()
	slugs := tenantSlugs(feed.Tenants)
	view := auditView{Feed: feed, Operator: v.Operator()}
	f := feed.Filter
	view.Filtered = f.Tenant != "" || f.Actor != "" || f.ConnectionID != "" || f.Action != "" || f.From != "" || f.To != ""
	for _, e := range feed.Entries {
		view.Rows = append(view.Rows, eventRowOf(e, feed.Names, slugs, now))
	}
	for _, a := range admin.AuditActions {
		view.Actions = append(view.Actions, option{a, admin.ActionLabel(a), a == f.Action})
	}
	for _, t := range feed.Tenants {
		view.Tenants = append(view.Tenants, option{t.Slug, t.Name + " (" + t.Slug + ")", t.Slug == f.Tenant})
	}
	if feed.Next != "" {
		g := f
		g.Cursor = feed.Next
		view.NextHref = auditHref(g, "")
	}
	if f.Cursor != "" {
		g := f
		g.Cursor = ""
		view.First = auditHref(g, "")
	}
	g := f
	g.Cursor = ""
	view.CSVHref = auditHref(g, "csv")
	status := http.StatusOK
	if len(feed.Problems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	h.ui.Render(w, r, status, "admin_audit.html", web.Page{Title: "Audit log", Data: view})
}

func tenantSlugs(ts []store.Tenant) map[string]string {
	out := map[string]string{}
	for _, t := range ts {
		out[t.ID] = t.Slug
	}
	return out
}

func eventRowOf(e store.FeedEntry, names, slugs map[string]string, now time.Time) eventRow {
	row := eventRow{When: when(e.At, now), Tenant: slugs[e.TenantID], ActorType: e.ActorType, Actor: e.ActorLabel,
		Action: e.Action, ActionLabel: admin.ActionLabel(e.Action), Reason: e.Reason, Details: detailsText(e),
		RequestID: e.RequestID}
	if e.TenantID == "" {
		row.Tenant = "platform"
	}
	if row.Actor == "" {
		row.Actor = e.ActorType
	}
	if e.ConnectionID != "" {
		row.ConnLabel = names[e.ConnectionID]
		if row.ConnLabel == "" {
			row.ConnLabel = "deleted " + shortID(e.ConnectionID)
		} else {
			row.ConnHref = connectionHref(e.ConnectionID)
		}
	}
	if e.Source == store.SourceStatus {
		st, _ := e.Details["status"].(string)
		row.ActionLabel = "Status → " + admin.StatusLabel(st)
	}
	if e.Source == store.SourceUsage {
		// At is the end of the hour (store.FeedEntry).
		row.When.Rel = e.At.Add(-time.Hour).UTC().Format("2 Jan 15:00") + "–" + e.At.UTC().Format("15:00 UTC")
	}
	return row
}

// detailsText is the details in sentences (sentences.go).
func detailsText(e store.FeedEntry) string { return sentence(e) }

// valueText writes a detail's value plainly: lists joined with commas.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func auditHref(f admin.FeedFilter, format string) string {
	return href("/audit", "tenant", f.Tenant, "actor", f.Actor, "connection", f.ConnectionID, "type", f.Action,
		"from", f.From, "to", f.To, "cursor", f.Cursor, "format", format)
}

// auditCSV streams every matching entry as CSV. Cells that a spreadsheet
// would run as a formula are prefixed with a quote.
func (h *Handler) auditCSV(w http.ResponseWriter, r *http.Request, v admin.Viewer) {
	if !admin.MayReadAudit(v) {
		h.fail(w, r, &admin.Error{Code: admin.CodeForbidden, Message: "The audit log is for the tenant's administrators."})
		return
	}
	f := feedFilter(r)
	cw := csv.NewWriter(w)
	started := false
	// The file starts with the first entry, or after a search that found
	// none: a filter the service refuses still gets its error page.
	start := func() {
		name := "audit-" + h.ui.Now().UTC().Format("20060102-1504") + ".csv"
		hd := w.Header()
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		hd.Set("Cache-Control", "no-store")
		cw.Write([]string{"at", "tenant_id", "actor_type", "actor_id", "actor", "type", "connection_id", "connection",
			"reason", "details", "request_id"})
		started = true
	}
	n := 0
	err := h.Service.FeedAll(r.Context(), v, f, func(e store.FeedEntry, connName string) error {
		if !started {
			start()
		}
		details, _ := json.Marshal(e.Details)
		n++
		return cw.Write(cells(e.At.UTC().Format(time.RFC3339), e.TenantID, e.ActorType, e.ActorID, e.ActorLabel,
			e.Action, e.ConnectionID, connName, e.Reason, string(details), e.RequestID))
	})
	if err != nil && !started {
		h.fail(w, r, err)
		return
	}
	if !started {
		start()
	}
	cw.Flush()
	if err != nil {
		// The header is out; a cut-off file is all that can be said now.
		h.ui.Log(r).Error("audit export stopped", "rows", n, "err", err)
	}
}

func cells(vals ...string) []string {
	for i, s := range vals {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			vals[i] = "'" + s
		}
	}
	return vals
}
