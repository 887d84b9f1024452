package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// securityHeaders returns middleware setting the headers every response
// carries. The CSP allows no inline script or style at all, and forms post
// to this origin only: form-action 'self', no identity provider host. Chrome
// checks form-action on every redirect after a post until a page renders,
// and Microsoft's sign-in moves on to hosts nobody can list (login.live.com,
// a federated organisation's AD FS), so "Sign in with Microsoft" answers its
// post with a page of ours that navigates on (connweb/handoff.go) rather
// than widening this list.
func securityHeaders(https bool) func(http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "same-origin") // a handler may tighten it (the OAuth callback: no-referrer)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if https {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// crossOrigin rejects unsafe (POST, PUT, DELETE…) browser requests coming
// from another origin, by Sec-Fetch-Site or, for older browsers, Origin
// against Host. The public URL's origin is trusted for deployments behind a
// proxy that rewrites Host. It wraps only the browser area: the /api/ area
// authenticates with bearer keys, which a cross-site page cannot attach.
func (ui *UI) crossOrigin(publicOrigin string) (func(http.Handler) http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(publicOrigin); err != nil {
		return nil, fmt.Errorf("web: trust public origin: %w", err)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ui.Log(r).Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		ui.ErrorPage(w, r, http.StatusForbidden,
			"This form was sent from another site, so the broker refused it. Open the broker directly and try again.")
	}))
	return cop.Handler, nil
}

// publicURL is BROKER_PUBLIC_URL taken apart. Plain HTTP is only for a
// developer's own machine, where Secure cookies would not be sent back.
type publicURL struct {
	origin string
	https  bool
}

func parsePublicURL(raw string) (publicURL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return publicURL{}, fmt.Errorf("web: BROKER_PUBLIC_URL must be an absolute http(s) URL")
	}
	if u.Scheme == "http" {
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
		default:
			return publicURL{}, fmt.Errorf("web: BROKER_PUBLIC_URL must use https unless it is localhost")
		}
	}
	return publicURL{origin: u.Scheme + "://" + u.Host, https: u.Scheme == "https"}, nil
}
