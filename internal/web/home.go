package web

import "net/http"

// HomeView is home.html's data: where a signed-in person goes next. The
// pages it links to belong to the connections and admin areas.
type HomeView struct {
	Links []HomeLink
}

// HomeLink is one card on the dashboard.
type HomeLink struct {
	Href, Title, Text string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	links := []HomeLink{
		{Href: "/connections", Title: "Connections", Text: "See the Outlook mailboxes connected to the broker, which need attention, and why."},
	}
	v := Viewer(r.Context())
	if v != nil && !v.IsOperator {
		links = append(links, HomeLink{Href: "/connections/new", Title: "New connection",
			Text: "Connect a Microsoft 365 or Outlook.com mailbox so your applications can use it."})
	}
	if v != nil && (v.IsOperator || v.IsAdmin()) {
		links = append(links, HomeLink{Href: "/audit", Title: "Audit log",
			Text: "Who signed in, connected, changed or used what, and when. Exportable as CSV."})
	}
	if v != nil && !v.IsOperator && v.IsAdmin() {
		links = append(links, HomeLink{Href: "/api-keys", Title: "API keys",
			Text: "Keys your internal services use to fetch access tokens: create, scope to projects, revoke."})
	}
	s.ui.Render(w, r, http.StatusOK, "home.html", Page{Title: "Home", Data: HomeView{Links: links}})
}
