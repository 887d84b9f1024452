package connweb

import (
	"net/http"

	"github.com/brokerhq/broker/internal/web"
)

// handoffView is the page that takes the browser on to Microsoft.
type handoffView struct{ URL string }

// toMicrosoft answers a form post ("Sign in with Microsoft", Reconnect,
// Request admin consent, Try again) with a tiny page of our own that moves
// on to Microsoft, instead of redirecting there.
//
// Why a page: Chrome and Safari check the posting page's CSP form-action on
// every redirect that follows a form submission, until a page renders
// (w3c/webappsec-csp issue 8;
// https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy/form-action).
// Microsoft's authorize endpoint redirects on by itself: /consumers (and a
// personal account on /common) to the Microsoft account host
// (login.live.com), a federated organisation to its own identity provider
// (AD FS, Okta, … hosts nobody can list in advance). We checked in Chromium
// 156 that a POST answered with 303 to Microsoft, and a POST answered with
// 303 to a GET of our own that answers 302 to Microsoft, are both still one
// form-submission chain: every hop off the allowed list is blocked and the
// person is left on the form. Navigation that starts from a rendered page
// (meta refresh, a link) is not a form submission, so the chain after it is
// not checked, and no CSP directive governs plain navigation.
//
// So form-action stays 'self' and nothing else: no page of ours can post a
// form to any other origin, Microsoft included. The page renders, then a
// meta refresh (no script needed) goes to Microsoft's authorize URL; the
// link is there for a browser that ignores refresh. Chrome treats a
// zero-delay refresh as a client redirect that replaces the history entry,
// so Back from Microsoft returns to the form, not to this page. The page
// is sent with the usual no-store and Referrer-Policy same-origin, so
// Microsoft sees no referrer.
func (h *Handler) toMicrosoft(w http.ResponseWriter, r *http.Request, to string) {
	h.ui.Render(w, r, http.StatusOK, "signin_handoff.html", web.Page{Title: "Continuing to Microsoft", Data: handoffView{URL: to}})
}
