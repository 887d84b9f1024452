package adminweb

import (
	"net/http"
	"time"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// Home serves the signed-in home page (web.Deps.Home): what needs
// attention, what happened lately, the last 24 hours of token traffic, and
// for a new tenant the first step.
func (h *Handler) Home(w http.ResponseWriter, r *http.Request) {
	v, wv, ok := viewerOf(r)
	if !ok {
		return
	}
	now := h.ui.Now()
	o, err := h.Service.Overview(r.Context(), v, now.Add(-24*time.Hour).Truncate(time.Hour))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &web.Dashboard{Attention: attention(o.List), Total: o.Total, Healthy: o.Count("active")}
	d.Attention = append(d.Attention, h.webhookAttention(r, v)...)
	d.Attention = append(d.Attention, h.appAttention(r, v)...)
	if admin.MayReadAudit(v) {
		d.RecentHref = "/audit"
		for _, e := range o.Recent {
			row := eventRowOf(e, o.Names, nil, now)
			text := row.ActionLabel + " by " + row.Actor
			if s := sentence(e); s != "" {
				text += ". " + s
			}
			d.Recent = append(d.Recent, web.Activity{When: row.When.Rel, WhenAbs: row.When.Abs, WhenISO: row.When.ISO,
				Text: text, Href: row.ConnHref, Link: row.ConnLabel})
		}
	} else {
		for _, c := range o.Rows {
			t := when(c.CreatedAt, now)
			d.Connections = append(d.Connections, web.Activity{When: t.Rel, WhenAbs: t.Abs, WhenISO: t.ISO,
				Href: connectionHref(c.ID), Link: c.Name, Status: c.Status, StatusLabel: admin.StatusLabel(c.Status)})
		}
	}
	if !v.Operator() {
		d.Traffic = web.HourlyChart(hourly(o.Usage, now, 24), now.Truncate(time.Hour).Add(time.Hour))
		if o.Total == 0 {
			d.NextStep = &web.NextStep{Title: "Connect your first mailbox",
				Text: "A connection holds one Outlook mailbox's Microsoft sign-in. Your services then fetch fresh access tokens for it from the broker with an API key.",
				Href: "/connections/new", Button: "New connection"}
			if wv.IsAdmin() {
				d.NextStep.Text += " Create the API key on the API keys page once the mailbox is connected."
			}
		}
	}
	h.ui.Render(w, r, http.StatusOK, "home.html", web.Page{Title: "Home", Data: web.HomeView{Dashboard: d}})
}

// attention lists what needs someone, broken first, each linking to the
// list filtered to it.
func attention(l admin.List) []web.Attention {
	var out []web.Attention
	add := func(status, text, hint, level string) {
		if n := l.Count(status); n > 0 {
			out = append(out, web.Attention{Count: n, Text: text, Hint: hint, Href: "/connections?status=" + status, Level: level})
		}
	}
	add("needs_reauth", "need re-authorization", "Microsoft stopped accepting them: someone signs in again.", "alert")
	add("consent_required", "need consent", "An administrator of the organization must consent.", "alert")
	add("config_error", "have a configuration error", "The app registration or secret is wrong.", "alert")
	add("secret_expiring", "have a client secret expiring", "Create a new secret in Azure and rotate it here.", "warn")
	add("awaiting_approval", "await approval", "They hand out no token until an administrator approves them.", "warn")
	for i := range out {
		if out[i].Count == 1 {
			out[i].Text = singular(out[i].Text)
		}
	}
	return out
}

// webhookAttention counts the endpoints the viewer manages that are
// failing or that the broker disabled (410 Gone, days of failures): the
// services behind them are missing events. Nothing when the viewer manages
// no endpoints or the page cannot tell (the dashboard still renders).
func (h *Handler) webhookAttention(r *http.Request, v admin.Viewer) []web.Attention {
	if h.Webhooks == nil || !(v.Operator() || v.TenantAdmin()) {
		return nil
	}
	owner := v.TenantID
	if v.Operator() {
		owner = ""
	}
	eps, err := h.Webhooks.Store.WebhookEndpoints(r.Context(), owner)
	if err != nil {
		h.Service.Logger.Warn("home: webhook endpoints", "err", err)
		return nil
	}
	var failing, disabled int
	for _, e := range eps {
		switch {
		case e.Enabled && e.FailingSince != nil:
			failing++
		case !e.Enabled && e.DisabledReason != "":
			disabled++
		}
	}
	var out []web.Attention
	if disabled > 0 {
		out = append(out, web.Attention{Count: disabled, Noun: plural(disabled, "webhook endpoint", "webhook endpoints"),
			Text: plural(disabled, "was", "were") + " disabled by the broker",
			Hint: "It answered 410 Gone or failed for days; its events wait until someone enables it.", Href: "/webhooks", Level: "alert"})
	}
	if failing > 0 {
		out = append(out, web.Attention{Count: failing, Noun: plural(failing, "webhook endpoint", "webhook endpoints"),
			Text: plural(failing, "is", "are") + " failing",
			Hint: "Deliveries are being retried; see the endpoint's recent deliveries.", Href: "/webhooks", Level: "warn"})
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// singular turns "need re-authorization" into "needs re-authorization".
func singular(verb string) string {
	for _, p := range [][2]string{{"need ", "needs "}, {"have ", "has "}, {"await ", "awaits "}} {
		if len(verb) >= len(p[0]) && verb[:len(p[0])] == p[0] {
			return p[1] + verb[len(p[0]):]
		}
	}
	return verb
}

// hourly sums the usage rows into n hourly buckets ending with now's hour.
func hourly(rows []store.TokenUsage, now time.Time, n int) []int64 {
	out := make([]int64, n)
	last := now.UTC().Truncate(time.Hour)
	for _, u := range rows {
		i := n - 1 - int(last.Sub(u.Hour.UTC())/time.Hour)
		if i >= 0 && i < n {
			out[i] += u.Cached + u.Refreshed
		}
	}
	return out
}
