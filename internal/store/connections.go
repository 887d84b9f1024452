package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// Connection is one Outlook connection's metadata. Its secrets live in
// Credentials and are only decrypted when a caller asks for them.
type Connection struct {
	ID                    string
	TenantID              string
	ProjectID             string
	ProjectName           string
	Name                  string
	AccountType           string // common | tenant | consumers | organizations
	AuthType              string // authorization_code | client_credentials
	MSTenant              string // Tenant ID/Domain as entered, tenant-specific only
	ClientID              string // client credentials only
	UserPrincipal         string // client credentials only: the User ID
	RequestedScopes       []string
	GrantedScopes         []string
	Status                string
	StatusReason          string
	StatusCode            string
	StatusTraceID         string
	StatusChangedAt       time.Time
	AccountTID            string
	AccountOID            string
	AccountUsername       string
	AccountName           string
	CreatedBy             string
	CreatedByEmail        string
	CreatedAt             time.Time
	UpdatedAt             time.Time
	ClientSecretExpiresAt *time.Time // a certificate's own expiry when the credential is one
	// ClientCertThumbprint is the SHA-256 thumbprint (hex) when the app's
	// credential is a certificate, "" for a client secret.
	ClientCertThumbprint string
	AccessTokenExpiresAt *time.Time
	LastRefreshAt        *time.Time
	LastUsedAt           *time.Time
	Version              int64
	HasRefreshToken      bool
	HasClientSecret      bool
	// Approval is a fact of its own: a connection made while its tenant
	// required approval serves no tokens until an admin approves it,
	// whatever status it reaches meanwhile (see Unapproved).
	NeedsApproval bool
	ApprovedAt    *time.Time
	ApprovedBy    string // the approving admin's label, for the pages and the audit trail
	// EndUser is who the connection is for in the product that made it
	// through a connect link; Metadata is that product's labels.
	EndUser  EndUser
	Metadata map[string]string
	// AppID is the tenant app registration the connection signs in and
	// refreshes with; "" is the broker's own app. Fixed for its life.
	AppID string
}

// EndUser is a product's own user, who has no broker login.
type EndUser struct {
	ID, Email, DisplayName string
}

// Unapproved reports whether the connection still waits for an admin's
// approval. Such a connection never holds a status that serves tokens: the
// store turns active into awaiting_approval for it (and Postgres checks).
func (c Connection) Unapproved() bool { return c.NeedsApproval && c.ApprovedAt == nil }

// Credentials are a connection's decrypted secrets.
type Credentials struct {
	RefreshToken         string
	ClientSecret         string
	AccessToken          string
	AccessTokenExpiresAt time.Time
}

// Secret columns of connections, named once so sealing and rotation agree.
const (
	colRefreshToken = "refresh_token_enc"
	colClientSecret = "client_secret_enc"
	colAccessToken  = "access_token_enc"
)

func connPlace(c *Connection, column string) secrets.Place {
	return secrets.Place{Table: "connections", Column: column, RowID: c.ID, TenantID: c.TenantID}
}

const connectionColumns = `c.id, c.tenant_id, c.project_id, p.name, c.name, c.account_type, c.auth_type, c.ms_tenant,
	c.client_id, c.user_principal, c.requested_scopes, c.granted_scopes, c.status, c.status_reason, c.status_code,
	c.status_trace_id, c.status_changed_at, c.account_tid, c.account_oid, c.account_username, c.account_name,
	coalesce(c.created_by::text, ''), coalesce(u.email, ''), c.created_at, c.updated_at, c.client_secret_expires_at,
	c.access_token_expires_at, c.last_refresh_at, c.last_used_at, c.version,
	c.refresh_token_enc IS NOT NULL, c.client_secret_enc IS NOT NULL, c.needs_approval, c.approved_at, c.approved_by,
	c.end_user_id, c.end_user_email, c.end_user_display_name, c.metadata, coalesce(c.client_certificate_thumbprint, ''),
	coalesce(c.app_id::text, '')`

const connectionFrom = ` FROM connections c JOIN projects p ON p.id = c.project_id LEFT JOIN users u ON u.id = c.created_by`

func scanConnection(r pgx.Row) (Connection, error) {
	var c Connection
	err := r.Scan(connectionFields(&c)...)
	return c, err
}

// connectionFields are the scan targets of connectionColumns, in order;
// callers that select more columns append their own.
func connectionFields(c *Connection, more ...any) []any {
	return append([]any{&c.ID, &c.TenantID, &c.ProjectID, &c.ProjectName, &c.Name, &c.AccountType, &c.AuthType, &c.MSTenant,
		&c.ClientID, &c.UserPrincipal, &c.RequestedScopes, &c.GrantedScopes, &c.Status, &c.StatusReason, &c.StatusCode,
		&c.StatusTraceID, &c.StatusChangedAt, &c.AccountTID, &c.AccountOID, &c.AccountUsername, &c.AccountName,
		&c.CreatedBy, &c.CreatedByEmail, &c.CreatedAt, &c.UpdatedAt, &c.ClientSecretExpiresAt,
		&c.AccessTokenExpiresAt, &c.LastRefreshAt, &c.LastUsedAt, &c.Version,
		&c.HasRefreshToken, &c.HasClientSecret, &c.NeedsApproval, &c.ApprovedAt, &c.ApprovedBy,
		&c.EndUser.ID, &c.EndUser.Email, &c.EndUser.DisplayName, &c.Metadata, &c.ClientCertThumbprint, &c.AppID}, more...)
}

// NewConnection is what creating a connection needs.
type NewConnection struct {
	TenantID, ProjectID, Name, AccountType, AuthType string
	MSTenant, ClientID, UserPrincipal                string
	RequestedScopes                                  []string
	Status                                           string // default pending
	ClientSecret                                     string // sealed before it is written
	ClientSecretExpiresAt                            *time.Time
	ClientCertThumbprint                             string // when ClientSecret is a certificate credential
	CreatedBy                                        string
	EndUser                                          EndUser           // set by a connect link
	Metadata                                         map[string]string // likewise; nil: none
	AppID                                            string            // a tenant app registration; "" the broker's
}

func metadataOf(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CreateConnection inserts a connection; a name taken in the project is ErrConflict.
func (s *Store) CreateConnection(ctx context.Context, n NewConnection) (Connection, error) {
	c := Connection{ID: uuid.NewString(), TenantID: n.TenantID}
	status := n.Status
	if status == "" {
		status = "pending"
	}
	if n.RequestedScopes == nil {
		n.RequestedScopes = []string{}
	}
	secret := s.ring.SealString(n.ClientSecret, connPlace(&c, colClientSecret))
	err := s.inTenant(ctx, n.TenantID, func(tx pgx.Tx) error {
		// Made while the tenant requires approval: the connection needs it,
		// and waits for it rather than start out serving tokens.
		var needs bool
		if err := tx.QueryRow(ctx, `SELECT require_approval FROM tenants WHERE id = $1`, n.TenantID).Scan(&needs); err != nil {
			return err
		}
		needs = needs || status == "awaiting_approval"
		if needs && servingStatus(status) {
			status = "awaiting_approval"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO connections (id, tenant_id, project_id, name, account_type, auth_type, ms_tenant,
			client_id, user_principal, requested_scopes, status, client_secret_enc, client_secret_expires_at, created_by,
			needs_approval, end_user_id, end_user_email, end_user_display_name, metadata, client_certificate_thumbprint, app_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULLIF($14, '')::uuid, $15, $16, $17, $18, $19, NULLIF($20, ''),
			NULLIF($21, '')::uuid)`,
			c.ID, n.TenantID, n.ProjectID, n.Name, n.AccountType, n.AuthType, n.MSTenant, n.ClientID, n.UserPrincipal,
			n.RequestedScopes, status, secret, n.ClientSecretExpiresAt, n.CreatedBy, needs,
			n.EndUser.ID, n.EndUser.Email, n.EndUser.DisplayName, metadataOf(n.Metadata), n.ClientCertThumbprint, n.AppID); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, c.TenantID, c.ID, StatusEvent{Status: status}); err != nil {
			return err
		}
		var err error
		if c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, c.ID)); err != nil {
			return err
		}
		return appendEvent(ctx, tx, connectionEvent(EventConnectionCreated, c), s.now())
	})
	return c, mapErr("create connection", err)
}

// Connection reads one connection of the tenant.
func (s *Store) Connection(ctx context.Context, tenantID, id string) (Connection, error) {
	var c Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, id))
		return err
	})
	return c, mapErr("get connection", err)
}

// ConnectionWithCredentials reads a connection and decrypts its secrets.
func (s *Store) ConnectionWithCredentials(ctx context.Context, tenantID, id string) (Connection, Credentials, error) {
	var c Connection
	var cr Credentials
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		c, cr, err = s.readWithCredentials(ctx, tx, id, false)
		return err
	})
	return c, cr, mapErr("get connection credentials", err)
}

func (s *Store) readWithCredentials(ctx context.Context, tx pgx.Tx, id string, forUpdate bool) (Connection, Credentials, error) {
	q := `SELECT ` + connectionColumns + `, c.refresh_token_enc, c.client_secret_enc, c.access_token_enc` + connectionFrom + ` WHERE c.id = $1`
	if forUpdate {
		q += ` FOR UPDATE OF c`
	}
	var rt, cs, at []byte
	var c Connection
	err := tx.QueryRow(ctx, q, id).Scan(connectionFields(&c, &rt, &cs, &at)...)
	if err != nil {
		return c, Credentials{}, err
	}
	var cr Credentials
	if cr.RefreshToken, err = s.ring.OpenString(rt, connPlace(&c, colRefreshToken)); err != nil {
		return c, cr, fmt.Errorf("open refresh token: %w", err)
	}
	if cr.ClientSecret, err = s.ring.OpenString(cs, connPlace(&c, colClientSecret)); err != nil {
		return c, cr, fmt.Errorf("open client secret: %w", err)
	}
	if cr.AccessToken, err = s.ring.OpenString(at, connPlace(&c, colAccessToken)); err != nil {
		return c, cr, fmt.Errorf("open access token: %w", err)
	}
	if c.AccessTokenExpiresAt != nil {
		cr.AccessTokenExpiresAt = *c.AccessTokenExpiresAt
	}
	return c, cr, nil
}

// ConnectionUpdate is what an updater may change. Nil pointers leave a field
// alone; secrets are sealed here, in the transaction that writes them.
type ConnectionUpdate struct {
	Status                *StatusEvent
	GrantedScopes         []string
	Account               *Account
	RefreshToken          *string // "" removes it
	ClientSecret          *string // "" removes it
	ClientSecretExpiresAt **time.Time
	// ClientCertThumbprint goes with ClientSecret: the certificate's
	// thumbprint when the new credential is one, "" for a secret.
	ClientCertThumbprint string
	AccessToken          *string // "" removes it
	AccessTokenExpiresAt *time.Time
	Refreshed            bool      // sets last_refresh_at
	Approve              *Approval // an admin's approval; nothing else sets approved_at
}

// Approval is an admin approving a connection.
type Approval struct{ By string }

// servingStatus: the statuses that hand out tokens (tokens.statusError
// agrees; the migration's CHECK names them too).
func servingStatus(s string) bool { return s == "active" || s == "secret_expiring" }

// approvalHold is the status an update may really set: an unapproved
// connection that would become active (a working reconnect, test or
// refresh) waits for approval instead. Setting awaiting_approval (a first
// sign-in in a tenant that requires approval) makes the connection need it.
func approvalHold(c *Connection, u *ConnectionUpdate) {
	if u.Status == nil || u.Approve != nil || !c.Unapproved() || !servingStatus(u.Status.Status) {
		return
	}
	ev := *u.Status
	ev.Status, ev.ErrorCode, ev.TraceID = "awaiting_approval", "", ""
	ev.Reason = strings.TrimSpace(ev.Reason + " Waiting for an administrator's approval.")
	u.Status = &ev
}

// Account is the Microsoft identity a connection signed in as.
type Account struct{ TID, OID, Username, Name string }

// StatusEvent is a status change with Microsoft's reason.
type StatusEvent struct {
	Status, Reason, ErrorCode, TraceID, CorrelationID string
}

// UpdateConnection locks the connection row, hands it and its decrypted
// credentials to fn, and applies the update fn returns, all in one
// transaction: the read-modify-write of a token refresh.
func (s *Store) UpdateConnection(ctx context.Context, tenantID, id string,
	fn func(Connection, Credentials) (ConnectionUpdate, error)) (Connection, error) {
	var out Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		c, cr, err := s.readWithCredentials(ctx, tx, id, true)
		if err != nil {
			return err
		}
		u, err := fn(c, cr)
		if err != nil {
			return err
		}
		if err := s.applyUpdate(ctx, tx, &c, u); err != nil {
			return err
		}
		out, err = scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1`, id))
		return err
	})
	return out, mapErr("update connection", err)
}

func (s *Store) applyUpdate(ctx context.Context, tx pgx.Tx, c *Connection, u ConnectionUpdate) error {
	seal := func(v *string, col string) any {
		if v == nil {
			return nil
		}
		return s.ring.SealString(*v, connPlace(c, col))
	}
	approvalHold(c, &u)
	before := *c
	hold := u.Status != nil && u.Status.Status == "awaiting_approval" && u.Approve == nil
	// Each optional column keeps its value when its "set" flag is false.
	_, err := tx.Exec(ctx, `UPDATE connections SET
		status = CASE WHEN $2 THEN $3 ELSE status END,
		status_reason = CASE WHEN $2 THEN $4 ELSE status_reason END,
		status_code = CASE WHEN $2 THEN $5 ELSE status_code END,
		status_trace_id = CASE WHEN $2 THEN $6 ELSE status_trace_id END,
		status_changed_at = CASE WHEN $2 AND status <> $3 THEN now() ELSE status_changed_at END,
		granted_scopes = CASE WHEN $7 THEN $8 ELSE granted_scopes END,
		account_tid = CASE WHEN $9 THEN $10 ELSE account_tid END,
		account_oid = CASE WHEN $9 THEN $11 ELSE account_oid END,
		account_username = CASE WHEN $9 THEN $12 ELSE account_username END,
		account_name = CASE WHEN $9 THEN $13 ELSE account_name END,
		refresh_token_enc = CASE WHEN $14 THEN $15 ELSE refresh_token_enc END,
		client_secret_enc = CASE WHEN $16 THEN $17 ELSE client_secret_enc END,
		client_certificate_thumbprint = CASE WHEN $16 THEN NULLIF($27, '') ELSE client_certificate_thumbprint END,
		access_token_enc = CASE WHEN $18 THEN $19 ELSE access_token_enc END,
		access_token_expires_at = CASE WHEN $18 THEN $20 ELSE access_token_expires_at END,
		last_refresh_at = CASE WHEN $21 THEN now() ELSE last_refresh_at END,
		client_secret_expires_at = CASE WHEN $22 THEN $23 ELSE client_secret_expires_at END,
		needs_approval = needs_approval OR $24,
		approved_at = CASE WHEN $25 THEN now() WHEN $24 THEN NULL ELSE approved_at END,
		approved_by = CASE WHEN $25 THEN $26 WHEN $24 THEN '' ELSE approved_by END,
		updated_at = now(), version = version + 1
		WHERE id = $1`,
		c.ID,
		u.Status != nil, pick(u.Status, func(e *StatusEvent) string { return e.Status }),
		pick(u.Status, func(e *StatusEvent) string { return e.Reason }),
		pick(u.Status, func(e *StatusEvent) string { return e.ErrorCode }),
		pick(u.Status, func(e *StatusEvent) string { return e.TraceID }),
		u.GrantedScopes != nil, nonNil(u.GrantedScopes),
		u.Account != nil, pick(u.Account, func(a *Account) string { return a.TID }),
		pick(u.Account, func(a *Account) string { return a.OID }),
		pick(u.Account, func(a *Account) string { return a.Username }),
		pick(u.Account, func(a *Account) string { return a.Name }),
		u.RefreshToken != nil, seal(u.RefreshToken, colRefreshToken),
		u.ClientSecret != nil, seal(u.ClientSecret, colClientSecret),
		u.AccessToken != nil, seal(u.AccessToken, colAccessToken), u.AccessTokenExpiresAt,
		u.Refreshed,
		u.ClientSecretExpiresAt != nil, derefTime(u.ClientSecretExpiresAt),
		hold, u.Approve != nil, pick(u.Approve, func(a *Approval) string { return a.By }), u.ClientCertThumbprint)
	if err != nil {
		return err
	}
	if u.Status != nil && (u.Status.Status != c.Status || u.Status.ErrorCode != c.StatusCode) {
		if err := insertEvent(ctx, tx, c.TenantID, c.ID, *u.Status); err != nil {
			return err
		}
	}
	return writeConnectionEvents(ctx, tx, before, u, s.now())
}

func pick[T any](p *T, f func(*T) string) string {
	if p == nil {
		return ""
	}
	return f(p)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func derefTime(p **time.Time) *time.Time {
	if p == nil {
		return nil
	}
	return *p
}

func insertEvent(ctx context.Context, tx pgx.Tx, tenantID, connID string, e StatusEvent) error {
	_, err := tx.Exec(ctx, `INSERT INTO connection_events (tenant_id, connection_id, status, reason, error_code, trace_id, correlation_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, connID, e.Status, e.Reason, e.ErrorCode, e.TraceID, e.CorrelationID)
	return err
}

// DeleteConnection removes a connection and, with it, its secrets.
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		c, err := scanConnection(tx.QueryRow(ctx, `SELECT `+connectionColumns+connectionFrom+` WHERE c.id = $1 FOR UPDATE OF c`, id))
		if err != nil {
			return mapErr("delete connection", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id)
		if err := notFoundIfNone("delete connection", tag, err); err != nil {
			return err
		}
		return appendEvent(ctx, tx, connectionEvent(EventConnectionDeleted, c), s.now())
	})
}

// ListConnectionsFilter narrows ListConnections.
type ListConnectionsFilter struct {
	ProjectIDs []string // nil: all projects
	Status     string
	EndUserID  string // "": any
	Limit      int
	AfterID    string // keyset: connections created before this one
}

// ListConnections lists a tenant's connections, newest first.
func (s *Store) ListConnections(ctx context.Context, tenantID string, f ListConnectionsFilter) ([]Connection, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []Connection
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+connectionColumns+connectionFrom+`
			WHERE ($1::uuid[] IS NULL OR c.project_id = ANY($1))
			  AND ($2 = '' OR c.status = $2)
			  AND ($3 = '' OR (c.created_at, c.id) < (SELECT created_at, id FROM connections WHERE id = NULLIF($3, '')::uuid))
			  AND ($5 = '' OR c.end_user_id = $5)
			ORDER BY c.created_at DESC, c.id DESC LIMIT $4`, f.ProjectIDs, f.Status, f.AfterID, f.Limit, f.EndUserID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Connection, error) { return scanConnection(r) })
		return err
	})
	return out, mapErr("list connections", err)
}

// StatusEvents lists a connection's status history, newest first.
func (s *Store) StatusEvents(ctx context.Context, tenantID, connID string, limit int) ([]StatusEventRow, error) {
	var out []StatusEventRow
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT at, status, reason, error_code, trace_id, correlation_id FROM connection_events
			WHERE connection_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, connID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatusEventRow, error) {
			var e StatusEventRow
			return e, r.Scan(&e.At, &e.Status, &e.Reason, &e.ErrorCode, &e.TraceID, &e.CorrelationID)
		})
		return err
	})
	return out, mapErr("status events", err)
}

// StatusEventRow is a stored StatusEvent.
type StatusEventRow struct {
	At time.Time
	StatusEvent
}
