package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/graphproxy"
	"github.com/brokerhq/broker/internal/problem"
)

// graphMethods are the methods the Graph proxy forwards.
var graphMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// The proxy's own problem codes, added to the API's catalog.
var graphProblems = problem.Catalog{
	graphproxy.CodeDenied:   {Status: http.StatusForbidden, Title: "The project's Graph policy does not allow the request"},
	graphproxy.CodeTooLarge: {Status: http.StatusRequestEntityTooLarge, Title: "The request body is too large"},
	graphproxy.CodeBusy:     {Status: http.StatusTooManyRequests, Title: "Too many Graph requests in flight for this connection"},
}

func init() {
	for code, t := range graphProblems {
		problemTypes[code] = t
	}
}

// graphRoutes registers ANY /connections/{id}/graph/* (the methods Graph
// takes), when the handler has a proxy.
func (h *Handler) graphRoutes(r chi.Router) {
	for _, m := range graphMethods {
		r.MethodFunc(m, "/connections/{id}/graph/*", h.graph)
	}
}

// graph serves /connections/{id}/graph/{path...}: the request goes on to
// Microsoft Graph with the connection's token; the key's tenant and project
// rules are the token endpoint's.
func (h *Handler) graph(w http.ResponseWriter, r *http.Request) {
	key := h.authenticate(w, r, h.Now())
	if key == nil {
		return
	}
	id, ok := connectionID(w, r)
	if !ok {
		return
	}
	if h.Graph == nil {
		writeProblem(w, "not_found", "This broker does not proxy Graph.", 0)
		return
	}
	// The escaped path from the version on, as the caller wrote it.
	_, path, _ := strings.Cut(r.URL.EscapedPath(), "/connections/"+chi.URLParam(r, "id")+"/graph")
	h.Graph.Serve(w, r, graphproxy.Call{TenantID: key.TenantID, KeyID: key.ID, ProjectIDs: key.ProjectIDs,
		ConnID: id, Path: path})
}

// WriteGraphRefusal writes the proxy's own answers in the API's problem
// format: graphproxy.Options.Refuse.
func WriteGraphRefusal(w http.ResponseWriter, ref *graphproxy.Refusal) {
	if ref.Token != nil {
		writeTokenError(w, ref.Token)
		return
	}
	writeProblem(w, ref.Code, ref.Detail, ref.RetryAfter)
}
