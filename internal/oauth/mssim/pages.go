package mssim

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// Pages are parsed once at start-up; a missing or broken template panics
// on package initialisation rather than on the first sign-in.
var pages = map[string]*template.Template{
	"signin":  parsePage("signin"),
	"consent": parsePage("consent"),
	"error":   parsePage("error"),
}

func parsePage(name string) *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/base.html", "templates/"+name+".html"))
}

// pageErr is an error shown on the sim's own pages, with an element
// id="error" data-code="…" that SignIn and browser tests read.
type pageErr struct {
	Code    int
	Message string
	Detail  string // request and correlation IDs, timestamp
}

type accountTile struct{ UPN, DisplayName, Kind string }

type signInView struct {
	Title, Host, Action, Ctx, AppName, Login string
	Admin                                    bool
	Err                                      *pageErr
	Accounts                                 []accountTile
}

type consentScope struct{ Value, Name, Desc string }

type consentView struct {
	Title, Host, Action, Ctx, AppName, Account string
	Admin                                      bool
	Scopes                                     []consentScope
}

type errorView struct {
	Title, Host string
	pageErr
}

// render executes a page into a buffer first, so a template failure is a
// clean 500 instead of half a page.
func render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := pages[page].ExecuteTemplate(&buf, "base", data); err != nil {
		http.Error(w, "rendering "+page+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError makes e presentable on a page, with the identifiers the
// platform prints under its errors.
func (s *Sim) pageError(r *http.Request, e *aadError) *pageErr {
	t := s.trace(r, e)
	return &pageErr{Code: e.code, Message: e.desc,
		Detail: fmt.Sprintf("Request Id: %s\nCorrelation Id: %s\nTimestamp: %s", t.trace, t.correlation, t.timestamp)}
}

// showError renders the platform's "trouble signing you in" page: the app
// never hears of these errors.
func (s *Sim) showError(w http.ResponseWriter, r *http.Request, e *aadError) {
	s.showErrorOn(w, r, hostLogin, e)
}

// showErrorOn is showError branded as one of the sim's hosts.
func (s *Sim) showErrorOn(w http.ResponseWriter, r *http.Request, host string, e *aadError) {
	render(w, http.StatusBadRequest, "error", errorView{Title: "Sign in", Host: host, pageErr: *s.pageError(r, e)})
}

func (s *Sim) showSignIn(w http.ResponseWriter, r *http.Request, f *flow, login string, e *aadError) {
	host := f.onHost()
	v := signInView{Title: "Sign in to your account", Host: host, Action: flowAction(f, "login"), Ctx: f.id,
		AppName: f.app.name, Login: login, Admin: f.kind == flowAdminConsent, Accounts: s.dir.tiles(host)}
	if e != nil {
		v.Err = s.pageError(r, e)
	}
	render(w, http.StatusOK, "signin", v)
}

func (s *Sim) showConsent(w http.ResponseWriter, f *flow, u *user, ask scopeSet) {
	v := consentView{Title: "Permissions requested", Host: f.onHost(), Action: flowAction(f, "consent"), Ctx: f.id,
		AppName: f.app.name, Account: u.UPN, Admin: f.kind == flowAdminConsent}
	for _, bit := range ask.bits() {
		p := bit.perms()[0]
		v.Scopes = append(v.Scopes, consentScope{Value: s.qualify(p, bit), Name: p.name, Desc: p.desc})
	}
	render(w, http.StatusOK, "consent", v)
}

// tiles lists the accounts for a sign-in page's picker: every account on
// the login host, personal ones on the Microsoft account host, federated
// ones at the IdP.
func (d *directory) tiles(host string) []accountTile {
	d.mu.RLock()
	var out []accountTile
	for k, u := range d.users {
		switch {
		case host == hostMSA && !u.tenant.personal, host == hostIdP && !u.federated():
			continue
		}
		if k != u.ObjectID { // each user is indexed twice
			kind := "Work or school account · " + u.tenant.name
			if u.tenant.personal {
				kind = "Personal account"
			}
			out = append(out, accountTile{UPN: u.UPN, DisplayName: u.DisplayName, Kind: kind})
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(out, func(a, b accountTile) int {
		return strings.Compare(a.Kind+a.UPN, b.Kind+b.UPN)
	})
	return out
}

// bits splits a set into single-entry sets, in catalog order.
func (s scopeSet) bits() []scopeSet {
	var out []scopeSet
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, scopeSet(v&-v))
	}
	return out
}
