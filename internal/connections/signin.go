package connections

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Flow kinds, as stored.
const (
	kindSignIn       = "sign_in"   // a connection's first sign-in: failures keep it pending, with the reason
	kindReconnect    = "reconnect" // a working or broken connection signs in again: failures change nothing
	kindAdminConsent = "admin_consent"
)

// Outcome is what a valid form led to: a sign-in to send the browser to, or
// a client credentials connection that already works.
type Outcome struct {
	Connection  store.Connection
	RedirectURL string // Microsoft's sign-in page, for authorization code
}

// ErrNoSession means the actor has no browser session to bind a flow to.
var ErrNoSession = errors.New("connections: no browser session")

// Submit validates the form and acts on it. ErrInvalid means f.Errors says
// why; f's client secret is cleared whatever happens.
func (s *Service) Submit(ctx context.Context, a Actor, f *Form) (Outcome, error) {
	defer f.Clear()
	projects, err := s.Projects(ctx, a)
	if err != nil {
		return Outcome{}, err
	}
	f.Validate(projects, s.Now())
	if f.Errors[FieldName] == "" && f.Errors[FieldProject] == "" {
		if err := s.checkNameFree(ctx, a, f); err != nil {
			return Outcome{}, err
		}
	}
	if f.Valid() {
		if err := s.resolveApp(ctx, a, f, projects); err != nil {
			return Outcome{}, err
		}
	}
	if !f.Valid() {
		return Outcome{}, ErrInvalid
	}
	if f.AuthType == AuthClientCredentials {
		return s.createClientCredentials(ctx, a, f)
	}
	if f.AccountType == AccountTenant {
		if err := s.checkTenant(ctx, f); err != nil {
			return Outcome{}, err
		}
	}
	return s.startNew(ctx, a, f)
}

func (s *Service) checkNameFree(ctx context.Context, a Actor, f *Form) error {
	c, err := s.Store.ConnectionByName(ctx, a.TenantID, f.ProjectID, f.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("connections: check name: %w", err)
	}
	f.nameTaken(c)
	return nil
}

// nameTaken records that the name is in use, pointing at the connection.
func (f *Form) nameTaken(c store.Connection) {
	f.TakenBy = c.ID
	f.Errors.Add(FieldName, "A connection with this name already exists in this project. Choose another name.")
}

// startNew creates a pending connection and its sign-in flow together, and
// returns where to send the browser.
func (s *Service) startNew(ctx context.Context, a Actor, f *Form) (Outcome, error) {
	if len(a.SessionHash) == 0 {
		return Outcome{}, ErrNoSession
	}
	authority := Authority(f.AccountType, f.MSTenant)
	requested := scopesFor(f.AccountType, requestedScopes(f.Scopes))
	p, err := s.providerFor(ctx, a.TenantID, f.appID)
	if err != nil {
		return Outcome{}, err
	}
	fl, state := s.newFlow(a, kindSignIn, authority, true)
	endUser, metadata := a.endUser()
	var conn store.Connection
	conn, _, err = s.Store.CreateConnectionWithFlow(ctx, store.NewConnection{
		TenantID: a.TenantID, ProjectID: f.ProjectID, Name: f.Name, AccountType: string(f.AccountType),
		AuthType: string(AuthCode), MSTenant: f.MSTenant, RequestedScopes: requested, CreatedBy: a.UserID,
		EndUser: endUser, Metadata: metadata, AppID: f.appID,
	}, fl)
	if errors.Is(err, store.ErrConflict) {
		if c, err := s.Store.ConnectionByName(ctx, a.TenantID, f.ProjectID, f.Name); err == nil {
			f.nameTaken(c)
		} else {
			f.Errors.Add(FieldName, "A connection with this name already exists in this project. Choose another name.")
		}
		return Outcome{}, ErrInvalid
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("connections: create: %w", err)
	}
	details := map[string]any{"auth_type": conn.AuthType, "account_type": conn.AccountType, "ms_tenant": conn.MSTenant,
		"scopes": requested}
	if conn.AppID != "" {
		details["app_id"] = conn.AppID
	}
	s.audit(ctx, a, "connection.created", conn.ID, "", details)
	return Outcome{Connection: conn, RedirectURL: p.AuthorizeURL(s.authorizeRequest(fl, state, requested, ""))}, nil
}

// newFlow prepares a one-shot flow; the state itself is returned, only its
// hash is stored.
func (s *Service) newFlow(a Actor, kind, authority string, pkce bool) (store.Flow, string) {
	state := randomToken()
	f := store.Flow{TenantID: a.TenantID, StateHash: stateHash(state), Kind: kind, SessionHash: a.SessionHash,
		Authority: authority, CreatedBy: a.UserID, ExpiresAt: s.Now().Add(FlowTTL)}
	if a.Via != nil {
		f.ConnectSessionID = a.Via.SessionID
	}
	if pkce {
		f.Verifier, f.Nonce = oauth2.GenerateVerifier(), randomToken()
	}
	return f, state
}

// authorizeRequest asks for an account picker, unless loginHint names the
// account.
func (s *Service) authorizeRequest(f store.Flow, state string, requested []string, loginHint string) oauth.AuthorizeRequest {
	return oauth.AuthorizeRequest{Authority: f.Authority, State: state,
		CodeChallenge: oauth2.S256ChallengeFromVerifier(f.Verifier), Nonce: f.Nonce,
		Scopes: authorizeScopes(requested), Prompt: "select_account", LoginHint: loginHint}
}

// ErrNotSignIn means the connection does not sign in with a Microsoft
// account (client credentials), so it cannot be reconnected that way.
var ErrNotSignIn = errors.New("connections: not an authorization code connection")

// Reconnect starts a sign-in for an existing connection: same ID, same API
// consumers. Its credentials are replaced only when the sign-in succeeds.
func (s *Service) Reconnect(ctx context.Context, a Actor, id string) (string, error) {
	if len(a.SessionHash) == 0 {
		return "", ErrNoSession
	}
	c, err := s.Connection(ctx, a, id)
	if err != nil {
		return "", err
	}
	if AuthType(c.AuthType) != AuthCode {
		return "", ErrNotSignIn
	}
	kind := kindReconnect
	if c.Status == "pending" && !c.HasRefreshToken {
		kind = kindSignIn // never worked yet: a retry of the first sign-in
	}
	p, err := s.providerFor(ctx, a.TenantID, c.AppID)
	if err != nil {
		return "", err
	}
	fl, state := s.newFlow(a, kind, Authority(AccountType(c.AccountType), c.MSTenant), true)
	fl.ConnectionID = c.ID
	if _, err := s.Store.CreateFlow(ctx, fl); err != nil {
		return "", fmt.Errorf("connections: reconnect: %w", err)
	}
	hint := ""
	if kind == kindReconnect {
		// The account signed in before: hint it, as Microsoft recommends for
		// re-authentication. A federated account then goes straight to its
		// organisation's identity provider, and login_hint replaces
		// prompt=select_account (the two may not be combined: AADSTS90005).
		hint = c.AccountUsername
	}
	return p.AuthorizeURL(s.authorizeRequest(fl, state, c.RequestedScopes, hint)), nil
}

// ErrNoAdmin means the connection's account type has no administrator to
// ask: Common and Consumer connections.
var ErrNoAdmin = errors.New("connections: account type has no admin consent")

// AdminConsent starts an admin consent round trip for the connection, for an
// actor who is (or sits next to) an administrator of the Microsoft tenant.
func (s *Service) AdminConsent(ctx context.Context, a Actor, id string) (string, error) {
	if len(a.SessionHash) == 0 {
		return "", ErrNoSession
	}
	c, err := s.Connection(ctx, a, id)
	if err != nil {
		return "", err
	}
	authority := AdminConsentAuthority(AccountType(c.AccountType), c.MSTenant)
	if authority == "" {
		return "", ErrNoAdmin
	}
	p, err := s.providerFor(ctx, a.TenantID, c.AppID)
	if err != nil {
		return "", err
	}
	fl, state := s.newFlow(a, kindAdminConsent, authority, false)
	fl.ConnectionID = c.ID
	if _, err := s.Store.CreateFlow(ctx, fl); err != nil {
		return "", fmt.Errorf("connections: admin consent: %w", err)
	}
	s.audit(ctx, a, "connection.admin_consent_requested", c.ID, "", map[string]any{"authority": authority})
	return p.AdminConsentURL(authority, state), nil
}

// AdminConsentLink is a link to forward to an administrator who is not
// signed in here. It carries no state: when the administrator comes back,
// the broker thanks them and changes nothing; the person who asked then
// signs in again.
func (s *Service) AdminConsentLink(c store.Connection) string {
	authority := AdminConsentAuthority(AccountType(c.AccountType), c.MSTenant)
	if authority == "" {
		return ""
	}
	p, err := s.providerFor(context.Background(), c.TenantID, c.AppID)
	if err != nil {
		return ""
	}
	link, err := url.Parse(p.AdminConsentURL(authority, ""))
	if err != nil {
		return ""
	}
	q := link.Query()
	q.Del("state")
	link.RawQuery = q.Encode()
	return link.String()
}
