package connectweb

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// brand is the tenant's look on every connect page.
type brand struct {
	Name     string
	LogoURL  string
	TenantID string // names the brand stylesheet when a colour is set
	Color    bool
}

func brandOf(p connect.Page) brand {
	return brand{Name: p.TenantName, LogoURL: p.Settings.LogoURL, TenantID: p.Session.TenantID, Color: p.Settings.BrandColor != ""}
}

// formView is connect_form.html's data.
type formView struct {
	Brand       brand
	Form        *connections.Form
	Accounts    []option
	Auths       []option
	EndUser     store.EndUser
	Scopes      []string
	TenantField bool // a tenant-specific account type is offered
	CCOffered   bool
	Summary     []fieldError
}

type option struct {
	Value, Label, Hint string
	Selected           bool
}

type fieldError struct{ Field, Message string }

// Err is the error for field, for templates.
func (v formView) Err(field string) string { return v.Form.Errors[field] }

// IsClientCredentials tells the template which button text fits.
func (v formView) IsClientCredentials() bool {
	return v.Form.AuthType == connections.AuthClientCredentials
}

var fieldOrder = []string{connections.FieldName, connections.FieldAccountType, connections.FieldMSTenant,
	connections.FieldAuthType, connections.FieldUserPrincipal, connections.FieldClientID, connections.FieldClientSecret,
	connections.FieldSecretExpires}

func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, p connect.Page, f *connections.Form) {
	cs := p.Session
	v := formView{Brand: brandOf(p), Form: f, EndUser: cs.EndUser, Scopes: f.Scopes}
	if len(v.Scopes) == 0 {
		v.Scopes = connect.NewForm(cs).Scopes
	}
	ccOnly := len(cs.AllowedAuthTypes) == 1 && cs.AllowedAuthTypes[0] == string(connections.AuthClientCredentials)
	for _, at := range connections.AccountTypes {
		if !connect.Allows(cs.AllowedAccountTypes, string(at)) || ccOnly && at != connections.AccountTenant {
			continue
		}
		v.Accounts = append(v.Accounts, option{Value: string(at), Label: at.Label(), Hint: at.Hint(), Selected: at == f.AccountType})
		v.TenantField = v.TenantField || at == connections.AccountTenant
	}
	for _, au := range []connections.AuthType{connections.AuthCode, connections.AuthClientCredentials} {
		if !connect.Allows(cs.AllowedAuthTypes, string(au)) || au == connections.AuthClientCredentials && !v.TenantField {
			continue
		}
		v.Auths = append(v.Auths, option{Value: string(au), Label: au.Label(), Selected: au == f.AuthType})
		v.CCOffered = v.CCOffered || au == connections.AuthClientCredentials
	}
	for _, field := range fieldOrder {
		if msg := f.Errors[field]; msg != "" {
			v.Summary = append(v.Summary, fieldError{Field: field, Message: msg})
		}
	}
	h.render(w, r, status, "connect_form.html", p, v)
}

// reconnectView is connect_reconnect.html's data.
type reconnectView struct {
	Brand  brand
	Conn   *store.Connection
	Action string // this link's reconnect path
}

// statusView is connect_status.html's data: every page that is not a form.
type statusView struct {
	Kind     string // unknown | expired | revoked | other_browser | gone | completed | failed | refused
	Brand    brand
	ReturnTo string // the return_url with the outcome, when the session has one
	Account  string
	Reason   string
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request, code int, v statusView) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	allowLogo(w, v.Brand.LogoURL)
	h.ui.Render(w, r, code, "connect_status.html", web.Page{Title: "Connect Outlook", Data: v})
}

// result is the end of a session in the browser that ran it: back to the
// product's return_url (with connect_session_id, connection_id and status),
// or "you can close this window". It is a page with a refresh, not a
// redirect, so a result after a form post is not a form-action redirect.
func (h *Handler) result(w http.ResponseWriter, r *http.Request, p connect.Page, status, connID, reason string) {
	v := statusView{Kind: status, Brand: brandOf(p), ReturnTo: connect.ReturnTo(p.Session, status, connID), Reason: reason}
	if connID != "" {
		if c, err := h.Service.Store.Connection(r.Context(), p.Session.TenantID, connID); err == nil {
			v.Account = c.AccountUsername
		}
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.render(w, r, http.StatusOK, "connect_status.html", p, v)
}

var colorRE = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// brandCSS is the tenant's colour as a stylesheet: the CSP allows no inline
// style, so the colour arrives as a file of this origin.
func (h *Handler) brandCSS(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "tenant")
	if uuid.Validate(id) != nil {
		http.NotFound(w, r)
		return
	}
	st, err := h.Service.Store.ConnectSettings(r.Context(), id)
	if err != nil || !colorRE.MatchString(st.BrandColor) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	fmt.Fprintf(w, ":root { --brand: %s; }\n", st.BrandColor)
}
