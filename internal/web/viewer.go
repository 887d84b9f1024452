package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/brokerhq/broker/internal/store"
)

// ViewerInfo is the signed-in person: a tenant user or a platform operator.
// It copies what pages need and leaves the password hash behind, so no
// template can print it.
type ViewerInfo struct {
	Session    store.Session
	ID         string // user or operator ID
	Email      string
	IsOperator bool
	TenantID   string // empty for operators
	TenantName string
	TenantSlug string
	Role       string   // store.RoleAdmin or store.RoleMember; empty for operators
	ProjectIDs []string // a member's projects
}

// IsAdmin tells whether the viewer administers their tenant.
func (v *ViewerInfo) IsAdmin() bool { return v != nil && !v.IsOperator && v.Role == store.RoleAdmin }

// CanUseProject tells whether a tenant user may use the project's
// connections: admins all of their tenant's, members their own. Operators
// get false; operator pages decide for themselves what operators may do.
func (v *ViewerInfo) CanUseProject(projectID string) bool {
	if v == nil || v.IsOperator {
		return false
	}
	return v.Role == store.RoleAdmin || slices.Contains(v.ProjectIDs, projectID)
}

type ctxKey int

const (
	viewerKey ctxKey = iota
	requestIDKey
	flashKey
)

// Viewer returns the signed-in viewer, or nil for an anonymous request.
func Viewer(ctx context.Context) *ViewerInfo {
	v, _ := ctx.Value(viewerKey).(*ViewerInfo)
	return v
}

// loadViewer puts the session's viewer in the context. A missing or dead
// session leaves the request anonymous (and drops a stale cookie); a database
// failure is a 500, not a silent sign-out.
func (ui *UI) loadViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, err := ui.sessions.Load(ctx, r)
		var unknown *UnknownSessionKeyError
		if errors.As(err, &unknown) {
			// Signed by a replica that already has a new key: not a sign-out.
			w.Header().Set("Retry-After", "5")
			ui.ErrorPage(w, r, http.StatusServiceUnavailable,
				"This server is being updated; try again in a few seconds.")
			return
		}
		if errors.Is(err, errNoSession) {
			if _, err := r.Cookie(ui.sessions.cookie.session); err == nil {
				ui.sessions.Clear(w)
			}
			next.ServeHTTP(w, r)
			return
		}
		if err == nil {
			var v *ViewerInfo
			v, err = ui.viewerFor(ctx, sess)
			if errors.Is(err, store.ErrNotFound) { // account deleted under the session
				ui.sessions.End(ctx, w, sess)
				next.ServeHTTP(w, r)
				return
			}
			if err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, viewerKey, v)))
				return
			}
		}
		ui.Fail(w, r, err)
	})
}

func (ui *UI) viewerFor(ctx context.Context, sess store.Session) (*ViewerInfo, error) {
	if sess.OperatorID != "" {
		o, err := ui.store.Operator(ctx, sess.OperatorID)
		if err != nil {
			return nil, err
		}
		return &ViewerInfo{Session: sess, ID: o.ID, Email: o.Email, IsOperator: true}, nil
	}
	u, err := ui.store.User(ctx, sess.TenantID, sess.UserID)
	if err != nil {
		return nil, err
	}
	t, err := ui.store.Tenant(ctx, sess.TenantID)
	if err != nil {
		return nil, err
	}
	return &ViewerInfo{Session: sess, ID: u.ID, Email: u.Email, TenantID: t.ID, TenantName: t.Name,
		TenantSlug: t.Slug, Role: u.Role, ProjectIDs: u.ProjectIDs}, nil
}

// RequireSignIn sends anonymous browsers to the sign-in page, remembering
// where they were going when that is a page they can come back to (GET).
func RequireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Viewer(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		target := "/login"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if n := SafeNext(r.URL.RequestURI()); n != "/" {
				target += "?next=" + url.QueryEscape(n)
			}
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// SafeNext returns next if it is a path on this site, else "/". It refuses
// anything a browser could resolve to another origin: "//host", "/\host",
// schemes, and control characters that some browsers strip.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return next
}
