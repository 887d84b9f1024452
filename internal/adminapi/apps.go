package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tenantapps"
)

// appRoutes registers /api/v1/admin/app-registrations: the tenant's own
// app registrations (docs/tenant-apps.md), for an admin key that covers
// every project. Secrets go in and never come out.
func (h *Handler) appRoutes(r chi.Router) {
	r.Get("/app-registrations", h.listApps)
	r.Post("/app-registrations", h.createApp)
	r.Post("/app-registrations/{id}/rotate-credential", h.rotateApp)
	r.Delete("/app-registrations/{id}", h.deleteApp)
}

// appActor is the key as a tenant admin, or false after an answer.
func (h *Handler) appActor(w http.ResponseWriter, r *http.Request) (tenantapps.Actor, bool) {
	v, ok := h.viewer(w, r)
	if !ok {
		return tenantapps.Actor{}, false
	}
	if h.Apps == nil {
		writeProblem(w, "not_found", "App registrations are not enabled on this broker.")
		return tenantapps.Actor{}, false
	}
	if !v.TenantAdmin() || !v.AllProjects {
		writeProblem(w, "forbidden", "App registrations are managed with a tenant admin key that covers every project.")
		return tenantapps.Actor{}, false
	}
	return tenantapps.Actor{TenantID: v.TenantID, APIKeyID: v.ID, Email: v.Label, Admin: true, RequestID: v.RequestID}, true
}

type appJSON struct {
	ID                  string     `json:"id"`
	ClientID            string     `json:"client_id"`
	HomeTenantID        string     `json:"home_tenant_id"`
	Audience            string     `json:"audience"`
	DisplayName         string     `json:"display_name"`
	Credential          string     `json:"credential"` // "secret" or "certificate"
	CertThumbprint      string     `json:"certificate_thumbprint,omitempty"`
	CredentialExpiresAt *time.Time `json:"credential_expires_at,omitempty"`
	VerifiedAt          time.Time  `json:"verified_at"`
	FailureCode         string     `json:"failure_code,omitempty"`
	FailureSummary      string     `json:"failure_summary,omitempty"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	Connections         int        `json:"connections"`
	DefaultOf           []string   `json:"default_of_projects"`
	CreatedAt           time.Time  `json:"created_at"`
}

func toAppJSON(a store.AppRegistration) appJSON {
	kind := "secret"
	if a.CertThumbprint != "" {
		kind = "certificate"
	}
	projects := a.Projects
	if projects == nil {
		projects = []string{}
	}
	return appJSON{ID: a.ID, ClientID: a.ClientID, HomeTenantID: a.HomeTenantID, Audience: a.Audience, DisplayName: a.DisplayName,
		Credential: kind, CertThumbprint: a.CertThumbprint, CredentialExpiresAt: a.CredentialExpiresAt, VerifiedAt: a.VerifiedAt,
		FailureCode: a.FailureCode, FailureSummary: a.FailureSummary, FailingSince: a.FailingSince, Connections: a.Connections,
		DefaultOf: projects, CreatedAt: a.CreatedAt}
}

// appBody is the JSON of create and rotate-credential.
type appBody struct {
	DisplayName    string `json:"display_name"`
	ClientID       string `json:"client_id"`
	HomeTenantID   string `json:"home_tenant_id"`
	Audience       string `json:"audience"`
	ClientSecret   string `json:"client_secret"`
	SecretExpires  string `json:"secret_expires"`  // YYYY-MM-DD, optional
	CertificatePEM string `json:"certificate_pem"` // private key and certificate, instead of a secret
}

func (b appBody) form() *tenantapps.Form {
	f := &tenantapps.Form{DisplayName: b.DisplayName, ClientID: b.ClientID, HomeTenantID: b.HomeTenantID, Audience: b.Audience,
		ClientSecret: b.ClientSecret, SecretExpires: b.SecretExpires, CertPEM: b.CertificatePEM, Credential: "secret"}
	if b.CertificatePEM != "" {
		f.Credential = "certificate"
	}
	return f
}

func (h *Handler) decodeApp(w http.ResponseWriter, r *http.Request) (appBody, bool) {
	var b appBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 128<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeProblem(w, "invalid_request", "The body must be a JSON object with the documented fields.")
		return b, false
	}
	return b, true
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) {
	a, ok := h.appActor(w, r)
	if !ok {
		return
	}
	apps, err := h.Apps.List(r.Context(), a)
	if err != nil {
		h.appFail(w, r, err, nil)
		return
	}
	out := []appJSON{}
	for _, app := range apps {
		out = append(out, toAppJSON(app))
	}
	writeJSON(w, http.StatusOK, map[string]any{"app_registrations": out})
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) {
	a, ok := h.appActor(w, r)
	if !ok {
		return
	}
	b, ok := h.decodeApp(w, r)
	if !ok {
		return
	}
	f := b.form()
	app, err := h.Apps.Create(r.Context(), a, f)
	if err != nil {
		h.appFail(w, r, err, f)
		return
	}
	writeJSON(w, http.StatusCreated, toAppJSON(app))
}

func (h *Handler) rotateApp(w http.ResponseWriter, r *http.Request) {
	a, ok := h.appActor(w, r)
	if !ok {
		return
	}
	b, ok := h.decodeApp(w, r)
	if !ok {
		return
	}
	f := b.form()
	app, err := h.Apps.Rotate(r.Context(), a, chi.URLParam(r, "id"), f)
	if err != nil {
		h.appFail(w, r, err, f)
		return
	}
	writeJSON(w, http.StatusOK, toAppJSON(app))
}

func (h *Handler) deleteApp(w http.ResponseWriter, r *http.Request) {
	a, ok := h.appActor(w, r)
	if !ok {
		return
	}
	if _, err := h.Apps.Delete(r.Context(), a, chi.URLParam(r, "id")); err != nil {
		h.appFail(w, r, err, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appFail answers a refusal: the first field error of an invalid body
// (Microsoft's refusal included), or the sentinel's problem.
func (h *Handler) appFail(w http.ResponseWriter, r *http.Request, err error, f *tenantapps.Form) {
	switch {
	case errors.Is(err, tenantapps.ErrInvalid) && f != nil:
		for _, field := range []string{tenantapps.FieldDisplayName, tenantapps.FieldClientID, tenantapps.FieldHomeTenant,
			tenantapps.FieldAudience, tenantapps.FieldSecret, tenantapps.FieldExpires, tenantapps.FieldCertificate} {
			if msg := f.Errors[field]; msg != "" {
				writeProblemField(w, "invalid_input", msg, field)
				return
			}
		}
		writeProblem(w, "invalid_input", f.Errors[tenantapps.FieldForm])
	case errors.Is(err, tenantapps.ErrNotFound), errors.Is(err, store.ErrNotFound):
		writeProblem(w, "app_not_found", "There is no such app registration in this tenant.")
	case errors.Is(err, tenantapps.ErrInUse):
		writeProblem(w, "conflict", "Connections use this app registration: their refresh tokens belong to it. Delete them first.")
	case errors.Is(err, tenantapps.ErrNotAdmin):
		writeProblem(w, "forbidden", "Only a tenant admin may manage app registrations.")
	default:
		h.fail(w, r, err)
	}
}
