package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// RequestID returns the request's ID, as sent back in X-Request-ID.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// requestID keeps an X-Request-ID set by a proxy in front when it is short
// and plain (it goes into logs verbatim), and makes one up otherwise.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := incomingRequestID(r)
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// incomingRequestID is the proxy's X-Request-ID when plain, else a new one.
func incomingRequestID(r *http.Request) string {
	// The canonical key, read directly: Get would canonicalize
	// "X-Request-ID" into a new string on every request.
	if v := r.Header["X-Request-Id"]; len(v) > 0 && plainID(v[0]) {
		return v[0]
	}
	var b [12]byte
	rand.Read(b[:])
	var s [24]byte
	hex.Encode(s[:], b[:])
	return string(s[:])
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// observe logs one line per request and feeds the metrics. It logs the path
// but never the query string, where a careless client might put a secret,
// and labels metrics by route pattern so IDs do not explode cardinality.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now() // wall time on purpose: the injected clock is for expiry logic
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			took := time.Since(start)
			s.metrics.observe(r.Method, route, status, took)
			level := slog.LevelInfo
			if route == "/healthz" || route == "/readyz" {
				level = slog.LevelDebug
			}
			s.logger.Log(r.Context(), level, "http request", "method", r.Method, "route", route, "path", loggedPath(r, route),
				"status", status, "bytes", ww.BytesWritten(), "duration_ms", float64(took.Microseconds())/1000,
				"request_id", RequestID(r.Context()))
		}()
		next.ServeHTTP(ww, r)
	})
}

// recoverer turns a panic into a logged 500 page instead of a dropped
// connection. http.ErrAbortHandler is the deliberate way to drop one.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.ui.Log(r).Error("panic serving request", "method", r.Method, "path", loggedPath(r, chi.RouteContext(r.Context()).RoutePattern()), "panic", panicText(v))
				s.ui.ErrorPage(w, r, http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func panicText(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	default:
		return strconv.Quote(slog.AnyValue(v).String())
	}
}

// loggedPath is the path to log: the route pattern instead where the path
// itself is a credential (a connect link's /connect/{token}).
func loggedPath(r *http.Request, route string) string {
	if strings.Contains(route, "{token}") {
		return route
	}
	return r.URL.Path
}
