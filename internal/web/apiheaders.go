package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Header values for machine answers (the /api/ area and /metrics), built
// once: the token endpoint sets them on every answer without allocating.
var (
	apiCSP      = []string{"default-src 'none'; frame-ancestors 'none'"}
	nosniff     = []string{"nosniff"}
	denyFrames  = []string{"DENY"}
	noStore     = []string{"no-store"}
	noReferrer  = []string{"no-referrer"}
	sameOrigin  = []string{"same-origin"}
	apiHeaderKV = []struct {
		k string
		v []string
	}{
		{"Content-Security-Policy", apiCSP},
		{"X-Content-Type-Options", nosniff},
		{"X-Frame-Options", denyFrames},
		{"Referrer-Policy", noReferrer},
		{"Cross-Origin-Resource-Policy", sameOrigin},
		// Tokens, keys and tenant data: never in a shared or browser cache.
		// A handler whose answer is public may say otherwise.
		{"Cache-Control", noStore},
	}
)

// APIHeaders sets the security headers of a machine answer: not sniffed
// into HTML, never framed, never cached. The pages get theirs from
// securityHeaders; the /api/ area and /metrics are outside that middleware.
func APIHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range apiHeaderKV {
			h[kv.k] = kv.v
		}
		next.ServeHTTP(w, r)
	})
}

// RequireBearer serves next only to requests carrying Authorization:
// Bearer token (compared in constant time); others get 401.
func RequireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
