package store

import "time"

// SeedConnection is one row `broker dev seed` writes: a connection as the
// broker would have left it, secrets in plaintext until SeedConnections
// seals them.
type SeedConnection struct {
	ID, TenantID, ProjectID, Name string
	AccountType, AuthType, Status string
	StatusCode, AccountUsername   string
	Scopes                        []string
	RefreshToken, AccessToken     string // "": none
	ClientSecret                  string // "": none
	AccessTokenExpiresAt          *time.Time
	ClientSecretExpiresAt         *time.Time
	LastUsedAt, LastRefreshAt     *time.Time
	CreatedAt                     time.Time
}

var seedColumns = []string{"id", "tenant_id", "project_id", "name", "account_type", "auth_type", "status", "status_code",
	"account_username", "requested_scopes", "granted_scopes", "refresh_token_enc", "access_token_enc", "client_secret_enc",
	"access_token_expires_at", "client_secret_expires_at", "last_used_at", "last_refresh_at", "created_at", "updated_at",
	"status_changed_at"}

// seedValues are a row's COPY values, secrets sealed for their place.
func (s *Store) seedValues(r *SeedConnection) []any {
	c := Connection{ID: r.ID, TenantID: r.TenantID}
	seal := func(v, column string) []byte {
		if v == "" {
			return nil
		}
		return s.ring.SealString(v, connPlace(&c, column))
	}
	return []any{r.ID, r.TenantID, r.ProjectID, r.Name, r.AccountType, r.AuthType, r.Status, r.StatusCode,
		r.AccountUsername, r.Scopes, r.Scopes, seal(r.RefreshToken, colRefreshToken), seal(r.AccessToken, colAccessToken),
		seal(r.ClientSecret, colClientSecret), r.AccessTokenExpiresAt, r.ClientSecretExpiresAt, r.LastUsedAt,
		r.LastRefreshAt, r.CreatedAt, r.CreatedAt, r.CreatedAt}
}
