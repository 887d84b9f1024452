package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Operator reads one platform operator, for the web layer to know who a
// session belongs to. Operators have no tenant, so it looks across tenants.
func (s *Store) Operator(ctx context.Context, operatorID string) (Operator, error) {
	var o Operator
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, email, password_hash, created_at, password_changed_at FROM operators WHERE id = $1`, operatorID).
			Scan(&o.ID, &o.Email, &o.PasswordHash, &o.CreatedAt, &o.PasswordChangedAt)
	})
	return o, mapErr("get operator", err)
}
