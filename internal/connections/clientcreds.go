package connections

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// createClientCredentials proves the customer's app works before anything is
// saved: a token from the tenant authority for Graph's .default, then the
// mailbox's inbox, which the minimum Mail.Read allows. A failure returns to
// the form with a message at the field to fix and saves nothing: a pending
// row would hold a secret known not to work and keep the name taken, while
// the person is still at the form with every value in front of them.
func (s *Service) createClientCredentials(ctx context.Context, a Actor, f *Form) (Outcome, error) {
	tok, err := s.Provider.ClientCredentials(ctx, f.MSTenant, f.ClientID, f.credential())
	if err != nil {
		s.clientCredentialsFailed(ctx, a, f, err)
		tokenFieldError(f, err)
		return Outcome{}, ErrInvalid
	}
	if err := s.Graph.Inbox(ctx, tok.AccessToken, f.UserPrincipal); err != nil {
		s.clientCredentialsFailed(ctx, a, f, err)
		inboxFieldError(f, err)
		return Outcome{}, ErrInvalid
	}
	status, err := s.initialStatus(ctx, a.TenantID)
	if err != nil {
		return Outcome{}, err
	}
	endUser, metadata := a.endUser()
	conn, err := s.Store.CreateConnection(ctx, store.NewConnection{
		TenantID: a.TenantID, ProjectID: f.ProjectID, Name: f.Name, AccountType: string(AccountTenant),
		AuthType: string(AuthClientCredentials), MSTenant: f.MSTenant, ClientID: f.ClientID,
		UserPrincipal: f.UserPrincipal, RequestedScopes: []string{s.Provider.DefaultScope()}, Status: status,
		ClientSecret: f.storedCredential(), ClientSecretExpiresAt: f.secretExpiry(), ClientCertThumbprint: f.thumbprint(),
		CreatedBy: a.UserID, EndUser: endUser, Metadata: metadata,
	})
	if errors.Is(err, store.ErrConflict) {
		f.Errors.Add(FieldName, "A connection with this name already exists in this project. Choose another name.")
		return Outcome{}, ErrInvalid
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("connections: create: %w", err)
	}
	granted := tok.Scopes
	if len(granted) == 0 {
		granted = []string{s.Provider.DefaultScope()}
	}
	at, exp := tok.AccessToken, tok.ExpiresAt
	tid := ""
	if oauth.IsGUID(f.MSTenant) {
		tid = f.MSTenant
	}
	conn, err = s.Store.UpdateConnection(ctx, a.TenantID, conn.ID, func(store.Connection, store.Credentials) (store.ConnectionUpdate, error) {
		return store.ConnectionUpdate{GrantedScopes: granted, AccessToken: &at, AccessTokenExpiresAt: &exp,
			Account: &store.Account{TID: tid, Username: f.UserPrincipal}}, nil
	})
	if err != nil {
		// The connection works and is saved; only its first token was not
		// kept, and the next request fetches another.
		s.Logger.ErrorContext(ctx, "keeping the first client credentials token", "connection", conn.ID, "err", err)
	}
	s.audit(ctx, a, "connection.created", conn.ID, "", map[string]any{"auth_type": string(AuthClientCredentials),
		"account_type": string(AccountTenant), "ms_tenant": f.MSTenant, "client_id": f.ClientID, "user": f.UserPrincipal,
		"credential": f.credentialKind(), "certificate_thumbprint": f.thumbprint()})
	return Outcome{Connection: conn}, nil
}

func (s *Service) clientCredentialsFailed(ctx context.Context, a Actor, f *Form, err error) {
	attrs := []any{"ms_tenant", f.MSTenant, "client_id", f.ClientID, "request_id", a.RequestID}
	if e, ok := asMicrosoft(err); ok {
		attrs = append(attrs, "code", e.AADSTS(), "error", e.Code, "trace_id", e.TraceID, "http", e.HTTPStatus)
	} else {
		attrs = append(attrs, "err", err)
	}
	s.Logger.InfoContext(ctx, "client credentials check failed", attrs...)
}

// support appends Microsoft's code and trace ID for support.
func support(e *oauth.Error) string {
	s := ""
	if c := e.AADSTS(); c != "" {
		s = c
	} else if e.Code != "" {
		s = e.Code
	}
	if e.TraceID != "" {
		s += ", trace ID " + e.TraceID
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// tokenFieldError puts a failed token request next to the field to fix.
func tokenFieldError(f *Form, err error) {
	e, ok := asMicrosoft(err)
	if !ok {
		f.Errors.Add(FieldForm, "The broker could not reach Microsoft. Nothing was saved. Try again in a minute.")
		return
	}
	code := 0
	if len(e.ErrorCodes) > 0 {
		code = e.ErrorCodes[0]
	}
	sup := support(e)
	switch {
	case code == 7000215:
		f.Errors.Add(FieldClientSecret, "Microsoft rejected this client secret"+sup+". Copy the secret's Value (not its Secret ID) "+
			"from Certificates & secrets of this app registration.")
	case code == 7000222:
		f.Errors.Add(FieldClientSecret, "This client secret has expired"+sup+". Create a new one under Certificates & secrets and enter its Value.")
	case (code == 700027 || code == 50012) && f.Cert != nil:
		f.Errors.Add(FieldCertificate, "Microsoft does not accept this certificate for this app"+sup+". Upload its public certificate "+
			"under Certificates & secrets › Certificates of this app registration (thumbprint "+f.Cert.Thumbprint()+"), then try again.")
	case code == 700024:
		f.Errors.Add(FieldForm, "Microsoft says the broker's clock is off"+sup+". Nothing was saved. Tell the broker's operator.")
	case code == 700016:
		f.Errors.Add(FieldClientID, "No app with this Application (client) ID is known in tenant "+f.MSTenant+sup+
			". Check the ID on the app's Overview page, and that the app is registered in (or consented to by) this tenant.")
	case code == 90002 || code == 9001023:
		f.Errors.Add(FieldMSTenant, "Microsoft does not know this tenant"+sup+". Check the Directory (tenant) ID or domain, "+
			"and that it belongs to the cloud this broker uses.")
	case e.Class() == oauth.ClassConsent:
		f.Errors.Add(FieldForm, "The app's permissions have not been granted admin consent"+sup+". In the Azure portal, open "+
			"API permissions of the app and choose Grant admin consent.")
	case code == 70011 || code == 500011 || code == 650056:
		f.Errors.Add(FieldClientID, "This app is not set up for Microsoft Graph"+sup+". Add Graph Application permissions "+
			"(at least Mail.Read) under API permissions, and grant admin consent.")
	case e.Transient():
		f.Errors.Add(FieldForm, "Microsoft did not answer in time or is busy"+sup+". Nothing was saved. Try again in a minute.")
	default:
		f.Errors.Add(FieldForm, "Microsoft refused the token request"+sup+": "+e.Summary())
	}
}

// inboxFieldError explains a failed GET /users/{upn}/mailFolders/inbox.
func inboxFieldError(f *Form, err error) {
	e, ok := asMicrosoft(err)
	if !ok {
		f.Errors.Add(FieldForm, "The broker could not reach Microsoft Graph. Nothing was saved. Try again in a minute.")
		return
	}
	sup := ""
	if e.Code != "" || e.TraceID != "" {
		sup = " (" + e.Code
		if e.TraceID != "" {
			sup += ", request ID " + e.TraceID
		}
		sup += ")"
	}
	switch {
	case e.HTTPStatus == http.StatusNotFound:
		f.Errors.Add(FieldUserPrincipal, "Microsoft Graph found no mailbox for this user in the tenant"+sup+
			". Use the User principal name shown under Users in the Azure portal.")
	case e.HTTPStatus == http.StatusForbidden || e.HTTPStatus == http.StatusUnauthorized:
		f.Errors.Add(FieldForm, "The token works, but the app may not read this mailbox"+sup+". Grant the app the Mail.Read "+
			"Application permission (not Delegated) and choose Grant admin consent in the Azure portal.")
	case e.Transient():
		f.Errors.Add(FieldForm, "Microsoft Graph did not answer in time or is busy"+sup+". Nothing was saved. Try again in a minute.")
	default:
		f.Errors.Add(FieldForm, "Microsoft Graph refused to read the mailbox"+sup+": "+e.Summary())
	}
}

// initialStatus is a newly working connection's status: active, or
// awaiting_approval in a tenant whose connections need an admin's approval.
func (s *Service) initialStatus(ctx context.Context, tenantID string) (string, error) {
	t, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return "", fmt.Errorf("connections: read tenant settings: %w", err)
	}
	if t.RequireApproval {
		return "awaiting_approval", nil
	}
	return "active", nil
}
