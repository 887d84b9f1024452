package ssoweb

import (
	"errors"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/sso"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// settingsView is sso_settings.html's data.
type settingsView struct {
	sso.Settings
	RedirectURI string
	Form        ruleForm
}

// ruleForm is the "Add a rule" form with its errors and kept values.
type ruleForm struct {
	web.Form
	Claim, Value, Role string
	ProjectIDs         []string
}

// Picked tells the template whether a project box stays ticked.
func (f ruleForm) Picked(id string) bool { return slices.Contains(f.ProjectIDs, id) }

// ProjectName names a project ID for the rules table.
func (v settingsView) ProjectName(id string) string {
	for _, p := range v.Projects {
		if p.ID == id {
			return p.Name
		}
	}
	return "(deleted project)"
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	h.renderSettings(w, r, http.StatusOK, ruleForm{Claim: store.SSOClaimGroup, Role: store.RoleMember})
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, f ruleForm) {
	st, err := h.Service.Settings(r.Context(), actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.Render(w, r, status, "sso_settings.html", web.Page{Title: "Single sign-on",
		Data: settingsView{Settings: st, RedirectURI: h.RedirectURI, Form: f}})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sso.ErrNotAdmin):
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Only an administrator of your tenant can change single sign-on.")
	case errors.Is(err, store.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "That no longer exists.")
	default:
		h.ui.Fail(w, r, err)
	}
}

func (h *Handler) parse(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Please try again.")
		return false
	}
	return true
}

// startLink sends the admin to Microsoft to sign in with an account of the
// Entra tenant to link: the tid of that sign-in is what gets linked.
func (h *Handler) startLink(w http.ResponseWriter, r *http.Request) {
	a := actor(r)
	if a.Role != store.RoleAdmin {
		h.fail(w, r, sso.ErrNotAdmin)
		return
	}
	f, url := h.Service.Begin(sso.KindLink, a, "/settings/sso", sso.Authority, "")
	h.begin(w, r, f, url)
}

func (h *Handler) deleteLink(w http.ResponseWriter, r *http.Request) {
	if err := h.Service.Unlink(r.Context(), actor(r), chi.URLParam(r, "tid")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.SetFlash(w, "success", "Unlinked. People of that Entra tenant can no longer sign in with Microsoft.")
	web.SeeOther(w, r, "/settings/sso")
}

func (h *Handler) setRequire(w http.ResponseWriter, r *http.Request) {
	if !h.parse(w, r) {
		return
	}
	on := r.PostForm.Get("require") == "on"
	err := h.Service.SetRequire(r.Context(), actor(r), on)
	if errors.Is(err, sso.ErrNoLink) {
		h.renderSettings(w, r, http.StatusUnprocessableEntity, ruleForm{Claim: store.SSOClaimGroup, Role: store.RoleMember,
			Form: web.Form{FormError: "Link an Entra tenant first: requiring single sign-on now would lock out everyone but the break-glass accounts."}})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg := "Passwords are allowed again."
	if on {
		msg = "Single sign-on is required: passwords are refused, except for the operator's break-glass accounts."
	}
	h.ui.SetFlash(w, "success", msg)
	web.SeeOther(w, r, "/settings/sso")
}

func (h *Handler) addRule(w http.ResponseWriter, r *http.Request) {
	if !h.parse(w, r) {
		return
	}
	in := sso.RuleForm{Claim: r.PostForm.Get("claim"), Value: r.PostForm.Get("value"), Role: r.PostForm.Get("role"),
		ProjectIDs: r.PostForm["project"]}
	_, err := h.Service.AddRule(r.Context(), actor(r), &in)
	if errors.Is(err, sso.ErrInvalid) {
		f := ruleForm{Claim: in.Claim, Value: in.Value, Role: in.Role, ProjectIDs: in.ProjectIDs}
		for field, msg := range in.Errors {
			f.Check(false, field, msg)
		}
		h.renderSettings(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.SetFlash(w, "success", "Rule added. It applies from each person's next sign-in with Microsoft.")
	web.SeeOther(w, r, "/settings/sso")
}

func (h *Handler) deleteRule(w http.ResponseWriter, r *http.Request) {
	if err := h.Service.DeleteRule(r.Context(), actor(r), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.ui.SetFlash(w, "success", "Rule deleted. Roles and projects it gave stay until an administrator changes them.")
	web.SeeOther(w, r, "/settings/sso")
}
