package connweb

import (
	"errors"
	"net/http"
	"strings"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/web"
)

// callbackView is callback_error.html's data.
type callbackView struct {
	P *connections.Problem
}

// Retry tells whether "Sign in with Microsoft" again makes sense here.
func (v callbackView) Retry() bool {
	if v.P.Connection == nil || v.P.Connection.AuthType != string(connections.AuthCode) {
		return false
	}
	switch v.P.Kind {
	case connections.ProblemState, connections.ProblemSession, connections.ProblemGone:
		return false
	}
	return true
}

// Consent tells whether to show the admin consent help.
func (v callbackView) Consent() bool {
	return v.P.Kind == connections.ProblemConsent && v.P.Connection != nil && v.P.CanAdminConsent
}

// SupportOpen unfolds the codes where support will need them: Microsoft
// or Graph failed, rather than the person choosing something.
func (v callbackView) SupportOpen() bool {
	switch v.P.Kind {
	case connections.ProblemMicrosoft, connections.ProblemGraph, connections.ProblemVerify, connections.ProblemRestart, connections.ProblemAdmin:
		return true
	}
	return false
}

// callback is /oauth/callback. It never shows the code or a token, sends no
// Referer onward (the URL holds the code), and is never cached.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	params := connections.CallbackParams{
		State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		AdminConsent: q.Get("admin_consent"), Issuer: q.Get("iss")}
	if h.Connect != nil && h.Connect.Callback(w, r, params) {
		return // a sign-in from a connect page (internal/connectweb)
	}
	a, signedIn := actor(r)
	res, err := h.Service.Complete(r.Context(), a, signedIn, params)
	var prob *connections.Problem
	switch {
	case errors.As(err, &prob):
		h.ui.Log(r).Info("oauth callback refused", "kind", prob.Kind, "code", prob.Code, "trace_id", prob.TraceID, "err", err)
		h.ui.Render(w, r, problemStatus(prob.Kind), "callback_error.html", web.Page{Title: prob.Title, Data: callbackView{P: prob}})
	case err != nil:
		h.ui.Fail(w, r, err)
	case res.Kind == connections.ResultForwardedConsent:
		h.ui.Render(w, r, http.StatusOK, "callback_consent.html", web.Page{Title: "Admin consent granted"})
	case res.Kind == connections.ResultAdminConsent:
		h.ui.SetFlash(w, "success", "An administrator granted consent. Sign in with Microsoft again to finish the connection.")
		web.SeeOther(w, r, "/connections/"+res.Connection.ID)
	default:
		msg := "Connected as " + res.Connection.AccountUsername + "."
		if res.Kind == connections.ResultReconnected {
			msg = "Reconnected as " + res.Connection.AccountUsername + ". API consumers keep using the same connection."
		}
		kind := "success"
		if len(res.Missing) > 0 {
			kind = "info"
			msg += " Microsoft granted fewer permissions than requested; missing: " + strings.Join(res.Missing, ", ") + "."
		}
		if len(res.Personal) > 0 {
			msg += " " + connections.PersonalNote(res.Personal)
		}
		h.ui.SetFlash(w, kind, msg)
		web.SeeOther(w, r, "/connections/"+res.Connection.ID)
	}
}

func problemStatus(k connections.ProblemKind) int {
	switch k {
	case connections.ProblemState, connections.ProblemVerify, connections.ProblemSession:
		return http.StatusBadRequest
	case connections.ProblemGone:
		return http.StatusNotFound
	}
	return http.StatusOK
}
