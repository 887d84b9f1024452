package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// TestResult is what testing a connection found. Every field is safe to
// show: codes, IDs and Microsoft's one-line summaries, never a token.
type TestResult struct {
	OK        bool       `json:"ok"`
	Steps     []TestStep `json:"steps"`               // what was tried, in order, each with its outcome
	Check     string     `json:"check,omitempty"`     // the Graph call that proved (or disproved) the token
	Account   string     `json:"account,omitempty"`   // the mailbox Graph answered for
	Refreshed bool       `json:"refreshed"`           // Microsoft issued a new token for this test
	ExpiresAt time.Time  `json:"expires_at,omitzero"` // of the token used
	Recovered bool       `json:"recovered"`           // a broken connection works again and is active
	Code      string     `json:"code,omitempty"`      // AADSTS code or Graph's error code
	Detail    string     `json:"detail,omitempty"`
	TraceID   string     `json:"trace_id,omitempty"` // Microsoft's trace ID, or Graph's request ID
	Status    string     `json:"status"`             // the connection's status after the test
}

// TestStep is one step of a test: a new token from Microsoft, then Graph.
type TestStep struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// test proves the stored grant, not a cached token: it asks Microsoft for a
// new token with the refresh token (or, for client credentials, with the
// client secret), storing what comes back, then calls Graph with it. A
// cached access token outlives a revoked grant by up to 90 minutes, so a
// test that used it would pass for a connection that is already dead. A
// refusal records the connection's new status (e.g. needs_reauth with
// AADSTS50173); a broken connection that passes is active again.
func (s *Service) test(ctx context.Context, v Viewer, c store.Connection, in Input) (Outcome, error) {
	res := &TestResult{Status: c.Status}
	tokenStep := "A new token from Microsoft with the stored refresh token"
	if c.AuthType == "client_credentials" {
		tokenStep = "A new token from Microsoft with the stored client secret"
	}
	access, err := s.direct(ctx, c, res)
	if err != nil {
		return Outcome{}, err
	}
	if access == "" {
		res.Steps = append(res.Steps, TestStep{Name: tokenStep, Detail: failure(res)},
			TestStep{Name: "Microsoft Graph", Detail: "Not tried: there was no token to call it with."})
		return s.tested(ctx, v, c, in, res), nil
	}
	res.Steps = append(res.Steps, TestStep{Name: tokenStep, OK: true,
		Detail: "Microsoft issued a token valid until " + res.ExpiresAt.UTC().Format("15:04 UTC") + "."})
	if err := s.graphCheck(ctx, c, access, res); err != nil {
		res.Steps = append(res.Steps, TestStep{Name: "Microsoft Graph " + res.Check, Detail: failure(res)})
		return s.tested(ctx, v, c, in, res), nil
	}
	res.Steps = append(res.Steps, TestStep{Name: "Microsoft Graph " + res.Check, OK: true, Detail: "Answered for " + res.Account + "."})
	res.OK = true
	if Broken(c.Status) {
		ev := store.StatusEvent{Status: "active", Reason: "Test connection by " + v.Label + " succeeded."}
		updated, err := s.Store.UpdateConnection(ctx, c.TenantID, c.ID, func(cur store.Connection, _ store.Credentials) (store.ConnectionUpdate, error) {
			if cur.Status != c.Status {
				return store.ConnectionUpdate{}, errChanged
			}
			return store.ConnectionUpdate{Status: &ev}, nil
		})
		switch {
		case err == nil:
			// An unapproved connection works again but still awaits approval.
			res.Recovered, res.Status = updated.Status == "active", updated.Status
			s.Tokens.Invalidate(c.ID)
		case !errors.Is(err, errChanged):
			s.Logger.ErrorContext(ctx, "marking a tested connection active", "connection", c.ID, "err", err)
		}
	}
	return s.tested(ctx, v, c, in, res), nil
}

func lower(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// failure words a failed step from res's detail and codes.
func failure(res *TestResult) string {
	msg := res.Detail
	if res.Code != "" {
		msg += " [" + res.Code + "]"
	}
	return msg
}

var errChanged = errors.New("admin: the connection changed meanwhile")

// tested records the test and words its outcome, step by step.
func (s *Service) tested(ctx context.Context, v Viewer, c store.Connection, in Input, res *TestResult) Outcome {
	s.audit(ctx, v, c.TenantID, ActTest.Audit(), c.ID, in.Reason, map[string]any{"ok": res.OK, "check": res.Check,
		"code": res.Code, "trace_id": res.TraceID, "refreshed": res.Refreshed, "recovered": res.Recovered, "status": res.Status})
	// The flash holds 500 characters: the steps first, then Microsoft's own text.
	var msg string
	switch {
	case res.OK:
		msg = fmt.Sprintf("Test passed: step 1, %s: done; step 2, Microsoft Graph answered %s for %s.",
			lower(res.Steps[0].Name), res.Check, res.Account)
		if res.Recovered {
			msg += " The connection is active again."
		}
	default:
		at := len(res.Steps)
		for i, st := range res.Steps {
			if !st.OK {
				at = i + 1
				break
			}
		}
		msg = fmt.Sprintf("Test failed at step %d of 2 (%s)", at, lower(res.Steps[at-1].Name))
		if res.Code != "" {
			msg += " [" + res.Code + "]"
		}
		msg += "."
		if res.Status != c.Status {
			msg += " The connection is now " + StatusLabel(res.Status) + "."
		}
		if at == 1 {
			msg += " Microsoft Graph was not tried."
		}
		if res.TraceID != "" {
			msg += " Trace ID: " + res.TraceID + "."
		}
		msg += " " + res.Detail
	}
	c.Status = res.Status
	return Outcome{Action: ActTest, Connection: c, Test: res, Message: msg}
}

// Test's share of the refresh lease (internal/tokens takes the same one):
// one request to Microsoft, and a lease that outlasts it, so a test never
// holds a database connection while Microsoft answers, and never refreshes
// at the same time as the token service or another replica (a refresh token
// used twice at once may cost the whole grant at a strict server).
const (
	testAttemptTimeout = 10 * time.Second
	testLease          = testAttemptTimeout*3/2 + time.Second
)

// direct asks Microsoft for a token with the connection's stored
// credentials under the connection's refresh lease, storing what comes back
// (a refresh token replaces itself) and recording a permanent refusal's new
// code. It returns "" and fills res when Microsoft refused.
func (s *Service) direct(ctx context.Context, c store.Connection, res *TestResult) (string, error) {
	holder := uuid.NewString()
	claim, err := s.Store.ClaimRefresh(ctx, c.TenantID, c.ID, store.Lease{Holder: holder, Length: testLease},
		func(cur store.Connection, cr store.Credentials, _ store.RefreshState) bool {
			return cur.Status == c.Status && (cur.AuthType == "client_credentials" && cr.ClientSecret != "" ||
				cur.AuthType != "client_credentials" && cr.RefreshToken != "")
		})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errNotFound
	case errors.Is(err, store.ErrBusy):
		return "", conflict("The connection is being refreshed right now. Test again in a few seconds.")
	case err != nil:
		return "", fmt.Errorf("admin: test: %w", err)
	}
	cur, cr := claim.Conn, claim.Creds
	if !claim.Held {
		switch {
		case cur.Status != c.Status:
			return "", conflict("The connection changed while it was being tested. Reload and test again.")
		case cur.AuthType == "client_credentials" && cr.ClientSecret == "":
			return "", conflict("The connection has no client secret. Rotate in a new one.")
		case cur.AuthType != "client_credentials" && cr.RefreshToken == "":
			return "", conflict("The connection holds no refresh token. Reconnect it: sign in with Microsoft again.")
		default: // another refresh holds the lease
			return "", conflict("The connection is being refreshed right now. Test again in a few seconds.")
		}
	}
	actx, cancel := context.WithTimeout(ctx, testAttemptTimeout)
	var tok *oauth.Token
	var callErr error
	if cur.AuthType == "client_credentials" {
		var cred oauth.Credential
		if cred, callErr = oauth.StoredCredential(cr.ClientSecret); callErr == nil {
			tok, callErr = s.Microsoft.ClientCredentials(actx, cur.MSTenant, cur.ClientID, cred)
		} else {
			callErr = &oauth.Error{Code: "invalid_client", Description: "The broker cannot read this connection's stored certificate."}
		}
	} else {
		authority := connections.Authority(connections.AccountType(cur.AccountType), cur.MSTenant)
		tok, callErr = s.Microsoft.Refresh(actx, authority, cr.RefreshToken)
	}
	cancel()
	var w store.TokenWrite // nothing but the lease's release, unless below
	if callErr != nil {
		if ev, ok := refusalEvent(callErr); ok && (ev.Status != cur.Status || ev.ErrorCode != cur.StatusCode) {
			w.Update = &store.ConnectionUpdate{Status: &ev}
		}
	} else {
		u := store.ConnectionUpdate{AccessToken: &tok.AccessToken, AccessTokenExpiresAt: &tok.ExpiresAt, Refreshed: true}
		if tok.RefreshToken != "" {
			u.RefreshToken = &tok.RefreshToken
		}
		if len(tok.Scopes) > 0 {
			u.GrantedScopes = oauth.GrantedScopes(cur.RequestedScopes, tok.Scopes, tok.RefreshToken != "" || cur.HasRefreshToken)
		}
		w.Update = &u
	}
	// The answer is stored even if the person stopped waiting: a refresh
	// token Microsoft issued must not be lost.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), testLease)
	defer wcancel()
	_, err = s.Store.FinishRefresh(wctx, c.TenantID, c.ID, holder, w)
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		return "", conflict("Microsoft took too long to answer and the test ran out of time. Test again.")
	case errors.Is(err, store.ErrNotFound):
		return "", errNotFound
	case err != nil:
		return "", fmt.Errorf("admin: test: %w", err)
	}
	if callErr != nil {
		describeMicrosoft(callErr, res)
		if ev, ok := refusalEvent(callErr); ok {
			res.Status = ev.Status
			s.Tokens.Invalidate(c.ID) // the cached token must not outlive the refusal here
		}
		return "", nil
	}
	s.Tokens.Invalidate(c.ID)
	res.Refreshed, res.ExpiresAt = true, tok.ExpiresAt
	return tok.AccessToken, nil
}

// refusalEvent is the status a permanent refusal from Microsoft puts the
// connection in; false for a transient failure, which changes nothing.
func refusalEvent(err error) (store.StatusEvent, bool) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		return store.StatusEvent{}, false
	}
	status := map[oauth.Class]string{oauth.ClassReauth: "needs_reauth", oauth.ClassRestart: "needs_reauth",
		oauth.ClassConsent: "consent_required", oauth.ClassConfig: "config_error", oauth.ClassAdmin: "config_error"}[oe.Class()]
	if status == "" {
		return store.StatusEvent{}, false
	}
	return store.StatusEvent{Status: status, Reason: "Microsoft refused a token at a test (" + oe.Code + "): " + oe.Summary(),
		ErrorCode: oe.AADSTS(), TraceID: oe.TraceID, CorrelationID: oe.CorrelationID}, true
}

// graphCheck proves the token against Graph: /me for a signed-in account,
// the inbox of the configured user for client credentials.
func (s *Service) graphCheck(ctx context.Context, c store.Connection, access string, res *TestResult) error {
	if c.AuthType == "client_credentials" {
		res.Check, res.Account = "GET /v1.0/users/{user}/mailFolders/inbox", c.UserPrincipal
		err := s.Graph.Inbox(ctx, access, c.UserPrincipal)
		if err != nil {
			describeMicrosoft(err, res)
		}
		return err
	}
	res.Check = "GET /v1.0/me"
	me, err := s.Graph.Me(ctx, access)
	if err != nil {
		describeMicrosoft(err, res)
		return err
	}
	res.Account = me.UserPrincipalName
	if res.Account == "" {
		res.Account = me.DisplayName
	}
	return nil
}

// describeMicrosoft fills res from an error from Microsoft (never its body).
func describeMicrosoft(err error, res *TestResult) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		res.Detail = "The broker could not reach Microsoft."
		return
	}
	res.Code, res.TraceID = oe.Code, oe.TraceID
	if a := oe.AADSTS(); a != "" {
		res.Code += " (" + a + ")"
	}
	switch {
	case oe.Network:
		res.Detail = "Microsoft did not answer (" + oe.Description + ")."
	case oe.Summary() != "":
		res.Detail = oe.Summary()
	default:
		res.Detail = fmt.Sprintf("Microsoft answered HTTP %d.", oe.HTTPStatus)
	}
}
