package web

import "net/http"

// HomeView is home.html's data: where a signed-in person goes next. The
// pages it links to belong to the connections area.
type HomeView struct {
	Links []HomeLink
}

// HomeLink is one card on the dashboard.
type HomeLink struct {
	Href, Title, Text string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.ui.Render(w, r, http.StatusOK, "home.html", Page{Title: "Home", Data: HomeView{Links: []HomeLink{
		{Href: "/connections", Title: "Connections", Text: "See the Outlook mailboxes connected to the broker and their status."},
		{Href: "/connections/new", Title: "New connection", Text: "Connect a Microsoft 365 mailbox so your applications can use it."},
	}}})
}
