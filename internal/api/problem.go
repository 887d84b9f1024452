package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/brokerhq/broker/internal/tokens"
)

// problemTypes is every problem code the API answers with, its HTTP status
// and title. openapi.json lists the same codes; a test holds them together.
var problemTypes = map[string]struct {
	status int
	title  string
}{
	"invalid_request":          {http.StatusBadRequest, "The request is not valid"},
	"unauthorized":             {http.StatusUnauthorized, "Missing, unknown or revoked API key"},
	"connection_not_found":     {http.StatusNotFound, "No such connection"},
	"not_found":                {http.StatusNotFound, "No such API path"},
	"method_not_allowed":       {http.StatusMethodNotAllowed, "Method not allowed"},
	"reauthorization_required": {http.StatusConflict, "The connection must be reauthorized"},
	"consent_required":         {http.StatusConflict, "Consent is missing"},
	"configuration_error":      {http.StatusConflict, "The connection is misconfigured"},
	"connection_disabled":      {http.StatusConflict, "The connection is disabled"},
	"connection_not_approved":  {http.StatusConflict, "The connection awaits approval"},
	"connection_pending":       {http.StatusConflict, "The connection has not finished signing in"},
	"rate_limited":             {http.StatusTooManyRequests, "Too many requests for this API key"},
	"internal_error":           {http.StatusInternalServerError, "The broker failed"},
	"upstream_unavailable":     {http.StatusServiceUnavailable, "Microsoft is unavailable"},
}

// problem is an RFC 9457 problem details body with the broker's extensions.
type problem struct {
	Type             string `json:"type"`
	Title            string `json:"title"`
	Status           int    `json:"status"`
	Detail           string `json:"detail,omitempty"`
	Code             string `json:"code"`
	AADSTS           string `json:"aadsts,omitempty"`
	TraceID          string `json:"trace_id,omitempty"`
	CorrelationID    string `json:"correlation_id,omitempty"`
	ConnectionStatus string `json:"connection_status,omitempty"`
	RetryAfter       int    `json:"retry_after,omitempty"` // seconds, as in the Retry-After header
}

// writeProblem answers with the code's status and a problem+json body.
// retryAfter > 0 also sets Retry-After, in whole seconds rounded up.
func writeProblem(w http.ResponseWriter, code, detail string, retryAfter time.Duration) {
	writeProblemBody(w, problem{Code: code, Detail: detail}, retryAfter)
}

func writeProblemBody(w http.ResponseWriter, p problem, retryAfter time.Duration) {
	t, ok := problemTypes[p.Code]
	if !ok {
		t, p.Code = problemTypes["internal_error"], "internal_error"
	}
	p.Type, p.Title, p.Status = "urn:broker:problem:"+p.Code, t.title, t.status
	h := w.Header()
	if retryAfter > 0 {
		p.RetryAfter = int((retryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if t.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="broker"`)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(t.status)
	json.NewEncoder(w).Encode(p)
}

// writeTokenError answers with what the token service said; its codes are
// problem codes by design.
func writeTokenError(w http.ResponseWriter, e *tokens.Error) {
	var retry time.Duration
	if e.Code == tokens.CodeUnavailable {
		retry = max(e.RetryAfter, time.Second)
	}
	writeProblemBody(w, problem{Code: string(e.Code), Detail: e.Detail, AADSTS: e.AADSTS, TraceID: e.TraceID,
		CorrelationID: e.CorrelationID, ConnectionStatus: e.Status}, retry)
}
