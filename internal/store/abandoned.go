package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeleteAbandonedConnections removes connections whose first sign-in never
// succeeded: still pending, created before createdBefore, and with no
// sign-in in progress (no unused flow alive at now). A reconnect never
// makes a row pending, so only new connections that were cancelled,
// failed or abandoned at Microsoft go. It returns how many were removed.
func (s *Store) DeleteAbandonedConnections(ctx context.Context, createdBefore, now time.Time) (int64, error) {
	var n int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM connections c
			WHERE c.status = 'pending' AND c.refresh_token_enc IS NULL AND c.created_at < $1
			  AND NOT EXISTS (SELECT 1 FROM oauth_flows f
			                  WHERE f.tenant_id = c.tenant_id AND f.connection_id = c.id
			                    AND f.used_at IS NULL AND f.expires_at > $2)`, createdBefore, now)
		n = tag.RowsAffected()
		return err
	})
	return n, mapErr("delete abandoned connections", err)
}
