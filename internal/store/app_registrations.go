package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/brokerhq/broker/internal/secrets"
)

// colAppCredential is the sealed credential of a tenant app registration.
const colAppCredential = "credential_enc"

func appPlace(id, tenantID string) secrets.Place {
	return secrets.Place{Table: "app_registrations", Column: colAppCredential, RowID: id, TenantID: tenantID}
}

// App registration audiences: the "Supported account types" of the portal.
const (
	AudienceSingle          = "single"            // this organizational directory only
	AudienceMultipleOrgs    = "multiple_orgs"     // any organizational directory
	AudienceOrgsAndPersonal = "orgs_and_personal" // any organizational directory and personal accounts
	AudiencePersonal        = "personal"          // personal Microsoft accounts only
)

// ErrAppInUse means connections still use the app registration.
var ErrAppInUse = errors.New("app registration in use")

// AppRegistration is a tenant's own Entra app registration, without its
// credential. Every field is safe to show.
type AppRegistration struct {
	ID                  string
	TenantID            string
	ClientID            string
	HomeTenantID        string // the app's Directory (tenant) ID
	Audience            string
	DisplayName         string
	CertThumbprint      string // SHA-256, when the credential is a certificate
	CredentialExpiresAt *time.Time
	CredentialChangedAt time.Time
	VerifiedAt          time.Time
	FailureCode         string // AADSTS7000215 while Microsoft refuses the app
	FailureSummary      string
	FailureTraceID      string
	FailingSince        *time.Time
	CreatedBy           string
	CreatedAt           time.Time
	Connections         int      // connections made with it
	Projects            []string // names of the projects that use it by default
}

// Label is the display name, or the client ID without one.
func (a AppRegistration) Label() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.ClientID
}

// Failing reports whether Microsoft refuses the app now.
func (a AppRegistration) Failing() bool { return a.FailureCode != "" }

const appColumns = `a.id::text, a.tenant_id::text, a.client_id, a.home_tenant_id, a.audience, a.display_name,
	coalesce(a.certificate_thumbprint, ''), a.credential_expires_at, a.credential_changed_at, a.verified_at,
	a.failure_code, a.failure_summary, a.failure_trace_id, a.failing_since, coalesce(a.created_by::text, ''), a.created_at,
	(SELECT count(*) FROM connections c WHERE c.app_id = a.id),
	array(SELECT p.name FROM projects p WHERE p.app_id = a.id ORDER BY lower(p.name))`

func appFields(a *AppRegistration, more ...any) []any {
	return append([]any{&a.ID, &a.TenantID, &a.ClientID, &a.HomeTenantID, &a.Audience, &a.DisplayName,
		&a.CertThumbprint, &a.CredentialExpiresAt, &a.CredentialChangedAt, &a.VerifiedAt,
		&a.FailureCode, &a.FailureSummary, &a.FailureTraceID, &a.FailingSince, &a.CreatedBy, &a.CreatedAt,
		&a.Connections, &a.Projects}, more...)
}

// NewAppRegistration is a verified app registration to store; Credential
// (a secret's Value or an encoded certificate) is sealed here.
type NewAppRegistration struct {
	TenantID, ClientID, HomeTenantID, Audience, DisplayName string
	Credential                                              string
	CertThumbprint                                          string
	CredentialExpiresAt                                     *time.Time
	VerifiedAt                                              time.Time
	CreatedBy                                               string
}

// CreateAppRegistration stores an app registration; its client ID already
// registered in the tenant is ErrConflict.
func (s *Store) CreateAppRegistration(ctx context.Context, n NewAppRegistration) (AppRegistration, error) {
	id := uuid.NewString()
	cred := s.ring.SealString(n.Credential, appPlace(id, n.TenantID))
	var out AppRegistration
	err := s.inTenant(ctx, n.TenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO app_registrations (id, tenant_id, client_id, home_tenant_id, audience, display_name,
			credential_enc, certificate_thumbprint, credential_expires_at, credential_changed_at, verified_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10, $10, NULLIF($11, '')::uuid)`,
			id, n.TenantID, n.ClientID, n.HomeTenantID, n.Audience, n.DisplayName, cred, n.CertThumbprint,
			n.CredentialExpiresAt, n.VerifiedAt, n.CreatedBy); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT `+appColumns+` FROM app_registrations a WHERE a.id = $1`, id).Scan(appFields(&out)...)
	})
	return out, mapErr("create app registration", err)
}

// AppRegistrations lists the tenant's app registrations, oldest first.
func (s *Store) AppRegistrations(ctx context.Context, tenantID string) ([]AppRegistration, error) {
	var out []AppRegistration
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+appColumns+` FROM app_registrations a ORDER BY a.created_at, a.id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppRegistration, error) {
			var a AppRegistration
			return a, r.Scan(appFields(&a)...)
		})
		return err
	})
	return out, mapErr("list app registrations", err)
}

// AppRegistration reads one app registration of the tenant.
func (s *Store) AppRegistration(ctx context.Context, tenantID, id string) (AppRegistration, error) {
	var a AppRegistration
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT `+appColumns+` FROM app_registrations a WHERE a.id = $1`, id).Scan(appFields(&a)...)
	})
	return a, mapErr("get app registration", err)
}

// AppRegistrationCredential reads an app registration and opens its
// credential. Callers keep what they opened (internal/tenantapps caches
// it): this is not for the token path's every request.
func (s *Store) AppRegistrationCredential(ctx context.Context, tenantID, id string) (AppRegistration, string, error) {
	var a AppRegistration
	var ct []byte
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT `+appColumns+`, a.credential_enc FROM app_registrations a WHERE a.id = $1`, id).
			Scan(appFields(&a, &ct)...)
	})
	if err != nil {
		return a, "", mapErr("get app registration credential", err)
	}
	cred, err := s.ring.OpenString(ct, appPlace(a.ID, a.TenantID))
	if err != nil {
		return a, "", fmt.Errorf("store: open app registration credential: %w", err)
	}
	return a, cred, nil
}

// AppCredentialUpdate is a new, verified credential for an app registration.
type AppCredentialUpdate struct {
	Credential          string
	CertThumbprint      string
	CredentialExpiresAt *time.Time
	VerifiedAt          time.Time
}

// ReplaceAppCredential stores a rotated credential and clears a recorded
// failure: it was just verified.
func (s *Store) ReplaceAppCredential(ctx context.Context, tenantID, id string, u AppCredentialUpdate) (AppRegistration, error) {
	cred := s.ring.SealString(u.Credential, appPlace(id, tenantID))
	var out AppRegistration
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE app_registrations SET credential_enc = $2, certificate_thumbprint = NULLIF($3, ''),
			credential_expires_at = $4, credential_changed_at = $5, verified_at = $5, failure_code = '', failure_summary = '',
			failure_trace_id = '', failing_since = NULL, updated_at = $5 WHERE id = $1`,
			id, cred, u.CertThumbprint, u.CredentialExpiresAt, u.VerifiedAt)
		if err := notFoundIfNone("replace app credential", tag, err); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT `+appColumns+` FROM app_registrations a WHERE a.id = $1`, id).Scan(appFields(&out)...)
	})
	return out, mapErr("replace app credential", err)
}

// AppFailure is Microsoft refusing an app registration (code "": it works).
type AppFailure struct {
	Code, Summary, TraceID string
	At                     time.Time
}

// SetAppFailure records the app's condition; failing_since keeps the first
// failure's time while the code stays the same. It reports whether the row
// changed, so callers audit a condition once.
func (s *Store) SetAppFailure(ctx context.Context, tenantID, id string, f AppFailure) (bool, error) {
	var changed bool
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE app_registrations SET failure_code = $2, failure_summary = $3, failure_trace_id = $4,
			failing_since = CASE WHEN $2 = '' THEN NULL WHEN failure_code = $2 THEN failing_since ELSE $5 END, updated_at = $5
			WHERE id = $1 AND failure_code IS DISTINCT FROM $2`, id, f.Code, f.Summary, f.TraceID, f.At)
		changed = err == nil && tag.RowsAffected() > 0
		return err
	})
	return changed, mapErr("set app failure", err)
}

// DeleteAppRegistration deletes an app registration no connection uses
// (ErrAppInUse otherwise); projects that used it by default go back to the
// broker's app.
func (s *Store) DeleteAppRegistration(ctx context.Context, tenantID, id string) error {
	err := s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM connections WHERE app_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAppInUse
		}
		tag, err := tx.Exec(ctx, `DELETE FROM app_registrations WHERE id = $1`, id)
		return notFoundIfNone("delete app registration", tag, err)
	})
	if errors.Is(err, ErrAppInUse) {
		return fmt.Errorf("store: delete app registration: %w", ErrAppInUse)
	}
	return mapErr("delete app registration", err)
}

// SetProjectApp sets the app a project's new connections use by default
// (appID "": the broker's). Existing connections keep theirs.
func (s *Store) SetProjectApp(ctx context.Context, tenantID, projectID, appID string) error {
	return s.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE projects SET app_id = NULLIF($2, '')::uuid WHERE id = $1`, projectID, appID)
		return notFoundIfNone("set project app", tag, err)
	})
}
