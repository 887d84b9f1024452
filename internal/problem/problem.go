// Package problem writes RFC 9457 problem details, the error bodies of the
// broker's JSON APIs: a stable code per failure, its HTTP status and title
// from the API's catalog, and the broker's extensions.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Type is what a code answers with.
type Type struct {
	Status int
	Title  string
}

// Catalog is every code an API answers with. An API's OpenAPI document
// lists the same codes; each API's tests hold the two together.
type Catalog map[string]Type

// Problem is a problem details body with the broker's extensions.
type Problem struct {
	Type             string `json:"type"`
	Title            string `json:"title"`
	Status           int    `json:"status"`
	Detail           string `json:"detail,omitempty"`
	Code             string `json:"code"`
	Field            string `json:"field,omitempty"` // the input at fault, for invalid_input
	AADSTS           string `json:"aadsts,omitempty"`
	TraceID          string `json:"trace_id,omitempty"`
	CorrelationID    string `json:"correlation_id,omitempty"`
	ConnectionStatus string `json:"connection_status,omitempty"`
	RetryAfter       int    `json:"retry_after,omitempty"` // seconds, as in the Retry-After header
}

// Write answers with p's code: its status, title and type from the catalog
// (an unknown code becomes internal_error, which every catalog must have).
// retryAfter > 0 also sets Retry-After, in whole seconds rounded up.
func (c Catalog) Write(w http.ResponseWriter, p Problem, retryAfter time.Duration) {
	t, ok := c[p.Code]
	if !ok {
		t, p.Code = c["internal_error"], "internal_error"
	}
	p.Type, p.Title, p.Status = "urn:broker:problem:"+p.Code, t.Title, t.Status
	h := w.Header()
	if retryAfter > 0 {
		p.RetryAfter = int((retryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if t.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="broker"`)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(t.Status)
	json.NewEncoder(w).Encode(p)
}
