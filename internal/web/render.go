package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Page is what layout.html renders. Handlers set Title and Data (their own
// typed struct); Render fills in the rest from the request.
type Page struct {
	Title     string
	Data      any
	Viewer    *ViewerInfo
	Flash     *Flash
	Demo      bool
	Notices   []Notice // broker-wide conditions, for operators and tenant admins
	RequestID string
	Nav       []NavLink // the signed-in viewer's sections, filled by Render
}

// Notice is a broker-wide condition shown as a banner on every page to the
// people who can act on it or must know: operators and tenant admins.
type Notice struct {
	Level string // "warning" or "error"
	Title string
	Text  string
}

// NavLink is one section in the top bar's navigation.
type NavLink struct {
	Href, Label string
	Current     bool
}

// navFor lists the sections a viewer may open, marking the one path is in.
func navFor(v *ViewerInfo, path string) []NavLink {
	if v == nil {
		return nil
	}
	links := []NavLink{{Href: "/connections", Label: "Connections"}}
	if !v.IsOperator {
		links = append(links, NavLink{Href: "/connections/new", Label: "New connection"})
	}
	if v.IsOperator || v.IsAdmin() {
		links = append(links, NavLink{Href: "/audit", Label: "Audit log"})
	}
	if !v.IsOperator && v.IsAdmin() {
		links = append(links, NavLink{Href: "/api-keys", Label: "API keys"})
		links = append(links, NavLink{Href: "/settings/sso", Label: "Single sign-on"})
		links = append(links, NavLink{Href: "/settings/connect", Label: "Connect links"})
		links = append(links, NavLink{Href: "/settings/apps", Label: "Apps"})
	}
	if v.IsOperator || v.IsAdmin() {
		links = append(links, NavLink{Href: "/webhooks", Label: "Webhooks"})
	}
	for i := range links {
		switch h := links[i].Href; {
		case h == "/connections":
			links[i].Current = path == h || strings.HasPrefix(path, h+"/") && path != "/connections/new"
		default:
			links[i].Current = path == h || strings.HasPrefix(path, h+"/")
		}
	}
	return links
}

// requiredPages are the templates this package renders itself.
var requiredPages = []string{"login.html", "home.html", "error.html"}

// parsePages parses every page of templates/ with layout.html and the shared
// partials (files named _*.html) into its own set, so pages may define the
// same block names ("main") without colliding.
func parsePages(fsys fs.FS, funcs template.FuncMap) (map[string]*template.Template, error) {
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return nil, fmt.Errorf("web: read templates: %w", err)
	}
	shared := []string{"templates/layout.html"}
	var pages []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() || path.Ext(name) != ".html" || name == "layout.html":
		case strings.HasPrefix(name, "_"):
			shared = append(shared, "templates/"+name)
		default:
			pages = append(pages, name)
		}
	}
	out := map[string]*template.Template{}
	for _, name := range pages {
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, append(shared, "templates/"+name)...)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		if t.Lookup("main") == nil {
			return nil, fmt.Errorf("web: template %s defines no \"main\" block", name)
		}
		out[name] = t
	}
	for _, name := range requiredPages {
		if out[name] == nil {
			return nil, fmt.Errorf("web: template %s is missing", name)
		}
	}
	return out, nil
}

// Render executes page inside the layout into a buffer and only then writes
// status and body, so a template error becomes a clean 500, not half a page.
func (ui *UI) Render(w http.ResponseWriter, r *http.Request, status int, page string, p Page) {
	t, ok := ui.pages[page]
	if !ok {
		ui.Log(r).Error("render: no such template", "template", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	if p.Viewer == nil {
		p.Viewer = Viewer(ctx)
	}
	if p.Flash == nil {
		if f, ok := ctx.Value(flashKey).(*Flash); ok {
			p.Flash = f
		}
	}
	p.Demo = ui.demo
	if ui.notices != nil && p.Viewer != nil && (p.Viewer.IsOperator || p.Viewer.IsAdmin()) {
		p.Notices = ui.notices()
	}
	p.RequestID = RequestID(ctx)
	path := r.URL.Path
	if r.Method == http.MethodPost && path == "/connections" {
		path = "/connections/new" // the New connection form, re-rendered with its errors
	}
	p.Nav = navFor(p.Viewer, path)

	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		ui.Log(r).Error("render template", "template", page, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if p.Flash != nil && ctx.Value(flashKey) != nil {
		ui.clearFlash(w) // shown now, so not again on the next page
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // pages show tenant data; keep them out of shared caches
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// SeeOther redirects with 303, the answer to a successful form post.
func SeeOther(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, http.StatusSeeOther)
}
