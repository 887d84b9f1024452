package tenantapps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Service is what the tenant admin's pages and API do with app
// registrations. Only tenant admins act; every write is audited.
type Service struct {
	Store    *store.Store
	Registry *Registry
	// Verifier makes the client credentials request that proves an app's
	// ID and credential work (the broker's Microsoft client: its endpoints,
	// not its app, are used).
	Verifier    oauth.Provider
	RedirectURL string // what to enter under Authentication › Redirect URIs
	Logger      *slog.Logger
	Now         func() time.Time
}

// Actor is the tenant admin acting: a signed-in person, or an admin API
// key (APIKeyID set; Email then names the key).
type Actor struct {
	TenantID, UserID, Email, RequestID string
	APIKeyID                           string
	Admin                              bool
}

// Errors the pages map to answers.
var (
	ErrNotAdmin = errors.New("tenantapps: only a tenant admin may manage app registrations")
	ErrInvalid  = errors.New("tenantapps: invalid form")
	ErrNotFound = errors.New("tenantapps: not found")
	// ErrInUse: connections use the app; it cannot be deleted.
	ErrInUse = errors.New("tenantapps: connections use this app registration")
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// List returns the tenant's app registrations.
func (s *Service) List(ctx context.Context, a Actor) ([]store.AppRegistration, error) {
	if !a.Admin {
		return nil, ErrNotAdmin
	}
	return s.Store.AppRegistrations(ctx, a.TenantID)
}

// Create validates the form, proves the app at Microsoft, and only then
// stores it. ErrInvalid means f.Errors says why; nothing was saved.
func (s *Service) Create(ctx context.Context, a Actor, f *Form) (store.AppRegistration, error) {
	defer f.Clear()
	if !a.Admin {
		return store.AppRegistration{}, ErrNotAdmin
	}
	f.validate(s.now())
	if !f.Valid() {
		return store.AppRegistration{}, ErrInvalid
	}
	if err := s.verify(ctx, f.HomeTenantID, f.ClientID, f); err != nil {
		return store.AppRegistration{}, err
	}
	cred, thumb, exp := f.stored()
	app, err := s.Store.CreateAppRegistration(ctx, store.NewAppRegistration{TenantID: a.TenantID, ClientID: f.ClientID,
		HomeTenantID: f.HomeTenantID, Audience: f.Audience, DisplayName: f.DisplayName, Credential: cred,
		CertThumbprint: thumb, CredentialExpiresAt: exp, VerifiedAt: s.now(), CreatedBy: a.UserID})
	if errors.Is(err, store.ErrConflict) {
		f.add(FieldClientID, "This app registration is already registered here.")
		return app, ErrInvalid
	}
	if err != nil {
		return app, fmt.Errorf("tenantapps: create: %w", err)
	}
	s.audit(ctx, a, "tenant.app_registered", map[string]any{"app_id": app.ID, "client_id": app.ClientID,
		"audience": app.Audience, "credential": credentialKind(thumb)})
	return app, nil
}

// Rotate replaces the app's credential with a new one, proven first.
// Connections keep working: they refresh with the new credential from the
// next request on (this replica at once, others within Registry.TTL or
// their next refusal).
func (s *Service) Rotate(ctx context.Context, a Actor, id string, f *Form) (store.AppRegistration, error) {
	defer f.Clear()
	if !a.Admin {
		return store.AppRegistration{}, ErrNotAdmin
	}
	app, err := s.Store.AppRegistration(ctx, a.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return app, ErrNotFound
	}
	if err != nil {
		return app, fmt.Errorf("tenantapps: rotate: %w", err)
	}
	f.validateCredential(s.now())
	if !f.Valid() {
		return app, ErrInvalid
	}
	if err := s.verify(ctx, app.HomeTenantID, app.ClientID, f); err != nil {
		return app, err
	}
	cred, thumb, exp := f.stored()
	out, err := s.Store.ReplaceAppCredential(ctx, a.TenantID, id, store.AppCredentialUpdate{Credential: cred,
		CertThumbprint: thumb, CredentialExpiresAt: exp, VerifiedAt: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return app, ErrNotFound
	}
	if err != nil {
		return app, fmt.Errorf("tenantapps: rotate: %w", err)
	}
	if s.Registry != nil {
		s.Registry.Reset(id)
	}
	s.audit(ctx, a, "tenant.app_credential_rotated", map[string]any{"app_id": id, "client_id": app.ClientID,
		"credential": credentialKind(thumb)})
	return out, nil
}

// Delete removes an app no connection uses.
func (s *Service) Delete(ctx context.Context, a Actor, id string) (store.AppRegistration, error) {
	if !a.Admin {
		return store.AppRegistration{}, ErrNotAdmin
	}
	app, err := s.Store.AppRegistration(ctx, a.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return app, ErrNotFound
	}
	if err != nil {
		return app, fmt.Errorf("tenantapps: delete: %w", err)
	}
	switch err := s.Store.DeleteAppRegistration(ctx, a.TenantID, id); {
	case errors.Is(err, store.ErrAppInUse):
		return app, ErrInUse
	case errors.Is(err, store.ErrNotFound):
		return app, ErrNotFound
	case err != nil:
		return app, fmt.Errorf("tenantapps: delete: %w", err)
	}
	if s.Registry != nil {
		s.Registry.Reset(id)
	}
	s.audit(ctx, a, "tenant.app_deleted", map[string]any{"app_id": id, "client_id": app.ClientID})
	return app, nil
}

// SetProjectDefault makes appID ("": the broker's) the app new connections
// of the project use. Existing connections keep the app they were made with.
func (s *Service) SetProjectDefault(ctx context.Context, a Actor, projectID, appID string) error {
	if !a.Admin {
		return ErrNotAdmin
	}
	if appID != "" {
		if _, err := s.Store.AppRegistration(ctx, a.TenantID, appID); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("tenantapps: project default: %w", err)
		}
	}
	switch err := s.Store.SetProjectApp(ctx, a.TenantID, projectID, appID); {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("tenantapps: project default: %w", err)
	}
	s.audit(ctx, a, "project.app_changed", map[string]any{"project_id": projectID, "app_id": appID})
	return nil
}

// verify asks Microsoft for an app-only token at the app's home tenant
// with the form's credential: the platform checks the client ID and the
// secret or certificate before anything else, so a success proves both
// (client credentials flow, learn.microsoft.com/entra/identity-platform/
// v2-oauth2-client-creds-grant-flow). A refusal is shown with its AADSTS
// code and Microsoft's one-line summary, at the field it concerns.
func (s *Service) verify(ctx context.Context, homeTenant, clientID string, f *Form) error {
	_, err := s.Verifier.ClientCredentials(ctx, homeTenant, clientID, f.credential())
	if err == nil {
		return nil
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return fmt.Errorf("tenantapps: verify: %w", err)
	}
	if oe.Network || oe.Transient() {
		f.add(FieldForm, "Microsoft did not answer the check ("+oe.Error()+"). Nothing was saved; try again in a moment.")
		return ErrInvalid
	}
	said := oe.Summary()
	if c := oe.AADSTS(); c != "" {
		said = c + ": " + said
	}
	field, hint := FieldForm, ""
	code := 0
	if len(oe.ErrorCodes) > 0 {
		code = oe.ErrorCodes[0]
	}
	switch code {
	case 7000215:
		field, hint = FieldSecret, "Microsoft does not accept this client secret. Copy the secret's Value (not its Secret ID) from Certificates & secrets."
	case 7000222:
		field, hint = FieldSecret, "This client secret has expired. Add a new one under Certificates & secrets."
	case 700027, 700024:
		field, hint = FieldCertificate, "Microsoft does not accept a client assertion signed with this certificate. Upload its public certificate to the app registration (Certificates & secrets › Certificates)."
	case 700016:
		field, hint = FieldClientID, "Microsoft finds no app with this client ID in this directory. Check the Application (client) ID and the Directory (tenant) ID on the app's Overview page."
	case 90002, 900023:
		field, hint = FieldHomeTenant, "Microsoft finds no such directory. Check the Directory (tenant) ID on the app's Overview page."
	case 7000112:
		field, hint = FieldClientID, "This app registration is disabled."
	}
	if f.Credential == "certificate" && field == FieldSecret {
		field = FieldCertificate
	}
	if hint == "" {
		hint = "Microsoft refused the check."
	}
	f.add(field, hint+" Microsoft said: "+said)
	if field != FieldForm {
		f.add(FieldForm, "Microsoft refused the app registration; nothing was saved.")
	}
	return ErrInvalid
}

func credentialKind(thumb string) string {
	if thumb != "" {
		return "certificate"
	}
	return "secret"
}

func (s *Service) audit(ctx context.Context, a Actor, action string, details map[string]any) {
	e := store.AuditEvent{TenantID: a.TenantID, ActorType: "user", ActorID: a.UserID,
		ActorLabel: a.Email, Action: action, Details: details, RequestID: a.RequestID}
	if a.APIKeyID != "" {
		e.ActorType, e.ActorID = "api_key", a.APIKeyID
	}
	err := s.Store.AppendAudit(ctx, e)
	if err != nil && s.Logger != nil {
		s.Logger.ErrorContext(ctx, "audit event not written", "action", action, "err", err)
	}
}
