package connections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// CallbackParams are the query parameters Microsoft redirects back with.
type CallbackParams struct {
	State            string
	Code             string
	Error            string
	ErrorDescription string
	AdminConsent     string // "True" after admin consent
	Issuer           string // RFC 9207 iss, if Microsoft ever sends one
}

// ResultKind is what a successful callback did.
type ResultKind string

const (
	ResultConnected    ResultKind = "connected"     // a new connection works
	ResultReconnected  ResultKind = "reconnected"   // an existing one has new credentials
	ResultAdminConsent ResultKind = "admin_consent" // an administrator consented for the connection
	// ResultForwardedConsent is an administrator back from a forwarded link:
	// no state, so nothing is known and nothing is changed.
	ResultForwardedConsent ResultKind = "forwarded_consent"
)

// Result is a callback that worked.
type Result struct {
	Kind       ResultKind
	Connection store.Connection
	Missing    []string // requested scopes Microsoft did not grant
	Personal   []string // requested scopes a personal account cannot grant: expected, not missing
	// ConnectSessionID is the connect link whose page started the sign-in.
	ConnectSessionID string
}

// Complete finishes a round trip to Microsoft. signedIn is false when the
// browser has no broker session; then only a forwarded admin consent is
// answered, and nothing is changed. A *Problem error is for the person; any
// other error is the broker's own failure.
func (s *Service) Complete(ctx context.Context, a Actor, signedIn bool, p CallbackParams) (Result, error) {
	if p.State == "" && (p.AdminConsent != "" || p.Error != "") {
		return s.stateless(ctx, a, signedIn, p)
	}
	if !signedIn || len(a.SessionHash) == 0 {
		return Result{}, &Problem{Kind: ProblemSession, Title: "Your session has ended",
			Message: "You are no longer signed in to the broker, so this sign-in cannot be finished. Sign in and start again."}
	}
	if p.State == "" {
		return Result{}, stateProblem(errors.New("no state"))
	}
	f, err := s.Store.ConsumeFlow(ctx, a.TenantID, stateHash(p.State), a.SessionHash, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, stateProblem(err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("connections: consume flow: %w", err)
	}
	c, err := s.Store.Connection(ctx, a.TenantID, f.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, &Problem{Kind: ProblemGone, Title: "This connection no longer exists",
			Message: "It was deleted while you were at Microsoft. Nothing was saved.", cause: err}
	}
	if err != nil {
		return Result{}, fmt.Errorf("connections: callback: %w", err)
	}
	if f.Kind == kindAdminConsent {
		return s.completeAdminConsent(ctx, a, c, p)
	}
	res, err := s.completeSignIn(ctx, a, f, c, p)
	if prob, ok := err.(*Problem); ok {
		s.signInFailed(ctx, a, f, c, prob)
	}
	res.ConnectSessionID = f.ConnectSessionID
	return res, err
}

func stateProblem(cause error) *Problem {
	return &Problem{Kind: ProblemState, Title: "This sign-in link is no longer valid",
		Message: "It has expired, was already used, or was started in another browser or session. " +
			"Nothing was changed. Start again from the broker.", cause: cause}
}

// completeSignIn checks everything Microsoft sent before writing anything,
// then writes the connection's new credentials in one update.
func (s *Service) completeSignIn(ctx context.Context, a Actor, f store.Flow, c store.Connection, p CallbackParams) (Result, error) {
	if p.Error != "" {
		return Result{}, s.authorizeProblem(c, p)
	}
	if p.Code == "" {
		return Result{}, s.problem(c, ProblemVerify, errors.New("no code in the callback"))
	}
	prov, err := s.providerFor(ctx, a.TenantID, c.AppID)
	if err != nil {
		return Result{}, err
	}
	tok, err := prov.Exchange(ctx, f.Authority, p.Code, f.Verifier)
	if err != nil {
		return Result{}, s.tokenProblem(c, err)
	}
	claims, err := prov.VerifyIDToken(ctx, f.Authority, tok.IDToken, f.Nonce)
	if err != nil {
		return Result{}, s.idTokenProblem(c, tok.IDToken, err)
	}
	if p.Issuer != "" && p.Issuer != claims.Issuer {
		return Result{}, s.problem(c, ProblemVerify, errors.New("iss in the authorization response differs from the id_token's"))
	}
	if prob := s.checkAccount(ctx, c, claims); prob != nil {
		return Result{}, prob
	}
	if tok.RefreshToken == "" {
		prob := s.problem(c, ProblemMicrosoft, errors.New("no refresh token"))
		prob.Title = "Microsoft did not allow lasting access"
		prob.Message = "The sign-in worked, but Microsoft issued no refresh token (the offline_access permission was not granted), " +
			"so the connection would stop working within the hour. " + unsaved(c) + " Try again, and accept every permission on the consent page."
		return Result{}, prob
	}
	me, err := s.Graph.Me(ctx, tok.AccessToken)
	if err != nil {
		return Result{}, s.graphProblem(c, err)
	}
	if !strings.EqualFold(me.ID, claims.ObjectID) {
		return Result{}, s.problem(c, ProblemVerify, errors.New("Graph /me is not the id_token's account"))
	}
	granted := grantedScopes(c.RequestedScopes, tok.Scopes, true)
	missing, personal := MissingFor(c.RequestedScopes, granted, claims.TenantID)
	ev := store.StatusEvent{Status: "active"}
	if f.Kind != kindReconnect {
		if ev.Status, err = s.initialStatus(ctx, a.TenantID); err != nil {
			return Result{}, err
		}
	}
	if len(missing) > 0 {
		ev.Reason = "Microsoft granted fewer permissions than requested; missing: " + strings.Join(missing, ", ") + "."
	}
	username := claims.PreferredUsername
	if username == "" {
		username = me.UserPrincipalName
	}
	rt, at, exp := tok.RefreshToken, tok.AccessToken, tok.ExpiresAt
	updated, err := s.Store.UpdateConnection(ctx, a.TenantID, c.ID, func(cur store.Connection, _ store.Credentials) (store.ConnectionUpdate, error) {
		// Once a connection has an account it keeps it, also against a
		// second tab's sign-in that finished first.
		if cur.AccountOID != "" && !sameAccount(cur, claims) {
			return store.ConnectionUpdate{}, errAccountChanged
		}
		ev := ev
		if cur.Status == "disabled" || cur.Status == "awaiting_approval" {
			// A reconnect renews credentials only: it neither re-enables what an
			// admin disabled nor skips an approval still owed.
			ev = store.StatusEvent{Status: cur.Status, Reason: cur.StatusReason, ErrorCode: cur.StatusCode, TraceID: cur.StatusTraceID}
		}
		return store.ConnectionUpdate{Status: &ev, GrantedScopes: granted,
			Account:      &store.Account{TID: claims.TenantID, OID: claims.ObjectID, Username: username, Name: claims.Name},
			RefreshToken: &rt, AccessToken: &at, AccessTokenExpiresAt: &exp}, nil
	})
	switch {
	case errors.Is(err, errAccountChanged):
		return Result{}, s.otherAccountProblem(c, username)
	case errors.Is(err, store.ErrNotFound):
		return Result{}, &Problem{Kind: ProblemGone, Title: "This connection no longer exists",
			Message: "It was deleted while you were at Microsoft. Nothing was saved.", cause: err}
	case err != nil:
		return Result{}, fmt.Errorf("connections: save sign-in: %w", err)
	}
	kind, action := ResultConnected, "connection.signed_in"
	if f.Kind == kindReconnect {
		kind, action = ResultReconnected, "connection.reconnected"
	}
	s.audit(ctx, a, action, c.ID, "", map[string]any{"account_tid": claims.TenantID, "account_oid": claims.ObjectID,
		"account_username": username, "granted_scopes": granted, "missing_scopes": missing})
	return Result{Kind: kind, Connection: updated, Missing: missing, Personal: personal}, nil
}

var errAccountChanged = errors.New("connections: reconnect signed in as another account")

func sameAccount(c store.Connection, claims *oauth.IDClaims) bool {
	return strings.EqualFold(c.AccountTID, claims.TenantID) && strings.EqualFold(c.AccountOID, claims.ObjectID)
}

// TenantResolver finds the tenant ID (GUID) behind a verified domain. The
// Microsoft provider implements it through the domain's discovery document.
type TenantResolver interface {
	ResolveTenant(ctx context.Context, domain string) (string, error)
}

// checkAccount holds the account to the connection: its account type, its
// tenant (a domain is resolved to its GUID), and the account that signed in
// before, if any: API consumers expect the same mailbox.
func (s *Service) checkAccount(ctx context.Context, c store.Connection, claims *oauth.IDClaims) *Problem {
	msTenantID := ""
	if AccountType(c.AccountType) == AccountTenant {
		msTenantID = c.MSTenant
		if !oauth.IsGUID(msTenantID) {
			r, ok := s.Provider.(TenantResolver)
			if !ok {
				return s.problem(c, ProblemVerify, errors.New("cannot resolve the tenant domain"))
			}
			id, err := r.ResolveTenant(ctx, msTenantID)
			if err != nil {
				return s.problem(c, ProblemVerify, fmt.Errorf("resolve tenant domain: %w", err))
			}
			msTenantID = id
		}
	}
	if !accountFits(AccountType(c.AccountType), msTenantID, claims.TenantID) {
		return s.accountProblem(c, fmt.Errorf("account of tenant %s", claims.TenantID))
	}
	if c.AccountOID != "" && !sameAccount(c, claims) {
		return s.otherAccountProblem(c, claims.PreferredUsername)
	}
	return nil
}

// signInFailed records a failed sign-in. A first sign-in keeps its
// connection pending and notes why; a reconnect leaves the connection as it
// was. State problems never get here: nothing is touched for them.
func (s *Service) signInFailed(ctx context.Context, a Actor, f store.Flow, c store.Connection, p *Problem) {
	s.Logger.InfoContext(ctx, "sign-in failed", "connection", c.ID, "kind", p.Kind, "code", p.Code,
		"trace_id", p.TraceID, "err", p.cause, "request_id", a.RequestID)
	s.audit(ctx, a, "connection.sign_in_failed", c.ID, string(p.Kind), map[string]any{"code": p.Code,
		"trace_id": p.TraceID, "correlation_id": p.Correlation, "flow": f.Kind})
	if f.Kind != kindSignIn || p.Kind == ProblemGone {
		return
	}
	ev := store.StatusEvent{Status: "pending", Reason: p.Title + ". " + p.Message, ErrorCode: p.Code,
		TraceID: p.TraceID, CorrelationID: p.Correlation}
	_, err := s.Store.UpdateConnection(ctx, a.TenantID, c.ID, func(cur store.Connection, _ store.Credentials) (store.ConnectionUpdate, error) {
		if cur.Status != "pending" {
			return store.ConnectionUpdate{}, errSkip // it went active meanwhile: leave it
		}
		return store.ConnectionUpdate{Status: &ev}, nil
	})
	if err != nil && !errors.Is(err, errSkip) {
		s.Logger.ErrorContext(ctx, "recording a failed sign-in", "connection", c.ID, "err", err)
	}
}

var errSkip = errors.New("skip")

// completeAdminConsent handles an administrator back from the adminconsent
// endpoint. The tenant query value is not used: the flow says which
// connection this was for.
func (s *Service) completeAdminConsent(ctx context.Context, a Actor, c store.Connection, p CallbackParams) (Result, error) {
	if p.Error != "" || !strings.EqualFold(p.AdminConsent, "true") {
		prob := s.authorizeProblem(c, p)
		prob.Kind = ProblemConsent
		prob.Title = "Admin consent was not granted"
		prob.Message = "Microsoft reports that consent was not given" + adminConsentReason(prob.Code) +
			". The connection is unchanged. An administrator of the organization has to accept the permissions."
		prob.AdminConsentLink = s.AdminConsentLink(c)
		s.audit(ctx, a, "connection.admin_consent_failed", c.ID, "", map[string]any{"code": prob.Code})
		return Result{}, prob
	}
	s.audit(ctx, a, "connection.admin_consent_granted", c.ID, "", nil)
	return Result{Kind: ResultAdminConsent, Connection: c}, nil
}

func adminConsentReason(code string) string {
	if code == "AADSTS65004" || code == "access_denied" {
		return " (the administrator declined)"
	}
	if code != "" {
		return " (" + code + ")"
	}
	return ""
}

// stateless answers a redirect without state: an administrator back from a
// forwarded admin consent link, or an error Microsoft could not tie to a
// sign-in. The broker cannot tell whose request it was, so it changes
// nothing. Anyone can send a browser here with an error text of their
// choosing, so Microsoft's words are shown only to a session with a sign-in
// under way (where they are most likely Microsoft's); others see the error
// code (an AADSTS number, or an error OAuth defines) and no text.
func (s *Service) stateless(ctx context.Context, a Actor, signedIn bool, p CallbackParams) (Result, error) {
	if p.Error == "" && strings.EqualFold(p.AdminConsent, "true") {
		return Result{Kind: ResultForwardedConsent}, nil
	}
	prob := &Problem{Kind: ProblemMicrosoft, Title: "Microsoft reported an error",
		Message: "Its answer carried no sign-in state, so the broker cannot tell what it was for, and nothing was changed. " +
			"If you were granting admin consent from a link someone sent you, tell them it did not work."}
	ours := false
	if signedIn && len(a.SessionHash) > 0 && a.TenantID != "" {
		var err error
		if ours, err = s.Store.HasOpenFlow(ctx, a.TenantID, a.SessionHash, s.Now()); err != nil {
			return Result{}, fmt.Errorf("connections: callback without state: %w", err)
		}
	}
	if oauthErrors[p.Error] || ours {
		prob.Code = p.Error
	}
	if n := aadstsPrefix(p.ErrorDescription); n != 0 {
		prob.Code = fmt.Sprintf("AADSTS%d", n) // a number: nothing to mislead with
	}
	if ours {
		prob.Summary = (&oauth.Error{Description: p.ErrorDescription}).Summary()
	}
	return Result{}, prob
}

// oauthErrors are the error codes OAuth 2.0 (RFC 6749 §4.1.2.1) and OpenID
// Connect (Core §3.1.2.6) define for an authorization response: the only
// words from an unverified redirect the broker repeats.
var oauthErrors = map[string]bool{"invalid_request": true, "unauthorized_client": true, "access_denied": true,
	"unsupported_response_type": true, "invalid_scope": true, "server_error": true, "temporarily_unavailable": true,
	"interaction_required": true, "login_required": true, "account_selection_required": true, "consent_required": true,
	"invalid_request_uri": true, "invalid_request_object": true, "request_not_supported": true,
	"request_uri_not_supported": true, "registration_not_supported": true}
