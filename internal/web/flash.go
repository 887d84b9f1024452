package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// Flash is a one-time message shown on the page after a redirect.
type Flash struct {
	Kind    string `json:"k"` // "success", "info" or "error"
	Message string `json:"m"`
}

// flashTTL is long enough to survive a slow redirect, short enough that a
// message never turns up on some unrelated later page.
const flashTTL = 2 * time.Minute

// SetFlash stores a message for the next rendered page, in a signed cookie
// so nothing else can plant text on our pages. Pair it with SeeOther.
func (ui *UI) SetFlash(w http.ResponseWriter, kind, message string) {
	if len(message) > 500 {
		message = message[:500]
	}
	v, err := securecookie.EncodeMulti(ui.sessions.cookie.flash, Flash{Kind: kind, Message: message}, ui.flashes...)
	if err != nil {
		ui.logger.Error("encode flash", "err", err)
		return
	}
	http.SetCookie(w, ui.sessions.cookie.make(ui.sessions.cookie.flash, v, flashTTL))
}

// loadFlash puts a pending flash into the context; Render shows and clears it.
func (ui *UI) loadFlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(ui.sessions.cookie.flash)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		var f Flash
		if err := securecookie.DecodeMulti(ui.sessions.cookie.flash, c.Value, &f, ui.flashes...); err != nil {
			ui.clearFlash(w)
			next.ServeHTTP(w, r)
			return
		}
		switch f.Kind {
		case "success", "info", "error":
		default:
			f.Kind = "info"
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), flashKey, &f)))
	})
}

func (ui *UI) clearFlash(w http.ResponseWriter) {
	http.SetCookie(w, ui.sessions.cookie.make(ui.sessions.cookie.flash, "", -1))
}
