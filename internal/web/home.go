package web

import "net/http"

// HomeView is home.html's data: the welcome line, and the dashboard when an
// area (adminweb) serves the home page through Deps.Home.
type HomeView struct {
	Dashboard *Dashboard
}

// Dashboard is the home page's body: what needs attention first, then what
// happened and how much the broker served.
type Dashboard struct {
	// Attention lists what needs a person, most urgent first. Areas add
	// their own items (failing webhooks, say) with the same shape.
	Attention   []Attention
	Total       int // connections in the viewer's scope
	Healthy     int // of which active
	Recent      []Activity
	RecentHref  string     // the audit log, for those who may open it
	Connections []Activity // the newest connections, for those who may not
	Traffic     *Chart     // nil for operators
	// NextStep is set for a tenant with nothing yet: what to do first.
	NextStep *NextStep
}

// Attention is one thing someone must act on, as a link to where they can.
type Attention struct {
	Count int
	Noun  string // what is counted, already in the count's number; "" is connection(s)
	Text  string // "need re-authorization"; the page writes the count and noun before it
	Hint  string // what to do
	Href  string
	Level string // "alert" (broken) or "warn" (soon)
}

// Activity is one line of recent activity or one connection.
type Activity struct {
	When, WhenAbs, WhenISO string
	Text                   string
	Href, Link             string // an optional link and its text
	Status, StatusLabel    string
}

// NextStep tells a new tenant what to do first.
type NextStep struct {
	Title, Text, Href, Button string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if s.homePage != nil {
		s.homePage(w, r)
		return
	}
	s.ui.Render(w, r, http.StatusOK, "home.html", Page{Title: "Home", Data: HomeView{}})
}
