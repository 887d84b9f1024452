package connweb

import (
	"errors"
	"net/http"
	"slices"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/web"
)

// newView is connection_new.html's data.
type newView struct {
	Form         *connections.Form
	Projects     []connections.Project
	Accounts     []option
	Scopes       []scopeOption
	Fixed        []connections.Scope
	AppPerms     []connections.Scope
	MinAppPerm   string
	RedirectURI  string
	ShowRedirect bool         // the broker's redirect URI: for admins, who pass it on to whoever runs the broker
	Summary      []fieldError // every error, in page order, for the summary at the top
	Apps         []option     // the app registrations to sign in through; none when the tenant has only the broker's
}

type option struct {
	Value, Label, Hint string
	Selected           bool
}

type scopeOption struct {
	connections.Scope
	Checked bool
}

type fieldError struct{ Field, Message string }

// Err is the error for field, for templates: {{with $.Err "name"}}.
func (v newView) Err(field string) string { return v.Form.Errors[field] }

// Described lists the ids an input's aria-describedby names: its help and,
// when there is one, its error.
func (v newView) Described(field string, help bool) string {
	ids := ""
	if help {
		ids = field + "-help"
	}
	if v.Err(field) != "" {
		if ids != "" {
			ids += " "
		}
		ids += field + "-error"
	}
	return ids
}

// IsClientCredentials tells the template which button text and sections fit.
func (v newView) IsClientCredentials() bool {
	return v.Form.AuthType == connections.AuthClientCredentials
}

// IsTenant tells whether the Tenant ID/Domain field applies.
func (v newView) IsTenant() bool { return v.Form.AccountType == connections.AccountTenant }

// AdvancedOpen unfolds Advanced settings when something in it needs a look.
func (v newView) AdvancedOpen() bool { return v.Err(connections.FieldScopes) != "" }

var fieldOrder = []string{connections.FieldForm, connections.FieldName, connections.FieldProject, connections.FieldAccountType,
	connections.FieldMSTenant, connections.FieldAuthType, connections.FieldApp, connections.FieldUserPrincipal, connections.FieldClientID,
	connections.FieldClientSecret, connections.FieldSecretExpires, connections.FieldCertificate, connections.FieldCertPassword,
	connections.FieldScopes}

// viewFor is view with what the request's viewer may see.
func (h *Handler) viewFor(r *http.Request, f *connections.Form, projects []connections.Project) newView {
	v := h.view(f, projects)
	wv := web.Viewer(r.Context())
	v.ShowRedirect = wv != nil && (wv.IsOperator || wv.IsAdmin())
	if wv != nil && wv.TenantID != "" {
		v.Apps = h.appOptions(r, wv.TenantID, f, projects)
	}
	return v
}

func (h *Handler) view(f *connections.Form, projects []connections.Project) newView {
	v := newView{Form: f, Projects: projects, Fixed: connections.FixedScopes, AppPerms: connections.ApplicationPermissions,
		MinAppPerm: connections.MinimumApplicationPermission, RedirectURI: h.RedirectURL}
	for _, at := range connections.AccountTypes {
		v.Accounts = append(v.Accounts, option{Value: string(at), Label: at.Label(), Hint: at.Hint(), Selected: at == f.AccountType})
	}
	for _, s := range connections.DelegatedScopes {
		v.Scopes = append(v.Scopes, scopeOption{Scope: s, Checked: slices.Contains(f.Scopes, s.Name)})
	}
	for _, field := range fieldOrder {
		if msg := f.Errors[field]; msg != "" && field != connections.FieldForm {
			v.Summary = append(v.Summary, fieldError{Field: field, Message: msg})
		}
	}
	return v
}

func (h *Handler) newForm(w http.ResponseWriter, r *http.Request) {
	a, ok := h.mustActor(w, r)
	if !ok {
		return
	}
	projects, err := h.Service.Projects(r.Context(), a)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	h.renderForm(w, r, http.StatusOK, connections.NewForm(projects), projects)
}

func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, f *connections.Form, projects []connections.Project) {
	h.ui.Render(w, r, status, "connection_new.html", web.Page{Title: "New Outlook connection", Data: h.viewFor(r, f, projects)})
}

// parseForm reads the posted form. Advanced settings' checkboxes are
// always on the page, so with scopes_shown set no ticked box means none.
func parseForm(r *http.Request) *connections.Form {
	p := r.PostForm
	f := &connections.Form{Name: p.Get("name"), ProjectID: p.Get("project"),
		AccountType: connections.AccountType(p.Get("account_type")), MSTenant: p.Get("ms_tenant"),
		AuthType: connections.AuthType(p.Get("auth_type")), Scopes: p["scope"],
		UserPrincipal: p.Get("user_principal"), ClientID: p.Get("client_id"), ClientSecret: p.Get("client_secret"),
		SecretExpires: p.Get("secret_expires"), Credential: p.Get("credential"), CertPEM: p.Get("certificate_pem"), App: p.Get("app"),
		CertPassword: p.Get("certificate_password"), CertFile: uploaded(r, "certificate_file")}
	if p.Get("scopes_shown") == "" {
		f.Scopes = connections.DefaultScopes()
	}
	return f
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	a, ok := h.mustActor(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := parseBody(r); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return
	}
	f := parseForm(r)
	out, err := h.Service.Submit(r.Context(), a, f)
	switch {
	case errors.Is(err, connections.ErrInvalid):
		projects, perr := h.Service.Projects(r.Context(), a)
		if perr != nil {
			h.ui.Fail(w, r, perr)
			return
		}
		h.renderForm(w, r, http.StatusUnprocessableEntity, f, projects)
	case err != nil:
		h.fail(w, r, err)
	case out.RedirectURL != "":
		h.toMicrosoft(w, r, out.RedirectURL)
	default:
		h.ui.SetFlash(w, "success", "“"+out.Connection.Name+"” is connected: the broker fetched a token and read the inbox of "+
			out.Connection.UserPrincipal+".")
		web.SeeOther(w, r, "/connections/"+out.Connection.ID)
	}
}

// fail maps the service's sentinels to pages.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, connections.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such connection, or it is in a project you do not use.")
	case errors.Is(err, connections.ErrNotSignIn):
		h.ui.ErrorPage(w, r, http.StatusConflict, "This connection uses client credentials: it does not sign in with a Microsoft account.")
	case errors.Is(err, connections.ErrNoAdmin):
		h.ui.ErrorPage(w, r, http.StatusConflict, "Common and Consumer connections have no organization administrator to ask for consent.")
	case errors.Is(err, connections.ErrNoSession):
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Sign in again to continue.")
	default:
		h.ui.Fail(w, r, err)
	}
}
