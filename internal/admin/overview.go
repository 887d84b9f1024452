package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Overview is what the home page shows a viewer: their connections by
// status, the newest of them, what happened lately (for those who may read
// the audit log) and the tokens handed out since Since.
type Overview struct {
	List                      // counts per status, the newest rows
	Recent []store.FeedEntry  // newest first, without the hourly token counts
	Names  map[string]string  // connection ID → name, for Recent
	Usage  []store.TokenUsage // tenant viewers only: hourly counts in their scope
	Since  time.Time
}

// overviewRecent is how many audit entries the home page lists.
const overviewRecent = 6

// Overview gathers the home page's figures within v's scope.
func (s *Service) Overview(ctx context.Context, v Viewer, since time.Time) (Overview, error) {
	out := Overview{Since: since}
	var err error
	if out.List, err = s.List(ctx, v, Filter{Limit: 5}); err != nil {
		return out, err
	}
	if MayReadAudit(v) {
		feed, err := s.Feed(ctx, v, FeedFilter{Limit: 40})
		if err != nil {
			return out, err
		}
		out.Names = feed.Names
		for _, e := range feed.Entries {
			if e.Source != store.SourceUsage && len(out.Recent) < overviewRecent {
				out.Recent = append(out.Recent, e)
			}
		}
	}
	if v.Operator() || v.TenantID == "" {
		return out, nil // operators see every tenant's health, not their traffic
	}
	usage, err := s.Store.ListTokenUsage(ctx, v.TenantID, store.TokenUsageFilter{Since: &since, Limit: 1000})
	if err != nil {
		return out, fmt.Errorf("admin: overview: %w", err)
	}
	if v.AllProjects {
		out.Usage = usage
		return out, nil
	}
	scope := v.projectScope()
	if len(scope) == 0 {
		return out, nil // a member of no project sees no traffic
	}
	conns, err := s.Store.ListConnections(ctx, v.TenantID, store.ListConnectionsFilter{ProjectIDs: scope, Limit: 500})
	if err != nil {
		return out, fmt.Errorf("admin: overview: %w", err)
	}
	mine := map[string]bool{}
	for _, c := range conns {
		mine[c.ID] = true
	}
	for _, u := range usage {
		if mine[u.ConnectionID] {
			out.Usage = append(out.Usage, u)
		}
	}
	return out, nil
}
