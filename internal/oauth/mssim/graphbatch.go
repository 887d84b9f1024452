package mssim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// batchRequest is one request inside a $batch body.
type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// maxBatch is Graph's limit of requests in one $batch.
// https://learn.microsoft.com/en-us/graph/json-batching#batch-size-limitations
const maxBatch = 20

// graphBatch is POST /v1.0/$batch: each request runs as if sent alone with
// the batch's token, and the answers come back in one JSON body.
// https://learn.microsoft.com/en-us/graph/json-batching
func (s *Sim) graphBatch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeGraphError(w, r, &graphErr{405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."})
		return
	}
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || !isJSON(r.Header.Get("Content-Type")) || json.Unmarshal(raw, &in) != nil || len(in.Requests) == 0 {
		s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Invalid batch payload format."})
		return
	}
	if len(in.Requests) > maxBatch {
		s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Number of batch requests exceeds the maximum allowed of 20."})
		return
	}
	seen := map[string]bool{}
	for _, br := range in.Requests {
		// Each request needs an id unique in the batch, a method and a
		// relative URL; a body needs a Content-Type header.
		// Batches do not nest.
		if br.ID == "" || seen[br.ID] || br.Method == "" || br.URL == "" || strings.Contains(br.URL, "://") ||
			strings.HasPrefix(strings.ToLower(strings.TrimPrefix(br.URL, "/")), "$batch") ||
			len(br.Body) > 0 && br.Headers["Content-Type"] == "" && br.Headers["content-type"] == "" {
			s.writeGraphError(w, r, &graphErr{400, "BadRequest", "Invalid batch payload format."})
			return
		}
		seen[br.ID] = true
	}
	out := struct {
		Responses []batchResponse `json:"responses"`
	}{}
	for _, br := range in.Requests {
		out.Responses = append(out.Responses, s.batchOne(r, br))
	}
	writeGraphJSON(w, http.StatusOK, out)
}

// batchOne runs one request of a batch against Graph in process.
func (s *Sim) batchOne(outer *http.Request, br batchRequest) batchResponse {
	target := "/v1.0/" + strings.TrimPrefix(br.URL, "/")
	sub := httptest.NewRequestWithContext(outer.Context(), strings.ToUpper(br.Method), target, bytes.NewReader(br.Body))
	sub.Host = outer.Host
	sub.Header.Set("Authorization", outer.Header.Get("Authorization"))
	for k, v := range br.Headers {
		sub.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.graph.ServeHTTP(rec, sub)
	resp := batchResponse{ID: br.ID, Status: rec.Code, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "Retry-After", "Location"} {
		if v := rec.Header().Get(h); v != "" {
			resp.Headers[h] = v
		}
	}
	if body := rec.Body.Bytes(); len(body) > 0 && json.Valid(body) {
		resp.Body = body
	}
	return resp
}
