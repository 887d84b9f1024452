package api

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// TokenRoute is the token endpoint's route pattern under /api/v1, the
// metrics' and the access log's route label.
const TokenRoute = "/api/v1/connections/{id}/token"

// tokenPatterns is what chi's route context holds after matching the token
// route directly (full slice: an append copies).
var tokenPatterns = []string{TokenRoute}[:1:1]

// TokenFirst serves GET /api/v1/connections/{id}/token itself and passes
// everything else to next, the /api/v1 chi router. The token fetch is the
// one hot route: matched here it skips two levels of chi routing (their
// pattern joins and path values), and is answered by the same handler with
// the same route label. It needs the route context web.ObserveAPI provides
// (without one, or for an escaped path, chi routes as before).
func (h *Handler) TokenFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawPath == "" {
			if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath == "" && len(rctx.RoutePatterns) == 0 {
				if id, ok := tokenPathID(r.URL.Path); ok {
					rctx.RoutePatterns = tokenPatterns
					h.serveToken(w, r, id)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// tokenPathID is {id} when path is the token route's: one non-empty
// segment, as chi would match it.
func tokenPathID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/v1/connections/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/token")
	if !ok || id == "" || strings.IndexByte(id, '/') >= 0 {
		return "", false
	}
	return id, true
}
