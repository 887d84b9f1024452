package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// healthz says the process is up and serving; it touches nothing else, so a
// database outage does not get the process restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	plain(w, http.StatusOK, "ok")
}

// readyz says whether to send traffic here: the database answers and the
// Ready check (the schema is current) passes. Below "ok" come detail lines
// (the broker's app registration at Microsoft), which never fail it: a
// replica still serves cached tokens and client credentials meanwhile. The reason shown is short and
// fixed, or an *Error's safe message; the full error goes to the log.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.ui.Log(r).Warn("not ready: database", "err", err)
		plain(w, http.StatusServiceUnavailable, "not ready: database does not answer")
		return
	}
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.ui.Log(r).Warn("not ready", "err", err)
			msg := "not ready"
			var e *Error
			if errors.As(err, &e) {
				msg += ": " + e.Message
			}
			plain(w, http.StatusServiceUnavailable, msg)
			return
		}
	}
	body := "ok"
	if s.readyDetail != nil {
		for _, line := range s.readyDetail() {
			body += "\n" + line
		}
	}
	plain(w, http.StatusOK, body)
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, body+"\n")
}
