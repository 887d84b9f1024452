package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// rotate proves a new client secret before it replaces the old one: a token
// from the connection's tenant with its app, then the configured user's
// inbox. Only then is the secret written, with the token it got, in one
// update; a connection broken by its old secret is active again.
func (s *Service) rotate(ctx context.Context, v Viewer, c store.Connection, in Input) (Outcome, error) {
	nc, e := newCredential(in, s.Now())
	if e != nil {
		return Outcome{}, e
	}
	secret, expires := nc.stored, nc.expires
	tok, err := s.Microsoft.ClientCredentials(ctx, c.MSTenant, c.ClientID, nc.cred)
	if err != nil {
		return Outcome{}, nc.refused(rotateRefused(err, true), err)
	}
	if err := s.Graph.Inbox(ctx, tok.AccessToken, c.UserPrincipal); err != nil {
		return Outcome{}, nc.refused(rotateRefused(err, false), err)
	}
	updated, err := s.Store.UpdateConnection(ctx, c.TenantID, c.ID, func(cur store.Connection, _ store.Credentials) (store.ConnectionUpdate, error) {
		if e := Check(v, cur, ActRotate); e != nil {
			return store.ConnectionUpdate{}, e
		}
		u := store.ConnectionUpdate{ClientSecret: &secret, ClientSecretExpiresAt: &expires, ClientCertThumbprint: nc.thumbprint,
			AccessToken: &tok.AccessToken, AccessTokenExpiresAt: &tok.ExpiresAt, Refreshed: true}
		if len(tok.Scopes) > 0 {
			u.GrantedScopes = oauth.GrantedScopes(cur.RequestedScopes, tok.Scopes, tok.RefreshToken != "" || cur.HasRefreshToken)
		}
		if Broken(cur.Status) || cur.Status == "secret_expiring" {
			u.Status = &store.StatusEvent{Status: "active", Reason: nc.what + " rotated by " + v.Label + "."}
		}
		return u, nil
	})
	if e, ok := AsError(err); ok {
		return Outcome{}, e
	}
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, errNotFound
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("admin: rotate secret: %w", err)
	}
	s.Tokens.Invalidate(c.ID)
	details := map[string]any{"previous_expiry": expiryText(c.ClientSecretExpiresAt), "new_expiry": expiryText(expires),
		"status": updated.Status}
	if nc.thumbprint != "" {
		details["certificate_thumbprint"] = nc.thumbprint
	}
	s.audit(ctx, v, c.TenantID, ActRotate.Audit(), c.ID, in.Reason, details)
	return Outcome{Action: ActRotate, Connection: updated,
		Message: "The new " + strings.ToLower(nc.what) + " works and replaced the old one. You can delete the old one in the Azure portal now."}, nil
}

func expiryText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// rotateRefused explains why a new secret was not taken; nothing was changed.
func rotateRefused(err error, atToken bool) *Error {
	e := &Error{Code: CodeUpstream, Field: "client_secret", Err: err}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		e.Field, e.Message = "", "The broker could not reach Microsoft. Nothing was changed; try again in a minute."
		return e
	}
	sup := oe.AADSTS()
	if sup == "" {
		sup = oe.Code
	}
	if oe.TraceID != "" {
		sup += ", trace ID " + oe.TraceID
	}
	sup = " (" + sup + ")"
	code := 0
	if len(oe.ErrorCodes) > 0 {
		code = oe.ErrorCodes[0]
	}
	switch {
	case atToken && code == 7000215:
		e.Message = "Microsoft rejected this secret" + sup + ". Copy the secret's Value (not its Secret ID) from Certificates & secrets of the app. The old secret is still in use."
	case atToken && code == 7000222:
		e.Message = "This secret has expired" + sup + ". Create a new one in the Azure portal. The old secret is still in use."
	case oe.Transient():
		e.Field, e.Message = "", "Microsoft did not answer in time or is busy"+sup+". Nothing was changed; try again in a minute."
	case !atToken && (oe.HTTPStatus == http.StatusForbidden || oe.HTTPStatus == http.StatusUnauthorized):
		e.Field, e.Message = "", "The secret works, but the app may not read the mailbox"+sup+". Check its Mail.Read application permission and admin consent. The old secret is still in use."
	case atToken:
		e.Message = "Microsoft refused a token with this secret" + sup + ": " + oe.Summary() + " The old secret is still in use."
	default:
		e.Field, e.Message = "", "Microsoft Graph refused to read the mailbox"+sup+": "+oe.Summary()+" The old secret is still in use."
	}
	return e
}
