package store

// ClaimDueSQL is the keep-alive claim's statement, for EXPLAIN tests.
const ClaimDueSQL = claimDueSQL
