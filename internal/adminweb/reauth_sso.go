package adminweb

import (
	"net/http"
	"net/url"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// needPassword: the session must confirm with a password before a
// destructive action (signed in with one, and longer ago than the window).
func (h *Handler) needPassword(wv *web.ViewerInfo) bool {
	return wv.Session.AuthMethod != store.AuthMicrosoft && !h.ui.Sessions().Reauthenticated(wv.Session)
}

// askMicrosoft sends a session that signed in with Microsoft, outside the
// re-authentication window, to Microsoft to enter its credentials again
// (prompt=login, max_age, auth_time checked: internal/sso), then back to
// back. true means the response is written.
func (h *Handler) askMicrosoft(w http.ResponseWriter, r *http.Request, wv *web.ViewerInfo, back string) bool {
	if wv.Session.AuthMethod != store.AuthMicrosoft || h.ui.Sessions().Reauthenticated(wv.Session) {
		return false
	}
	web.SeeOther(w, r, "/login/microsoft/reauth?next="+url.QueryEscape(back))
	return true
}
