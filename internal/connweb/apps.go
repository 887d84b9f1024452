package connweb

import (
	"net/http"

	"github.com/brokerhq/broker/internal/connections"
)

// appOptions lists the New connection form's "Sign in through" choices: the
// project's default, the broker's own app, and each of the tenant's own app
// registrations (internal/tenantapps). None when the tenant has none.
func (h *Handler) appOptions(r *http.Request, tenantID string, f *connections.Form, projects []connections.Project) []option {
	apps, err := h.Service.Store.AppRegistrations(r.Context(), tenantID)
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "connweb: list app registrations", "err", err)
		return nil
	}
	if len(apps) == 0 {
		return nil
	}
	def := "the broker's app"
	for _, p := range projects {
		if p.ID != f.ProjectID || p.AppID == "" {
			continue
		}
		for _, a := range apps {
			if a.ID == p.AppID {
				def = a.Label()
			}
		}
	}
	out := []option{{Value: "", Label: "The project's default (" + def + ")", Selected: f.App == ""},
		{Value: connections.AppBroker, Label: "The broker's app", Selected: f.App == connections.AppBroker}}
	for _, a := range apps {
		label := a.Label()
		if a.DisplayName != "" {
			label += " (" + a.ClientID + ")"
		}
		if a.Failing() {
			label += " — failing: " + a.FailureCode
		}
		out = append(out, option{Value: a.ID, Label: label, Selected: f.App == a.ID})
	}
	return out
}
