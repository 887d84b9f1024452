package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// ObserveAPI wraps the service-to-service API, which is served outside the
// browser middleware: it gets request IDs, the security headers of machine
// answers (APIHeaders), the same route-labelled metrics as
// the pages, and an access log line. Successful requests log at debug level:
// the token endpoint answers tens of thousands of requests a second, and a
// line each would cost more than the answer; failures log at info.
func (s *Server) ObserveAPI(next http.Handler) http.Handler {
	return requestID(APIHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// chi reuses a route context it finds, so the pattern it matched is
		// readable here after the handler returns.
		rctx := chi.NewRouteContext()
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		route := rctx.RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.metrics.observe(r.Method, route, status, took)
		level := slog.LevelDebug
		if status >= 400 {
			level = slog.LevelInfo
		}
		if s.logger.Enabled(r.Context(), level) {
			s.logger.Log(r.Context(), level, "api request", "method", r.Method, "route", route, "path", r.URL.Path,
				"status", status, "duration_ms", float64(took.Microseconds())/1000, "request_id", RequestID(r.Context()))
		}
	})))
}
