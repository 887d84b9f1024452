package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// eventsPage is GET /events's answer: the same envelopes webhooks carry,
// oldest first, and the cursor to ask from next (the last event's
// sequence; unchanged when there was nothing new).
type eventsPage struct {
	Events    []webhooks.Envelope `json:"events"`
	NextAfter string              `json:"next_after"`
}

// listEvents serves GET /events?after=&type=&limit=: the key's tenant's
// events (within the key's projects) after a cursor, for services that
// catch up by pulling instead of receiving webhooks.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) {
	key := h.authenticate(w, r, h.Now())
	if key == nil {
		return
	}
	q := r.URL.Query()
	eq := store.EventQuery{TenantID: key.TenantID, ProjectIDs: key.ProjectIDs, Limit: 100}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fieldProblem(w, "after", "after must be the next_after of an earlier page (or 0 for the first).")
			return
		}
		eq.After = n
	}
	for _, v := range q["type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if !slices.Contains(store.EventTypes, t) {
				fieldProblem(w, "type", "type must be event types of the catalogue (docs/webhooks.md), comma-separated.")
				return
			}
			eq.Types = append(eq.Types, t)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fieldProblem(w, "limit", "limit must be a whole number from 1 to 1000.")
			return
		}
		eq.Limit = n
	}
	evs, err := h.Store.Events(r.Context(), eq)
	if err != nil {
		h.writeStoreError(w, "The broker could not read the events.", err)
		return
	}
	out := eventsPage{Events: []webhooks.Envelope{}, NextAfter: strconv.FormatInt(eq.After, 10)}
	for _, e := range evs {
		out.Events = append(out.Events, webhooks.NewEnvelope(e.ID, e.Type, e.TenantID, e.CreatedAt, e.Data))
		out.NextAfter = strconv.FormatInt(e.ID, 10)
	}
	writeJSON(w, out)
}

func fieldProblem(w http.ResponseWriter, field, detail string) {
	problemTypes.Write(w, problem.Problem{Code: "invalid_request", Detail: detail, Field: field}, 0)
}
