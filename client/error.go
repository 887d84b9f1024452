package brokerclient

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is the broker's problem answer (RFC 9457) with its stable Code
// (reauthorization_required, consent_required, connection_not_found,
// rate_limited, upstream_unavailable, …). Test for it with either
//
//	var e *brokerclient.Error; errors.As(err, &e)
//	e := brokerclient.Error{}; errors.As(err, &e)
type Error struct {
	Status           int    // HTTP status
	Code             string // the broker's problem code
	Title, Detail    string
	AADSTS           string // Microsoft's error code when Microsoft decided, e.g. AADSTS70008
	TraceID          string // Microsoft's trace ID, for a support ticket
	CorrelationID    string
	ConnectionStatus string        // e.g. needs_reauth
	RetryAfter       time.Duration // when to try again (Retry-After), for rate_limited and upstream_unavailable
}

func (e Error) Error() string {
	s := "broker: " + strconv.Itoa(e.Status) + " " + e.Code
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.AADSTS != "" {
		s += " (" + e.AADSTS + ", trace " + e.TraceID + ")"
	}
	return s
}

// As lets errors.As fill an Error value as well as an *Error.
func (e *Error) As(target any) bool {
	if t, ok := target.(*Error); ok {
		*t = *e
		return true
	}
	return false
}

// readError turns a non-200 broker answer into an *Error.
func readError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	var p struct {
		Code             string `json:"code"`
		Title            string `json:"title"`
		Detail           string `json:"detail"`
		AADSTS           string `json:"aadsts"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
		ConnectionStatus string `json:"connection_status"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && json.Unmarshal(body, &p) == nil {
		e.Code, e.Title, e.Detail, e.AADSTS, e.TraceID = p.Code, p.Title, p.Detail, p.AADSTS, p.TraceID
		e.CorrelationID, e.ConnectionStatus = p.CorrelationID, p.ConnectionStatus
	} else {
		e.Code, e.Title = "http_"+strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}
