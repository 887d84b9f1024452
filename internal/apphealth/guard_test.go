package apphealth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
	"github.com/brokerhq/broker/internal/oauth/mssim"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

// Each failure of the broker's own app is recognised, pauses refreshes
// with a doubling back-off (one probe per period, none in between), and
// clears on the first answer that proves the app works: after a restart
// with a good secret (a new Monitor), or after the app is enabled again.
func TestGuardKindsBackoffAndRecovery(t *testing.T) {
	ctx := context.Background()
	ms := tokenstest.StartMicrosoft()
	t.Cleanup(ms.Server.Close)
	tok, err := ms.SignIn(ctx, "common", ms.Demo.Adele.UPN)
	if err != nil {
		t.Fatal(err)
	}
	rt := tok.RefreshToken
	good := ms.Provider()
	wrong := ms.Provider()
	wrong.ClientSecret = "not-the-secret"

	// A wrong secret: 7000215, secret_invalid.
	mon := apphealth.New(apphealth.Options{Now: ms.Sim.Now, BackoffBase: 5 * time.Second, BackoffMax: 20 * time.Second})
	g := &apphealth.Guard{Provider: wrong, Monitor: mon}
	_, err = g.Refresh(ctx, "common", rt)
	var oe *oauth.Error
	if !errors.As(err, &oe) || !oe.BrokerApp || oe.AADSTS() != "AADSTS7000215" || oe.Class() != oauth.ClassTransient || oe.RetryAfter < 4*time.Second {
		t.Fatalf("wrong secret: %v", err)
	}
	if c := mon.Condition(); c == nil || c.Kind != apphealth.SecretInvalid || !strings.Contains(c.Action, "BROKER_MICROSOFT_CLIENT_SECRET") {
		t.Fatalf("condition %+v", c)
	}
	// Back-off: nothing reaches Microsoft until the next probe, then the period doubles, up to the cap.
	before := ms.Sim.Count(mssim.EndpointToken, "refresh_token")
	var periods []time.Duration
	for range 4 {
		for range 50 {
			if _, err := g.Refresh(ctx, "common", rt); err == nil {
				t.Fatal("a paused refresh succeeded")
			}
		}
		c := mon.Condition()
		periods = append(periods, c.NextProbe.Sub(c.LastProbe).Round(time.Second))
		ms.Sim.Advance(c.NextProbe.Sub(ms.Sim.Now()))
	}
	if got := ms.Sim.Count(mssim.EndpointToken, "refresh_token") - before; got != 3 {
		t.Fatalf("%d requests reached Microsoft over 200 paused refreshes and 4 periods, want 3 probes", got)
	}
	if periods[0] != 5*time.Second || periods[1] != 10*time.Second || periods[2] != 20*time.Second || periods[3] != 20*time.Second {
		t.Fatalf("back-off periods %v", periods)
	}

	// Restart with the right secret: a new process, a new Monitor; it works at once.
	mon = apphealth.New(apphealth.Options{Now: ms.Sim.Now})
	g = &apphealth.Guard{Provider: good, Monitor: mon}
	if tok, err = g.Refresh(ctx, "common", rt); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	rt = tok.RefreshToken

	// The app is disabled: 7000112; enabled again, the next probe clears it.
	if err := ms.Sim.SetAppDisabled(ms.Demo.WebApp.ClientID, true); err != nil {
		t.Fatal(err)
	}
	if _, err = g.Refresh(ctx, "common", rt); !errors.As(err, &oe) || oe.AADSTS() != "AADSTS7000112" {
		t.Fatalf("disabled: %v", err)
	}
	if c := mon.Condition(); c == nil || c.Kind != apphealth.AppDisabled {
		t.Fatalf("condition %+v", c)
	}
	if err := ms.Sim.SetAppDisabled(ms.Demo.WebApp.ClientID, false); err != nil {
		t.Fatal(err)
	}
	ms.Sim.Advance(mon.Condition().NextProbe.Sub(ms.Sim.Now()))
	if _, err = g.Refresh(ctx, "common", rt); err != nil || mon.Condition() != nil {
		t.Fatalf("after enabling: %v, %+v", err, mon.Condition())
	}

	// A refusal about the user (revoked), not the app, proves the app works: no condition.
	if err := ms.Sim.RevokeUser(ms.Demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	if _, err = g.Refresh(ctx, "common", rt); !errors.As(err, &oe) || oe.BrokerApp || oe.AADSTS() != "AADSTS50173" || mon.Condition() != nil {
		t.Fatalf("revoked user: %v, %+v", err, mon.Condition())
	}
}

// BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT warns 30 and 7 days ahead.
func TestSecretExpiryNotices(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		left  time.Duration
		level string
		title string
	}{
		{31 * 24 * time.Hour, "", ""},
		{30 * 24 * time.Hour, "warning", "expires on 2026-12-31, in 30 days"},
		{8 * 24 * time.Hour, "warning", "in 8 days"},
		{7 * 24 * time.Hour, "error", "in 7 days"},
		{time.Hour, "error", "in 1 day"},
		{-time.Hour, "error", "expired on 2026-12-01"},
	} {
		exp := now.Add(c.left)
		mon := apphealth.New(apphealth.Options{Now: func() time.Time { return now }, SecretExpiresAt: &exp})
		ns := mon.Notices()
		if c.level == "" {
			if len(ns) != 0 {
				t.Errorf("%s left: %+v, want no notice", c.left, ns)
			}
			continue
		}
		if len(ns) != 1 || ns[0].Level != c.level || !strings.Contains(ns[0].Title, c.title) {
			t.Errorf("%s left: %+v, want %s %q", c.left, ns, c.level, c.title)
		}
	}
}

// With a certificate, the expiry notices and /readyz name the certificate
// and where to configure the new one, not a secret.
func TestCertificateExpiryNotices(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(5 * 24 * time.Hour)
	mon := apphealth.New(apphealth.Options{Now: func() time.Time { return now }, SecretExpiresAt: &exp, Certificate: true})
	ns := mon.Notices()
	if len(ns) != 1 || ns[0].Level != "error" || !strings.Contains(ns[0].Title, "The broker's certificate expires on 2026-12-06") ||
		!strings.Contains(ns[0].Text, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE") || strings.Contains(ns[0].Title, "secret") {
		t.Fatalf("notices %+v", ns)
	}
	if d := mon.Detail(); !strings.Contains(d, "certificate expires") {
		t.Fatalf("detail %q", d)
	}
}

// The broker's app by certificate: a certificate the app registration does
// not know (AADSTS700027) is the app's condition, with what to do about the
// certificate, and connections are not blamed.
func TestGuardCertificateRejected(t *testing.T) {
	ctx := context.Background()
	ms := tokenstest.StartMicrosoft()
	t.Cleanup(ms.Server.Close)
	tok, err := ms.SignIn(ctx, "common", ms.Demo.Adele.UPN)
	if err != nil {
		t.Fatal(err)
	}
	now := ms.Sim.Now()
	p := ms.Provider()
	p.ClientSecret, p.Credential = "", certtest.New(t, 0, "not uploaded", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	mon := apphealth.New(apphealth.Options{Now: ms.Sim.Now})
	_, err = (&apphealth.Guard{Provider: p, Monitor: mon}).Refresh(ctx, "common", tok.RefreshToken)
	var oe *oauth.Error
	if !errors.As(err, &oe) || !oe.BrokerApp || oe.AADSTS() != "AADSTS700027" || oe.Class() != oauth.ClassTransient {
		t.Fatalf("unknown certificate: %v", err)
	}
	if c := mon.Condition(); c == nil || c.Kind != apphealth.CertificateRejected || !strings.Contains(c.Action, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE") {
		t.Fatalf("condition %+v", c)
	}
}
