// Package tenantappsweb is the tenant admin's App registrations page,
// /settings/apps: the tenant's own Entra app registrations (add, verified
// at Microsoft when saved; rotate the credential; delete while unused),
// each project's default app, and the redirect URI to enter in Azure with
// a Copy button. It parses and renders; internal/tenantapps decides.
package tenantappsweb

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
	"github.com/brokerhq/broker/internal/web"
)

// Path is the page's address.
const Path = "/settings/apps"

// Handler serves /settings/apps.
type Handler struct {
	Service *tenantapps.Service
	ui      *web.UI
}

// New returns the handler.
func New(svc *tenantapps.Service) *Handler { return &Handler{Service: svc} }

// Mount registers the routes, for signed-in tenant admins.
func (h *Handler) Mount(r chi.Router, ui *web.UI) {
	h.ui = ui
	ui.Need("tenant_apps.html")
	r.Group(func(r chi.Router) {
		r.Use(web.RequireSignIn)
		r.Get(Path, h.page)
		r.Post(Path, h.create)
		r.Post(Path+"/{id}/credential", h.rotate)
		r.Post(Path+"/{id}/delete", h.delete)
		r.Post(Path+"/projects/{project}", h.projectDefault)
	})
}

// admin is the viewer as a tenant admin; false after a 403.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) (tenantapps.Actor, bool) {
	v := web.Viewer(r.Context())
	if !v.IsAdmin() {
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Only an administrator of your tenant can manage app registrations.")
		return tenantapps.Actor{}, false
	}
	return tenantapps.Actor{TenantID: v.TenantID, UserID: v.ID, Email: v.Email, Admin: true,
		RequestID: web.RequestID(r.Context())}, true
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, a, &tenantapps.Form{Audience: store.AudienceSingle}, nil)
}

// maxBody bounds a form: a certificate upload and the fields.
const maxBody = 256 << 10

// parse reads a urlencoded or multipart form, in memory only.
func parse(w http.ResponseWriter, r *http.Request) (*tenantapps.Form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return nil, err
	}
	p := r.PostForm
	return &tenantapps.Form{DisplayName: p.Get("display_name"), ClientID: p.Get("client_id"),
		HomeTenantID: p.Get("home_tenant_id"), Audience: p.Get("audience"), Credential: p.Get("credential"),
		ClientSecret: p.Get("client_secret"), SecretExpires: p.Get("secret_expires"), CertPEM: p.Get("certificate_pem"),
		CertPassword: p.Get("certificate_password"), CertFile: uploaded(r, "certificate_file")}, nil
}

func uploaded(r *http.Request, name string) []byte {
	if r.MultipartForm == nil || len(r.MultipartForm.File[name]) == 0 {
		return nil
	}
	f, err := r.MultipartForm.File[name][0].Open()
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxBody))
	return b
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin(w, r)
	if !ok {
		return
	}
	f, err := parse(w, r)
	if err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return
	}
	app, err := h.Service.Create(r.Context(), a, f)
	switch {
	case errors.Is(err, tenantapps.ErrInvalid):
		h.render(w, r, http.StatusUnprocessableEntity, a, f, nil)
	case err != nil:
		h.ui.Fail(w, r, err)
	default:
		h.ui.SetFlash(w, "success", "“"+app.Label()+"” works: Microsoft issued it a token. Choose it for a project below, or on the New connection form.")
		web.SeeOther(w, r, Path)
	}
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin(w, r)
	if !ok {
		return
	}
	f, err := parse(w, r)
	if err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return
	}
	id := chi.URLParam(r, "id")
	app, err := h.Service.Rotate(r.Context(), a, id, f)
	switch {
	case errors.Is(err, tenantapps.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such app registration.")
	case errors.Is(err, tenantapps.ErrInvalid):
		h.render(w, r, http.StatusUnprocessableEntity, a, &tenantapps.Form{Audience: store.AudienceSingle},
			&rotation{AppID: id, Form: f})
	case err != nil:
		h.ui.Fail(w, r, err)
	default:
		h.ui.SetFlash(w, "success", "The new credential of “"+app.Label()+"” works; its connections refresh with it from now on. "+
			"You can delete the old one in the Azure portal.")
		web.SeeOther(w, r, Path)
	}
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin(w, r)
	if !ok {
		return
	}
	app, err := h.Service.Delete(r.Context(), a, chi.URLParam(r, "id"))
	switch {
	case errors.Is(err, tenantapps.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such app registration.")
	case errors.Is(err, tenantapps.ErrInUse):
		h.ui.ErrorPage(w, r, http.StatusConflict, "Connections use “"+app.Label()+"”, so it cannot be deleted: "+
			"their refresh tokens belong to it. Delete those connections first.")
	case err != nil:
		h.ui.Fail(w, r, err)
	default:
		h.ui.SetFlash(w, "success", "“"+app.Label()+"” was deleted. Projects that used it by default use the broker's app again.")
		web.SeeOther(w, r, Path)
	}
}

func (h *Handler) projectDefault(w http.ResponseWriter, r *http.Request) {
	a, ok := h.admin(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Go back and try again.")
		return
	}
	err := h.Service.SetProjectDefault(r.Context(), a, chi.URLParam(r, "project"), r.PostForm.Get("app"))
	switch {
	case errors.Is(err, tenantapps.ErrNotFound):
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such project or app registration.")
	case err != nil:
		h.ui.Fail(w, r, err)
	default:
		h.ui.SetFlash(w, "success", "Saved. New connections of the project sign in through the chosen app; existing ones keep theirs.")
		web.SeeOther(w, r, Path)
	}
}
