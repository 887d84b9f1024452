package tokens_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Each permanent refusal sets its status with Microsoft's code and trace
// ID, answers with its code, and stops further attempts: neither this
// replica nor another asks Microsoft again.
func TestPermanentRefusalsSetStatusAndStopRefreshing(t *testing.T) {
	for _, tc := range []struct {
		name, aadsts, status string
		code                 tokens.Code
		conn                 func(e *env) tokenstest.Conn
		before               func(t *testing.T, e *env)
		cause                string
	}{
		{name: "sessions revoked", aadsts: "AADSTS50173", status: "needs_reauth", code: tokens.CodeReauth, cause: "revoked",
			before: func(t *testing.T, e *env) { e.ms.Sim.RevokeUser(e.ms.Demo.Adele.UPN) }},
		{name: "grant expired", aadsts: "AADSTS70008", status: "needs_reauth", code: tokens.CodeReauth, cause: "expired",
			before: func(t *testing.T, e *env) { e.ms.Sim.ExpireUserGrants(e.ms.Demo.Adele.UPN) }},
		{name: "MFA as invalid_grant", aadsts: "AADSTS50076", status: "needs_reauth", code: tokens.CodeReauth, cause: "multi-factor",
			before: func(t *testing.T, e *env) { e.ms.Sim.RequireMFA(e.ms.Demo.Adele.UPN, mssim.MFAInvalidGrant) }},
		{name: "MFA as interaction_required", aadsts: "AADSTS50076", status: "needs_reauth", code: tokens.CodeReauth,
			cause:  "multi-factor",
			before: func(t *testing.T, e *env) { e.ms.Sim.RequireMFA(e.ms.Demo.Adele.UPN, mssim.MFAInteractionRequired) }},
		{name: "90 days without use", aadsts: "AADSTS700082", status: "needs_reauth", code: tokens.CodeReauth, cause: "90 days",
			before: func(t *testing.T, e *env) { e.ms.Sim.Advance(91 * 24 * time.Hour) }},
		{name: "consent missing", aadsts: "AADSTS65001", status: "consent_required", code: tokens.CodeConsent, cause: "consented",
			before: func(t *testing.T, e *env) {
				e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Error: "invalid_grant", Code: 65001, Status: 400})
			}},
		{name: "wrong client secret", aadsts: "AADSTS7000215", status: "config_error", code: tokens.CodeConfig, cause: "secret is wrong",
			conn: func(e *env) tokenstest.Conn { return tokenstest.Conn{ClientSecret: "not-the-secret"} }},
		{name: "expired client secret", aadsts: "AADSTS7000222", status: "config_error", code: tokens.CodeConfig, cause: "expired",
			conn: func(e *env) tokenstest.Conn { return tokenstest.Conn{ClientSecret: e.ms.Demo.DaemonApp.ExpiredSecret} }},
		{name: "unknown tenant", aadsts: "AADSTS90002", status: "config_error", code: tokens.CodeConfig, cause: "tenant was not found",
			conn: func(e *env) tokenstest.Conn {
				return tokenstest.Conn{ClientSecret: e.ms.Demo.DaemonApp.Secret, MSTenant: "nowhere.onmicrosoft.com"}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			spec := tokenstest.Conn{Expired: true}
			if tc.conn != nil {
				spec = tc.conn(e)
			}
			c := e.conn(t, spec)
			if tc.before != nil {
				tc.before(t, e)
			}
			svc := e.replica(t, tokens.Options{})
			ctx := context.Background()
			_, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
			te := wantCode(t, err, tc.code)
			if te.AADSTS != tc.aadsts || te.TraceID == "" || te.Status != tc.status || !strings.Contains(te.Detail, tc.cause) {
				t.Fatalf("error %+v", te)
			}
			stored, _ := e.stored(t, c.ID)
			if stored.Status != tc.status || stored.StatusCode != tc.aadsts || stored.StatusTraceID != te.TraceID ||
				!strings.Contains(stored.StatusReason, tc.cause) {
				t.Fatalf("stored status %s %s %q trace %s", stored.Status, stored.StatusCode, stored.StatusReason, stored.StatusTraceID)
			}
			events, _ := e.st.StatusEvents(ctx, e.tenant.ID, c.ID, 1)
			if len(events) != 1 || events[0].ErrorCode != tc.aadsts || events[0].CorrelationID == "" {
				t.Fatalf("event %+v", events)
			}
			asked := e.ms.Sim.Count(mssim.EndpointToken, "")
			for _, s := range []*tokens.Service{svc, e.replica(t, tokens.Options{})} {
				_, err := s.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true})
				if again := wantCode(t, err, tc.code); again.AADSTS != tc.aadsts || again.TraceID != te.TraceID {
					t.Fatalf("asked again: %+v", again)
				}
			}
			if n := e.ms.Sim.Count(mssim.EndpointToken, ""); n != asked {
				t.Fatalf("%d more token requests after a permanent refusal, want none", n-asked)
			}
		})
	}
}

func TestStatusesThatServeNoTokens(t *testing.T) {
	e := newEnv(t)
	svc := e.replica(t, tokens.Options{})
	for status, code := range map[string]tokens.Code{"disabled": tokens.CodeDisabled,
		"awaiting_approval": tokens.CodeNotApproved, "pending": tokens.CodePending} {
		c := e.conn(t, tokenstest.Conn{Name: status, Status: status})
		_, err := svc.Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
		if te := wantCode(t, err, code); te.Status != status {
			t.Fatalf("%s: %+v", status, te)
		}
	}
	if n := e.refreshes(); n != 0 {
		t.Fatalf("%d refreshes for connections that serve no tokens", n)
	}
}

func TestNoRefreshTokenIsReauthorization(t *testing.T) {
	e := newEnv(t)
	c, err := e.st.CreateConnection(context.Background(), store.NewConnection{TenantID: e.tenant.ID, ProjectID: e.project.ID,
		Name: "bare", AccountType: "common", AuthType: "authorization_code", Status: "active"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.replica(t, tokens.Options{}).Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
	if te := wantCode(t, err, tokens.CodeReauth); !strings.Contains(te.Detail, "no refresh token") || te.AADSTS != "" {
		t.Fatalf("%+v", te)
	}
	if e.ms.Sim.Count(mssim.EndpointToken, "") != 0 {
		t.Fatal("Microsoft was asked without a refresh token")
	}
}

// Transient failures are retried with back-off and change no status.
func TestTransientFailuresAreRetried(t *testing.T) {
	for _, f := range []mssim.Fault{
		{Endpoint: mssim.EndpointToken, Status: 503, Times: 2},
		{Endpoint: mssim.EndpointToken, Status: 500, Times: 2},
		{Endpoint: mssim.EndpointToken, Error: "temporarily_unavailable", Times: 2},
		{Endpoint: mssim.EndpointToken, Status: 502, Body: "<html>Bad gateway</html>", Times: 2},
		{Endpoint: mssim.EndpointToken, Status: 429, RetryAfter: time.Second, Times: 1},
	} {
		t.Run(fmt.Sprintf("%d %s", f.Status, f.Error), func(t *testing.T) {
			e := newEnv(t)
			c := e.conn(t, tokenstest.Conn{Expired: true})
			e.ms.Sim.InjectFault(f)
			tok, err := e.replica(t, tokens.Options{BackoffBase: 10 * time.Millisecond}).Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
			if err != nil || !tok.Refreshed {
				t.Fatalf("refreshed %v, %v", tok.Refreshed, err)
			}
			if n := e.refreshes(); n != int64(f.Times)+1 {
				t.Fatalf("%d attempts, want %d", n, f.Times+1)
			}
			if stored, _ := e.stored(t, c.ID); stored.Status != "active" {
				t.Fatalf("status %s after transient failures", stored.Status)
			}
		})
	}
}

// Retry-After longer than the request can wait: answer at once, and no
// replica asks Microsoft again before it is over.
func TestRetryAfterIsHonouredAcrossReplicas(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	fault := e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Status: 429, RetryAfter: 30 * time.Second})
	ctx := context.Background()
	svc := e.replica(t, tokens.Options{})
	_, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if te := wantCode(t, err, tokens.CodeUnavailable); te.RetryAfter < 30*time.Second || te.AADSTS != "AADSTS90055" || te.TraceID == "" {
		t.Fatalf("%+v", te)
	}
	for _, s := range []*tokens.Service{svc, e.replica(t, tokens.Options{})} {
		_, err := s.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
		if te := wantCode(t, err, tokens.CodeUnavailable); te.RetryAfter <= 0 || te.RetryAfter > 30*time.Second {
			t.Fatalf("%+v", te)
		}
	}
	if n := e.refreshes(); n != 1 {
		t.Fatalf("%d requests inside Retry-After, want 1", n)
	}
	if stored, _ := e.stored(t, c.ID); stored.Status != "active" {
		t.Fatalf("status %s after throttling", stored.Status)
	}
	e.ms.Sim.ClearFault(fault)
	e.ms.Sim.Advance(31 * time.Second)
	if _, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{}); err != nil || e.refreshes() != 2 {
		t.Fatalf("after Retry-After: %v, %d requests", err, e.refreshes())
	}
}

// A forced or early refresh that fails transiently serves the cached token
// if it satisfies min_ttl; otherwise the caller hears upstream_unavailable.
func TestCachedTokenServedWhenRefreshFailsTransiently(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{})
	svc := e.replica(t, tokens.Options{BackoffBase: 10 * time.Millisecond, MaxAttempts: 2})
	ctx := context.Background()
	cached, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{})
	if err != nil {
		t.Fatal(err)
	}
	e.ms.Sim.InjectFault(mssim.Fault{Endpoint: mssim.EndpointToken, Status: 503})
	tok, err := svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{ForceRefresh: true, MinTTL: 5 * time.Minute})
	if err != nil || tok.AccessToken != cached.AccessToken || tok.Refreshed {
		t.Fatalf("forced refresh under failure: %v", err)
	}
	_, err = svc.Token(ctx, e.tenant.ID, c.ID, tokens.Request{MinTTL: time.Until(cached.ExpiresAt) + time.Hour})
	wantCode(t, err, tokens.CodeUnavailable)
	if stored, _ := e.stored(t, c.ID); stored.Status != "active" {
		t.Fatalf("status %s", stored.Status)
	}
}

func TestNetworkFailureIsTransient(t *testing.T) {
	e := newEnv(t)
	c := e.conn(t, tokenstest.Conn{Expired: true})
	p := e.ms.Provider()
	p.LoginBase = "http://127.0.0.1:1" // nothing listens there
	_, err := e.replicaWith(t, p, tokens.Options{BackoffBase: 10 * time.Millisecond, MaxAttempts: 2}).
		Token(context.Background(), e.tenant.ID, c.ID, tokens.Request{})
	if te := wantCode(t, err, tokens.CodeUnavailable); !strings.Contains(te.Detail, "did not answer") {
		t.Fatalf("%+v", te)
	}
	if stored, _ := e.stored(t, c.ID); stored.Status != "active" {
		t.Fatalf("status %s", stored.Status)
	}
}
