package store

// ClaimDueSQL is the keep-alive claim's statement, for EXPLAIN tests.
const ClaimDueSQL = claimDueSQL

// CountQuery is CountConnectionsByStatus's statement, for EXPLAIN tests.
func (q ConnectionQuery) CountQuery() (string, []any) { return q.countQuery() }
