package web

import (
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// The connect cookie binds a connect link to the first browser that opens
// it (internal/connect): signed and encrypted with keys of its own purpose,
// HttpOnly, SameSite=Lax so it comes back with Microsoft's redirect to
// /oauth/callback. It holds a value the handler chooses (connect.Binding).

// ConnectCookieTTL outlives the longest link (24 hours) and its sign-in.
const ConnectCookieTTL = 25 * time.Hour

func (c cookieSpec) connectName() string {
	if c.secure {
		return "__Host-broker_connect"
	}
	return "broker_connect"
}

// SetConnectCookie stores v in the browser's connect cookie.
func (ui *UI) SetConnectCookie(w http.ResponseWriter, v any) error {
	name := ui.sessions.cookie.connectName()
	enc, err := securecookie.EncodeMulti(name, v, ui.connect...)
	if err != nil {
		return err
	}
	http.SetCookie(w, ui.sessions.cookie.make(name, enc, ConnectCookieTTL))
	return nil
}

// ConnectCookie decodes the browser's connect cookie into v; false when it
// has none, or one that does not verify.
func (ui *UI) ConnectCookie(r *http.Request, v any) bool {
	name := ui.sessions.cookie.connectName()
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	return securecookie.DecodeMulti(name, c.Value, v, ui.connect...) == nil
}
