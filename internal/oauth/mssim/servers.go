package mssim

import (
	"net/http"
	"net/http/httptest"
)

// Servers is a sim served the way a browser meets Microsoft: the login host
// (with Graph and the control API), the Microsoft account host and a
// federated organisation's identity provider, each on its own local
// listener and so its own origin. Tests that drive a browser through
// sign-in use it; Serve does the same for the demo.
type Servers struct {
	Sim             *Sim
	Login, MSA, IdP *httptest.Server
}

// StartServers starts the three listeners on 127.0.0.1 and a Sim built from
// opts whose BaseURL, MSABaseURL and IdPBaseURL name them (a GraphBaseURL
// left empty means the login server, which serves Graph). Close stops them.
func StartServers(opts Options) *Servers {
	var sim *Sim
	serve := func(pick func(*Sim) http.Handler) *httptest.Server {
		return httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pick(sim).ServeHTTP(w, r)
		}))
	}
	s := &Servers{Login: serve((*Sim).Handler), MSA: serve((*Sim).MSAHandler), IdP: serve((*Sim).IdPHandler)}
	base := func(ts *httptest.Server) string { return "http://" + ts.Listener.Addr().String() }
	opts.BaseURL, opts.MSABaseURL, opts.IdPBaseURL = base(s.Login), base(s.MSA), base(s.IdP)
	if opts.GraphBaseURL == "" {
		opts.GraphBaseURL = opts.BaseURL
	}
	sim = New(opts)
	s.Sim = sim
	for _, ts := range []*httptest.Server{s.Login, s.MSA, s.IdP} {
		ts.Start()
	}
	return s
}

// Close stops the three servers.
func (s *Servers) Close() {
	for _, ts := range []*httptest.Server{s.Login, s.MSA, s.IdP} {
		ts.Close()
	}
}
