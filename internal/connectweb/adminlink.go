package connectweb

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// linkView is connect_link_created.html's data: the link, shown once.
type linkView struct {
	C       store.Connection
	URL     string
	Expires string
}

// adminLinkTTL: an admin sends the link by email or chat; a day to open it.
const adminLinkTTL = 24 * time.Hour

// reconnectLink serves POST /connections/{id}/connect-link: a tenant admin
// makes a reconnect link for a connection and sees it once, to send to the
// connection's end user. The session is for that end user (or, for a
// connection no connect link made, for its account), in its project.
func (h *Handler) reconnectLink(w http.ResponseWriter, r *http.Request) {
	v := web.Viewer(r.Context())
	if !v.IsAdmin() {
		h.ui.ErrorPage(w, r, http.StatusForbidden, "Only a tenant administrator can make reconnect links.")
		return
	}
	c, err := h.Service.Store.Connection(r.Context(), v.TenantID, chi.URLParam(r, "id"))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such connection.")
		return
	}
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	endUser := c.EndUser
	if endUser.ID == "" {
		endUser = store.EndUser{ID: "connection:" + c.ID, Email: c.AccountUsername}
	}
	ttl := int64(adminLinkTTL / time.Second)
	out, err := h.Service.Create(r.Context(), connect.Creator{TenantID: v.TenantID, UserID: v.ID, Label: v.Email, Admin: true,
		RequestID: web.RequestID(r.Context())}, connect.Request{Project: c.ProjectID,
		EndUser:               &connect.EndUserRequest{ID: endUser.ID, Email: endUser.Email, DisplayName: endUser.DisplayName},
		ReconnectConnectionID: c.ID, ExpiresIn: &ttl, Metadata: c.Metadata})
	var fe *connect.FieldError
	if errors.As(err, &fe) {
		h.ui.ErrorPage(w, r, http.StatusConflict, fe.Message)
		return
	}
	if err != nil {
		h.ui.Fail(w, r, err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.ui.Render(w, r, http.StatusOK, "connect_link_created.html", web.Page{Title: "Reconnect link",
		Data: linkView{C: c, URL: out.URL, Expires: out.Session.ExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC")}})
}
