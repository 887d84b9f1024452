package connweb

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// Broken: someone must act before the connection hands out tokens again.
func (v showView) Broken() bool { return admin.Broken(v.C.Status) }

// NeedsSignIn: Microsoft stopped accepting the connection and only a new
// sign-in mends it, so the page leads with that.
func (v showView) NeedsSignIn() bool {
	return v.SignsIn && (v.C.Status == "needs_reauth" || v.C.Status == "consent_required")
}

// showView is connection_show.html's data.
type showView struct {
	C                store.Connection
	AccountType      string
	AuthType         string
	StatusLabel      string
	Requested        []scopeRow
	Extra            []string // granted without being asked for
	Missing          []string
	Personal         []string // not granted because a personal account cannot: expected
	PersonalNote     string
	SignsIn          bool // authorization code: may sign in again
	CanAdminConsent  bool
	AdminConsentLink string
	SecretDays       int  // days until the client secret expires
	SecretSoon       bool // within 30 days
	SecretExpired    bool
	Created          string
	TokenURL         string             // the token endpoint of this connection, for the ready snippet
	KeysHref         string             // the API keys page, for those who may open it
	Checked          bool               // client credentials: the broker read the mailbox once (made on the page)
	Admin            *adminweb.Sections // history, callers, audit, actions; nil if they failed to load
	App              string             // the tenant app registration it signs in through; "" the broker's
}

// AdminSections loads the admin part of a connection's page for the
// request's viewer (adminweb.Handler is the implementation).
type AdminSections interface {
	Sections(r *http.Request, id string) (*adminweb.Sections, error)
}

type scopeRow struct {
	Name     string
	Granted  bool
	Personal bool // a personal account cannot grant it
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	var c store.Connection
	var sections *adminweb.Sections
	if v := web.Viewer(r.Context()); v != nil && v.IsOperator && h.Admin != nil {
		// Operators own no connections but review all: the admin service
		// reads the connection with their scope (404 for unknown IDs).
		var err error
		if sections, err = h.Admin.Sections(r, id); err != nil {
			h.ui.ErrorPage(w, r, http.StatusNotFound, "")
			return
		}
		c = sections.Connection
	} else {
		a, ok := h.mustActor(w, r)
		if !ok {
			return
		}
		var err error
		if c, err = h.Service.Connection(r.Context(), a, id); err != nil {
			h.fail(w, r, err)
			return
		}
		if h.Admin != nil {
			if sections, err = h.Admin.Sections(r, id); err != nil {
				h.ui.Log(r).Warn("connection page: admin sections", "err", err)
				sections = nil
			}
		}
	}
	v := showView{C: c, Admin: sections, AccountType: connections.AccountType(c.AccountType).Label(),
		AuthType: connections.AuthType(c.AuthType).Label(), StatusLabel: admin.StatusLabel(c.Status),
		SignsIn:         connections.AuthType(c.AuthType) == connections.AuthCode,
		CanAdminConsent: connections.AdminConsentAuthority(connections.AccountType(c.AccountType), c.MSTenant) != "",
		Created:         c.CreatedAt.UTC().Format("2 Jan 2006 15:04 UTC"),
		TokenURL:        h.BaseURL() + "/api/v1/connections/" + c.ID + "/token",
		// Made on the New connection page, which reads the inbox before it
		// saves; a seeded one has had no such check.
		Checked: c.CreatedBy != ""}
	if c.AppID != "" {
		if app, err := h.Service.Store.AppRegistration(r.Context(), c.TenantID, c.AppID); err == nil {
			v.App = app.Label()
		}
	}
	if wv := web.Viewer(r.Context()); wv != nil && !wv.IsOperator && wv.IsAdmin() {
		v.KeysHref = "/api-keys"
	}
	if v.CanAdminConsent {
		v.AdminConsentLink = h.Service.AdminConsentLink(c)
	}
	if v.SignsIn && c.Status != "pending" {
		v.Missing, v.Personal = connections.MissingFor(c.RequestedScopes, c.GrantedScopes, c.AccountTID)
		if len(v.Personal) > 0 {
			v.PersonalNote = connections.PersonalNote(v.Personal)
		}
		for _, s := range c.RequestedScopes {
			v.Requested = append(v.Requested, scopeRow{Name: s, Granted: !contains(v.Missing, s) && !contains(v.Personal, s),
				Personal: contains(v.Personal, s)})
		}
		v.Extra = connections.MissingScopes(c.GrantedScopes, c.RequestedScopes)
	} else {
		for _, s := range c.RequestedScopes {
			v.Requested = append(v.Requested, scopeRow{Name: s, Granted: c.Status != "pending"})
		}
		if !v.SignsIn {
			v.Extra = connections.MissingScopes(c.GrantedScopes, c.RequestedScopes)
		}
	}
	if exp := c.ClientSecretExpiresAt; exp != nil {
		left := exp.Sub(h.ui.Now())
		v.SecretDays = int(left.Hours() / 24)
		v.SecretExpired = left <= 0
		v.SecretSoon = !v.SecretExpired && left < 30*24*time.Hour
	}
	h.ui.Render(w, r, http.StatusOK, "connection_show.html", web.Page{Title: c.Name, Data: v})
}

// BaseURL is the broker's public address (BROKER_PUBLIC_URL), from the
// redirect URI that is built on it.
func (h *Handler) BaseURL() string { return strings.TrimSuffix(h.RedirectURL, "/oauth/callback") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Handler) reconnect(w http.ResponseWriter, r *http.Request) {
	a, ok := h.mustActor(w, r)
	if !ok {
		return
	}
	to, err := h.Service.Reconnect(r.Context(), a, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.toMicrosoft(w, r, to)
}

func (h *Handler) adminConsent(w http.ResponseWriter, r *http.Request) {
	a, ok := h.mustActor(w, r)
	if !ok {
		return
	}
	to, err := h.Service.AdminConsent(r.Context(), a, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.toMicrosoft(w, r, to)
}

// Credential names what the connection's app proves itself with, for the
// expiry notices.
func (v showView) Credential() string {
	if v.C.ClientCertThumbprint != "" {
		return "certificate"
	}
	return "client secret"
}
