package adminweb

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
)

// confirmView is admin_confirm.html's data. The client secret is never put back.
type confirmView struct {
	web.Form
	C             store.Connection
	Href          string // the connection's page
	Action        admin.Action
	Post          string // where the form posts
	StatusLabel   string
	Account       string
	Heading       string
	Explain       []string
	Danger        bool
	NeedsReason   bool
	NeedPassword  bool
	Reason        string
	SecretExpires string
}

// explanations say what an action does, before it is done.
var explanations = map[admin.Action][]string{
	admin.ActTest: {"Step 1: the broker asks Microsoft for a new token with the stored refresh token (client credentials: with the stored client secret), which proves the grant still stands, not just a cached token.",
		"Step 2: it calls Microsoft Graph with that token. If Microsoft refuses, the connection's status says why (e.g. Needs re-authorization); a broken connection that passes becomes active again."},
	admin.ActDisable: {"Callers get connection_disabled (409) on their next token request, on every broker replica, until an administrator enables it again.",
		"Its credentials are kept, so enabling it needs no new sign-in."},
	admin.ActEnable: {"The connection returns to the status it had before it was disabled, and callers can fetch its tokens again if that status allows."},
	admin.ActDelete: {"The connection and its stored credentials (refresh token, access token, client secret) are deleted now. Callers get 404 connection_not_found.",
		"Its audit trail stays. This cannot be undone: a new connection needs a new sign-in."},
	admin.ActRotate: {"Enter the new secret's Value from Certificates & secrets of the app registration. The broker first proves it works: a token from Microsoft, then the configured user's inbox.",
		"Only then does it replace the stored secret. If the check fails, nothing changes and the old secret stays in use."},
	admin.ActApprove: {"Callers can fetch this connection's tokens as soon as it is approved."},
	admin.ActReject: {"The connection's credentials are deleted now and it stays disabled, with your reason shown on its page. Callers get connection_disabled.",
		"Whoever set it up can create a new one."},
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	v, wv, ok := viewerOf(r)
	if !ok {
		return
	}
	a, known := admin.ParseAction(chi.URLParam(r, "action"))
	c, err := h.Service.Connection(r.Context(), v, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !known {
		h.ui.ErrorPage(w, r, http.StatusNotFound, "There is no such action.")
		return
	}
	if e := admin.Check(v, c, a); e != nil {
		h.fail(w, r, e)
		return
	}
	if a.Destructive() && h.askMicrosoft(w, r, wv, r.URL.Path) {
		return
	}
	h.renderConfirm(w, r, http.StatusOK, h.confirmView(wv, c, a))
}

func (h *Handler) confirmView(wv *web.ViewerInfo, c store.Connection, a admin.Action) confirmView {
	cv := confirmView{C: c, Href: connectionHref(c.ID), Action: a, Post: connectionHref(c.ID) + "/" + string(a),
		StatusLabel: admin.StatusLabel(c.Status), Account: c.AccountUsername, Explain: explanations[a],
		Danger: Dangerous(a), NeedsReason: a.NeedsReason(),
		NeedPassword: a.Destructive() && h.needPassword(wv)}
	if cv.Account == "" {
		cv.Account = c.UserPrincipal
	}
	cv.Heading = a.Label() + ": " + c.Name
	if a == admin.ActTest {
		cv.Heading = "Test " + c.Name
	}
	return cv
}

func (h *Handler) renderConfirm(w http.ResponseWriter, r *http.Request, status int, cv confirmView) {
	h.ui.Render(w, r, status, "admin_confirm.html", web.Page{Title: cv.Action.Label(), Data: cv})
}

// act serves POST /connections/{id}/{action}.
func (h *Handler) act(a admin.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, wv, ok := viewerOf(r)
		if !ok || !h.parseForm(w, r) {
			return
		}
		ctx := r.Context()
		c, err := h.Service.Connection(ctx, v, chi.URLParam(r, "id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if e := admin.Check(v, c, a); e != nil {
			h.fail(w, r, e)
			return
		}
		in := admin.Input{Reason: r.PostForm.Get("reason"), ClientSecret: r.PostForm.Get("client_secret"),
			SecretExpires: strings.TrimSpace(r.PostForm.Get("secret_expires")), CertPEM: r.PostForm.Get("certificate_pem")}
		if a.Destructive() && h.askMicrosoft(w, r, wv, connectionHref(c.ID)+"/confirm/"+string(a)) {
			return
		}
		cv := h.confirmView(wv, c, a)
		cv.Reason, cv.SecretExpires = strings.TrimSpace(in.Reason), in.SecretExpires
		if cv.NeedPassword && !h.reauthenticate(w, r, wv, &cv.Form) {
			h.renderConfirm(w, r, reauthStatus(cv.Form), cv)
			return
		}
		cv.NeedPassword = false
		out, err := h.Service.Do(ctx, v, c.ID, a, in)
		if e, ok := admin.AsError(err); ok && (e.Code == admin.CodeInvalid || e.Code == admin.CodeUpstream) {
			if e.Field != "" {
				cv.Check(false, e.Field, e.Message)
			} else {
				cv.FormError = e.Message
			}
			h.renderConfirm(w, r, http.StatusUnprocessableEntity, cv)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		kind := "success"
		if out.Test != nil && !out.Test.OK {
			kind = "error"
		}
		h.ui.SetFlash(w, kind, out.Message)
		if a == admin.ActDelete {
			web.SeeOther(w, r, "/connections")
			return
		}
		web.SeeOther(w, r, connectionHref(c.ID))
	}
}

// reauthenticate checks the password typed on a confirmation form and, if
// it is right, records a fresh sign-in on the session. false means f says why.
func (h *Handler) reauthenticate(w http.ResponseWriter, r *http.Request, wv *web.ViewerInfo, f *web.Form) bool {
	password := r.PostForm.Get("password")
	if password == "" {
		f.Check(false, "password", "Enter your password: you last entered it more than 15 minutes ago.")
		return false
	}
	v, _, _ := viewerOf(r)
	ok, wait, err := h.Service.CheckPassword(r.Context(), v, password, clientAddr(r))
	switch {
	case err != nil:
		h.ui.Log(r).Error("re-authentication", "err", err)
		f.FormError = "Your password could not be checked just now. Try again in a moment."
		return false
	case wait > 0:
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		f.FormError = "Too many wrong passwords. For your security, wait a few minutes before trying again."
		return false
	case !ok:
		f.Check(false, "password", "That password is wrong.")
		return false
	}
	if err := h.ui.Sessions().MarkReauthenticated(r.Context(), wv.Session); err != nil {
		h.ui.Log(r).Error("record re-authentication", "err", err)
	}
	return true
}

func reauthStatus(f web.Form) int {
	if strings.HasPrefix(f.FormError, "Too many") {
		return http.StatusTooManyRequests
	}
	return http.StatusUnprocessableEntity
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
