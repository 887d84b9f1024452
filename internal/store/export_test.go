package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ClaimDueSQL is the keep-alive claim's statement, for EXPLAIN tests.
const ClaimDueSQL = claimDueSQL

// CountQuery is CountConnectionsByStatus's statement, for EXPLAIN tests.
func (q ConnectionQuery) CountQuery() (string, []any) { return q.countQuery() }

// SearchPlan is searchPlan for EXPLAIN tests: it sets broker.search in tx
// and returns q as the store would run it.
func SearchPlan(ctx context.Context, tx pgx.Tx, q ConnectionQuery) (ConnectionQuery, error) {
	err := searchPlan(ctx, tx, &q, true)
	return q, err
}

// SearchesByIndex says whether searchPlan chose the trigram index.
func (q ConnectionQuery) SearchesByIndex() bool { return q.searchIndex }
