package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// ObserveAPI wraps the service-to-service API, which is served outside the
// browser middleware: it gets request IDs, the security headers of machine
// answers (APIHeaders), the same route-labelled metrics as
// the pages, and an access log line. Successful requests log at debug level:
// the token endpoint answers tens of thousands of requests a second, and a
// line each would cost more than the answer; failures log at info.
//
// It is the token endpoint's hot path, so what it keeps per request (the
// request ID and its header value, chi's route context, the status writer,
// and the context carrying them) is one allocation, and the request is
// copied once (issue 17; docs/benchmarks.md, "Profile of the warm path").
func (s *Server) ObserveAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		a := &apiRequest{Context: r.Context(), sw: statusWriter{ResponseWriter: w}}
		a.id = incomingRequestID(r)
		a.idHeader[0] = a.id
		h := w.Header()
		h["X-Request-Id"] = a.idHeader[:]
		for _, kv := range apiHeaderKV {
			h[kv.k] = kv.v
		}
		// chi uses a route context it finds instead of making its own, so the
		// pattern it matched is readable here after the handler returns.
		r = r.WithContext(a)
		next.ServeHTTP(&a.sw, r)
		status := a.sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := a.rctx.RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.metrics.observe(r.Method, route, status, took)
		level := slog.LevelDebug
		if status >= 400 {
			level = slog.LevelInfo
		}
		if s.logger.Enabled(a, level) {
			s.logger.Log(a, level, "api request", "method", r.Method, "route", route, "path", r.URL.Path,
				"status", status, "duration_ms", float64(took.Microseconds())/1000, "request_id", a.id)
		}
	})
}

// apiRequest is ObserveAPI's per-request state, and the request's context:
// it answers chi's route context key and the request ID key itself, and
// asks its parent for anything else.
type apiRequest struct {
	context.Context
	id       string
	idHeader [1]string // the X-Request-ID header's value slice
	rctx     chi.Context
	sw       statusWriter
}

func (a *apiRequest) Value(key any) any {
	switch key {
	case chi.RouteCtxKey:
		return &a.rctx
	case requestIDKey:
		return a.id
	}
	return a.Context.Value(key)
}

// statusWriter remembers the status written. Unwrap lets
// http.ResponseController reach the connection's writer (deadlines,
// hijacking); Flush is there for callers that assert http.Flusher.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the status is still to come
		return
	}
	if w.status != 0 {
		return // as chi's writer did: a second WriteHeader is dropped, not logged by net/http
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
