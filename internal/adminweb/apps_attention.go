package adminweb

import (
	"net/http"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/web"
)

// appAttention is one item per tenant app registration Microsoft refuses
// (internal/tenantapps): a tenant-wide condition shown once, not as each of
// its connections broken. For the tenant's admins, who can rotate it.
func (h *Handler) appAttention(r *http.Request, v admin.Viewer) []web.Attention {
	if !v.TenantAdmin() {
		return nil
	}
	apps, err := h.Service.Store.AppRegistrations(r.Context(), v.TenantID)
	if err != nil {
		h.Service.Logger.Warn("home: app registrations", "err", err)
		return nil
	}
	var out []web.Attention
	for _, a := range apps {
		if !a.Failing() {
			continue
		}
		out = append(out, web.Attention{Count: 1, Noun: "app registration", Text: "“" + a.Label() + "” is refused by Microsoft (" + a.FailureCode + ")",
			Hint: plural(a.Connections, "Its connection waits", "Its connections wait") + " without being marked broken; rotate its credential.",
			Href: "/settings/apps", Level: "alert"})
	}
	return out
}
