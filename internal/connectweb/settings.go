package connectweb

import (
	"errors"
	"net/http"
	"strings"

	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// SettingsPath is the tenant admin's Connect links settings page.
const SettingsPath = "/settings/connect"

// settingsForm is connect_settings.html's form: the values as typed (kept
// on a refusal) and the errors per field, keyed like connect.FieldError.
type settingsForm struct {
	web.Form
	DisplayName, LogoURL, Color, Origins string
}

// settingsView is connect_settings.html's data; TenantName is what the
// connect page shows when no display name is set.
type settingsView struct {
	Form       settingsForm
	TenantName string
}

func formOf(cs store.ConnectSettings) settingsForm {
	return settingsForm{DisplayName: cs.DisplayName, LogoURL: cs.LogoURL, Color: cs.BrandColor,
		Origins: strings.Join(cs.AllowedReturnOrigins, "\n")}
}

// settingsAdmin is the viewer as a settings changer; false after a 403:
// the settings are the tenant's, so operators (no tenant) and members may
// not open them.
func (h *Handler) settingsAdmin(w http.ResponseWriter, r *http.Request) (connect.Creator, bool) {
	v := web.Viewer(r.Context())
	if !v.IsAdmin() {
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Only an administrator of your tenant can change connect link settings.")
		return connect.Creator{}, false
	}
	return connect.Creator{TenantID: v.TenantID, UserID: v.ID, Label: v.Email, Admin: true,
		RequestID: web.RequestID(r.Context())}, true
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	by, ok := h.settingsAdmin(w, r)
	if !ok {
		return
	}
	cs, err := h.Service.Store.ConnectSettings(r.Context(), by.TenantID)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	h.renderSettings(w, r, http.StatusOK, by, formOf(cs))
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, by connect.Creator, f settingsForm) {
	t, err := h.Service.Store.Tenant(r.Context(), by.TenantID)
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	h.ui.Render(w, r, status, "connect_settings.html", web.Page{Title: "Connect links",
		Data: settingsView{Form: f, TenantName: t.Name}})
}

// saveSettings stores the form whole, with the validation the CLI uses;
// any problem re-renders the form with 422, its values kept, nothing saved.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	by, ok := h.settingsAdmin(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		h.ui.ErrorPage(w, r, http.StatusBadRequest, "The form could not be read. Please try again.")
		return
	}
	f := settingsForm{DisplayName: r.PostForm.Get("display_name"), LogoURL: r.PostForm.Get("logo_url"),
		Color: r.PostForm.Get("color"), Origins: r.PostForm.Get("allowed_return_origins")}
	_, problems, err := h.Service.SaveSettings(r.Context(), by, store.ConnectSettings{DisplayName: f.DisplayName,
		LogoURL: f.LogoURL, BrandColor: f.Color, AllowedReturnOrigins: strings.Split(f.Origins, "\n")})
	if errors.Is(err, connect.ErrNotAdmin) {
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Only an administrator of your tenant can change connect link settings.")
		return
	}
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	if len(problems) > 0 {
		for _, p := range problems {
			f.Check(false, p.Field, p.Message)
		}
		h.renderSettings(w, r, http.StatusUnprocessableEntity, by, f)
		return
	}
	h.ui.SetFlash(w, "success", "Connect link settings saved. New and open connect links use them from now on.")
	web.SeeOther(w, r, SettingsPath)
}
