package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/brokerhq/broker/internal/store"
)

// UI is what every browser area shares: page rendering with the layout,
// flashes, error pages, the session manager and a request-scoped logger.
// Areas receive it in their Mount function.
type UI struct {
	store    *store.Store
	logger   *slog.Logger
	now      func() time.Time
	demo     bool
	notices  func() []Notice // Deps.Notices
	pages    map[string]*template.Template
	assets   *assets
	sessions *Sessions
	flashes  []securecookie.Codec
	sealed   []securecookie.Codec // SetSealed: short-lived state across a round trip
	connect  []securecookie.Codec // connectcookie.go
	missing  []string             // pages areas asked for that do not exist
}

// Sessions is the session manager, for areas that need re-authentication.
func (ui *UI) Sessions() *Sessions { return ui.sessions }

// Now is the router's clock (injected in tests).
func (ui *UI) Now() time.Time { return ui.now() }

// Log returns the logger with the request's ID attached, for internal
// errors that the user sees only a safe text of.
func (ui *UI) Log(r *http.Request) *slog.Logger {
	return ui.logger.With("request_id", RequestID(r.Context()))
}

// Need declares page templates an area renders; NewRouter fails if one is
// missing, so a typo breaks start-up rather than a page view.
func (ui *UI) Need(pages ...string) {
	for _, p := range pages {
		if _, ok := ui.pages[p]; !ok {
			ui.missing = append(ui.missing, p)
		}
	}
}

// Error is a failure with a status and a message safe to show; Err is the
// internal cause, logged and never shown.
type Error struct {
	Status  int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error; err may be nil.
func Errorf(status int, message string, err error) *Error {
	return &Error{Status: status, Message: message, Err: err}
}

// Fail answers a request with an error: the safe message of an *Error, or a
// generic 500 for anything else. Server errors are logged with the request
// ID, which the page shows so a report can be matched to the log line.
func (ui *UI) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, ""
	var e *Error
	if errors.As(err, &e) {
		status, msg = e.Status, e.Message
	} else if errors.Is(err, store.ErrInvalid) { // Postgres refused the input (SQLSTATE 22…): the caller's mistake
		status, msg = http.StatusBadRequest, "The request holds a value the broker cannot use. Check what you entered."
	}
	if status >= 500 {
		ui.Log(r).Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	ui.ErrorPage(w, r, status, msg)
}

// ErrorPage renders the friendly page for status; an empty message gets the
// standard one. Requests under /api/ get JSON instead.
func (ui *UI) ErrorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	if message == "" {
		message = defaultMessages[status]
	}
	if message == "" {
		message = http.StatusText(status)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, r, status, message)
		return
	}
	ui.Render(w, r, status, "error.html", Page{Title: http.StatusText(status), Data: ErrorView{
		Status: status, Heading: headings[status], Message: message, RequestID: RequestID(r.Context()),
	}})
}

// ErrorView is error.html's data.
type ErrorView struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
}

var headings = map[int]string{
	http.StatusBadRequest:          "That request did not look right",
	http.StatusForbidden:           "You can't open this page",
	http.StatusNotFound:            "Page not found",
	http.StatusMethodNotAllowed:    "That can't be done here",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusServiceUnavailable:  "Temporarily unavailable",
}

var defaultMessages = map[int]string{
	http.StatusForbidden:           "Your account does not have access to this page. If you think it should, ask your administrator.",
	http.StatusNotFound:            "There is nothing at this address. It may have moved, or the link may be mistyped.",
	http.StatusInternalServerError: "The broker hit a problem it could not recover from. It has been logged; please try again in a moment.",
}

func writeJSONError(w http.ResponseWriter, r *http.Request, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	type body struct {
		Status    int    `json:"status"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}
	json.NewEncoder(w).Encode(map[string]body{"error": {status, message, RequestID(r.Context())}})
}
