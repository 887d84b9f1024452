package tenantappsweb

import (
	"net/http"
	"strings"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/web"
)

// pageView is tenant_apps.html's data.
type pageView struct {
	RedirectURI string
	Apps        []appView
	Failing     []appView
	Projects    []projectView
	Add         formView
	Audiences   []option
}

type option struct {
	Value, Label string
	Selected     bool
}

type appView struct {
	store.AppRegistration
	AudienceLabel string
	Rotate        formView // its Rotate credential form, open when it failed
	RotateOpen    bool
}

type projectView struct {
	store.Project
	Options []option
}

// formView is an Add or Rotate form; Prefix keeps the element IDs of the
// several forms on the page apart.
type formView struct {
	Form   *tenantapps.Form
	Prefix string
}

// rotation is a Rotate form refused, to show again with its errors.
type rotation struct {
	AppID string
	Form  *tenantapps.Form
}

// Err is the form's error for field.
func (f formView) Err(field string) string { return f.Form.Errors[field] }

// ID is the element ID of field in this form.
func (f formView) ID(field string) string { return f.Prefix + field }

// Described lists the ids an input's aria-describedby names.
func (f formView) Described(field string, help bool) string {
	var ids []string
	if help {
		ids = append(ids, f.ID(field)+"-help")
	}
	if f.Err(field) != "" {
		ids = append(ids, f.ID(field)+"-error")
	}
	return strings.Join(ids, " ")
}

// Certificate tells whether the certificate credential is chosen.
func (f formView) Certificate() bool { return f.Form.Credential == "certificate" }

func audienceLabel(v string) string {
	for _, a := range tenantapps.Audiences {
		if a.Value == v {
			return a.Label
		}
	}
	return v
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, a tenantapps.Actor, add *tenantapps.Form, rot *rotation) {
	apps, err := h.Service.List(r.Context(), a)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	projects, err := h.Service.Store.ListProjects(r.Context(), a.TenantID)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	v := pageView{RedirectURI: h.Service.RedirectURL, Add: formView{Form: add, Prefix: "add-"}}
	for _, au := range tenantapps.Audiences {
		v.Audiences = append(v.Audiences, option{Value: au.Value, Label: au.Label, Selected: add.Audience == au.Value})
	}
	for _, app := range apps {
		av := appView{AppRegistration: app, AudienceLabel: audienceLabel(app.Audience),
			Rotate: formView{Form: &tenantapps.Form{}, Prefix: "rotate-" + app.ID + "-"}, RotateOpen: app.Failing()}
		if rot != nil && rot.AppID == app.ID {
			av.Rotate.Form, av.RotateOpen = rot.Form, true
		}
		v.Apps = append(v.Apps, av)
		if app.Failing() {
			v.Failing = append(v.Failing, av)
		}
	}
	for _, p := range projects {
		pv := projectView{Project: p, Options: []option{{Value: "", Label: "The broker's app", Selected: p.AppID == ""}}}
		for _, app := range apps {
			pv.Options = append(pv.Options, option{Value: app.ID, Label: app.Label(), Selected: p.AppID == app.ID})
		}
		v.Projects = append(v.Projects, pv)
	}
	h.ui.Render(w, r, status, "tenant_apps.html", web.Page{Title: "App registrations", Data: v})
}
