package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// sealedColumn is a bytea column holding secrets.Ring ciphertexts.
type sealedColumn struct{ table, column string }

// sealedColumns lists every ciphertext column; key rotation and the raw-scan
// tests walk it, so a new secret column must be added here.
var sealedColumns = []sealedColumn{
	{"connections", colRefreshToken},
	{"connections", colClientSecret},
	{"connections", colAccessToken},
	{"oauth_flows", "verifier_enc"},
}

// SealedColumns names every ciphertext column as table.column, for tests
// that read the raw tables.
func SealedColumns() []string {
	out := make([]string, len(sealedColumns))
	for i, c := range sealedColumns {
		out[i] = c.table + "." + c.column
	}
	return out
}

// keyIDSQL extracts the key ID a ciphertext names (byte 2 is its length).
const keyIDSQL = `convert_from(substring(%[1]s from 3 for get_byte(%[1]s, 1)), 'UTF8')`

// RotateBatch re-seals up to limit ciphertexts of one column that are not
// under the primary key, and returns how many it moved. Rows locked by a
// concurrent refresh are skipped and caught by a later batch, so rotation runs
// online; it is resumable because the key ID in each ciphertext is the cursor.
func (s *Store) RotateBatch(ctx context.Context, limit int) (int, error) {
	primary := s.ring.PrimaryID()
	total := 0
	for _, sc := range sealedColumns {
		err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
			q := fmt.Sprintf(`SELECT id::text, tenant_id::text, %[1]s FROM %[2]s
				WHERE %[1]s IS NOT NULL AND `+keyIDSQL+` <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED`, sc.column, sc.table)
			rows, err := tx.Query(ctx, q, primary, limit-total)
			if err != nil {
				return err
			}
			type item struct {
				id, tenant string
				ct         []byte
			}
			items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
				var it item
				return it, r.Scan(&it.id, &it.tenant, &it.ct)
			})
			if err != nil {
				return err
			}
			for _, it := range items {
				place := secrets.Place{Table: sc.table, Column: sc.column, RowID: it.id, TenantID: it.tenant}
				pt, err := s.ring.Open(it.ct, place)
				if err != nil {
					return fmt.Errorf("%s.%s row %s: %w", sc.table, sc.column, it.id, err)
				}
				_, err = tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = $2 WHERE id = $1`, sc.table, sc.column), it.id, s.ring.Seal(pt, place))
				clear(pt)
				if err != nil {
					return err
				}
			}
			total += len(items)
			return nil
		})
		if err != nil {
			return total, mapErr("rotate keys", err)
		}
		if total >= limit {
			break
		}
	}
	return total, nil
}

// CountNotUnderPrimary counts ciphertexts still under an older key.
func (s *Store) CountNotUnderPrimary(ctx context.Context) (int64, error) {
	var total int64
	err := s.acrossTenants(ctx, func(tx pgx.Tx) error {
		for _, sc := range sealedColumns {
			var n int64
			q := fmt.Sprintf(`SELECT count(*) FROM %[2]s WHERE %[1]s IS NOT NULL AND `+keyIDSQL+` <> $1`, sc.column, sc.table)
			if err := tx.QueryRow(ctx, q, s.ring.PrimaryID()).Scan(&n); err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, mapErr("count rotation", err)
}
