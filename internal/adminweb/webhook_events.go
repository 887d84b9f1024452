package adminweb

import (
	"encoding/json"
	"net/http"

	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/webhooks"
)

// connEventRow is one event of a connection, for the "connection_events"
// template on the connection's page.
type connEventRow struct {
	ID, Type, Summary string
	When              When
}

// connectionEvents lists the connection's latest events, as webhooks and
// the feed carry them.
func (h *Handler) connectionEvents(r *http.Request, c store.Connection) ([]connEventRow, error) {
	if h.Webhooks == nil {
		return nil, nil
	}
	evs, err := h.Webhooks.Store.ConnectionEventLog(r.Context(), c.TenantID, c.ID, 20)
	if err != nil {
		return nil, err
	}
	now := h.Service.Now()
	out := []connEventRow{}
	for _, e := range evs {
		row := connEventRow{ID: webhooks.EventID(e.ID), Type: e.Type, When: when(e.CreatedAt, now)}
		var d store.ConnectionEventData
		if json.Unmarshal(e.Data, &d) == nil && d.Change != nil {
			row.Summary = d.Change.From + " → " + d.Change.To
			if d.Change.AADSTS != "" {
				row.Summary += " (" + d.Change.AADSTS + ")"
			}
		}
		out = append(out, row)
	}
	return out, nil
}
