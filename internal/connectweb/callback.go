package connectweb

import (
	"errors"
	"net/http"

	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/web"
)

// Callback finishes at /oauth/callback a sign-in started on a connect page,
// and lands on the connect result page. It returns false, having written
// nothing, when the browser holds no pending connect session, or when the
// callback is not that session's while the browser also has a broker login
// (whose own sign-in it then may be): connweb's callback answers then.
func (h *Handler) Callback(w http.ResponseWriter, r *http.Request, params connections.CallbackParams) bool {
	var b connect.Binding
	if !h.ui.ConnectCookie(r, &b) {
		return false
	}
	cs, ok, err := h.Service.Bound(r.Context(), b)
	if err != nil {
		h.ui.Fail(w, r, err)
		return true
	}
	if !ok {
		return false
	}
	res, err := h.Service.Complete(r.Context(), cs, b, web.RequestID(r.Context()), params)
	var prob *connections.Problem
	if errors.As(err, &prob) && prob.Kind == connections.ProblemState && web.Viewer(r.Context()) != nil {
		return false
	}
	if err != nil && prob == nil {
		h.ui.Fail(w, r, err)
		return true
	}
	p, perr := h.Service.PageOf(r.Context(), cs)
	if perr != nil {
		h.ui.Fail(w, r, perr)
		return true
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case prob != nil && (prob.Kind == connections.ProblemState || prob.Kind == connections.ProblemSession):
		// Not this session's sign-in: nothing changed, the link still works.
		h.status(w, r, http.StatusBadRequest, statusView{Kind: "refused", Brand: brandOf(p), Reason: prob.Message})
	case prob != nil:
		h.ui.Log(r).Info("connect sign-in refused", "connect_session", cs.ID, "kind", prob.Kind, "code", prob.Code,
			"trace_id", prob.TraceID, "err", err)
		h.result(w, r, p, "failed", "", prob.Title+". "+prob.Message)
	default:
		h.result(w, r, p, "completed", res.Connection.ID, "")
	}
	return true
}
