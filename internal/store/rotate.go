package store

// sealedColumn is a bytea column holding secrets.Ring ciphertexts.
type sealedColumn struct{ table, column string }

// sealedColumns lists every ciphertext column; key rotation and the raw-scan
// tests walk it, so a new secret column must be added here.
var sealedColumns = []sealedColumn{
	{"connections", colRefreshToken},
	{"connections", colClientSecret},
	{"connections", colAccessToken},
	{"oauth_flows", "verifier_enc"},
	{"webhook_endpoints", colWebhookSecret},
	{"webhook_endpoints", colWebhookPrevious},
	{"app_registrations", colAppCredential},
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
