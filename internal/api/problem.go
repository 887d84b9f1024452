package api

import (
	"net/http"
	"time"

	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
)

// problemTypes is every problem code the API answers with, its HTTP status
// and title. openapi.json lists the same codes; a test holds them together.
var problemTypes = problem.Catalog{
	"invalid_request":           {Status: http.StatusBadRequest, Title: "The request is not valid"},
	"unauthorized":              {Status: http.StatusUnauthorized, Title: "Missing, unknown or revoked API key"},
	"connection_not_found":      {Status: http.StatusNotFound, Title: "No such connection"},
	"invalid_input":             {Status: http.StatusUnprocessableEntity, Title: "A field of the request is not valid"},
	"project_not_allowed":       {Status: http.StatusForbidden, Title: "The API key may not use this project"},
	"connect_session_not_found": {Status: http.StatusNotFound, Title: "No such connect session"},
	"not_found":                 {Status: http.StatusNotFound, Title: "No such API path"},
	"method_not_allowed":        {Status: http.StatusMethodNotAllowed, Title: "Method not allowed"},
	"reauthorization_required":  {Status: http.StatusConflict, Title: "The connection must be reauthorized"},
	"consent_required":          {Status: http.StatusConflict, Title: "Consent is missing"},
	"configuration_error":       {Status: http.StatusConflict, Title: "The connection is misconfigured"},
	"connection_disabled":       {Status: http.StatusConflict, Title: "The connection is disabled"},
	"connection_not_approved":   {Status: http.StatusConflict, Title: "The connection awaits approval"},
	"connection_pending":        {Status: http.StatusConflict, Title: "The connection has not finished signing in"},
	"rate_limited":              {Status: http.StatusTooManyRequests, Title: "Too many requests for this API key"},
	"internal_error":            {Status: http.StatusInternalServerError, Title: "The broker failed"},
	"upstream_unavailable":      {Status: http.StatusServiceUnavailable, Title: "Microsoft is unavailable"},
	"service_unavailable":       {Status: http.StatusServiceUnavailable, Title: "The broker cannot serve this now"},
}

// writeProblem answers with the code's status and a problem+json body.
// retryAfter > 0 also sets Retry-After, in whole seconds rounded up.
func writeProblem(w http.ResponseWriter, code, detail string, retryAfter time.Duration) {
	problemTypes.Write(w, problem.Problem{Code: code, Detail: detail}, retryAfter)
}

// writeTokenError answers with what the token service said; its codes are
// problem codes by design.
func writeTokenError(w http.ResponseWriter, e *tokens.Error) {
	var retry time.Duration
	if e.Code == tokens.CodeUnavailable || e.Code == tokens.CodeServiceUnavailable {
		retry = max(e.RetryAfter, time.Second)
	}
	problemTypes.Write(w, problem.Problem{Code: string(e.Code), Detail: e.Detail, AADSTS: e.AADSTS, TraceID: e.TraceID,
		CorrelationID: e.CorrelationID, ConnectionStatus: e.Status}, retry)
}

// writeStoreError answers a failed database read: 503 service_unavailable
// with Retry-After when the database does not answer (it passes), else
// 500 internal_error, logged.
func (h *Handler) writeStoreError(w http.ResponseWriter, detail string, err error) {
	if store.Unavailable(err) {
		h.Logger.Warn("api: the database does not answer", "err", err)
		writeProblem(w, "service_unavailable", "The broker's database is not answering; retry after the given delay.", storeRetryAfter)
		return
	}
	h.Logger.Error("api: "+detail, "err", err)
	writeProblem(w, "internal_error", detail, 0)
}

// storeRetryAfter is the Retry-After of service_unavailable.
const storeRetryAfter = 2 * time.Second
