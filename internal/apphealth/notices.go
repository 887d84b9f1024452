package apphealth

import (
	"fmt"
	"time"
)

// SecretWarnings are how long before BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT
// the broker warns: first at 30 days, urgently at 7.
const (
	SecretNotice = 30 * 24 * time.Hour
	SecretUrgent = 7 * 24 * time.Hour
)

// Notice is a banner for operators and tenant admins.
type Notice struct {
	Level string // "warning" or "error"
	Title string
	Text  string
}

// Notices lists what operators and tenant admins must see about the app
// registration now: its failure, and its secret's coming expiry.
func (m *Monitor) Notices() []Notice {
	var out []Notice
	if c := m.Condition(); c != nil {
		out = append(out, Notice{Level: "error",
			Title: fmt.Sprintf("Token refreshes are paused: Microsoft refuses the broker's app registration (%s)", c.Code),
			Text: fmt.Sprintf("%s Since %s; next check %s. Microsoft said: %s", c.Action,
				c.Since.UTC().Format("2006-01-02 15:04 UTC"), c.NextProbe.UTC().Format("15:04:05 UTC"), c.Summary)})
	}
	if n := m.secretNotice(); n != nil {
		out = append(out, *n)
	}
	return out
}

func (m *Monitor) secretNotice() *Notice {
	exp := m.opts.SecretExpiresAt
	if exp == nil {
		return nil
	}
	left := exp.Sub(m.opts.Now())
	day := exp.UTC().Format("2006-01-02")
	what := "Add a new client secret to the broker's app registration (Certificates & secrets), put its Value in " +
		"BROKER_MICROSOFT_CLIENT_SECRET and its expiry in BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT, and restart the broker."
	cred := "client secret"
	if m.opts.Certificate {
		cred = "certificate"
		what = "Upload a new certificate to the broker's app registration (Certificates & secrets › Certificates), point " +
			"BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE and _KEY_FILE (or BROKER_MICROSOFT_CLIENT_PKCS12_FILE) at it, and restart the broker."
	}
	switch {
	case left <= 0:
		return &Notice{Level: "error", Title: "The broker's " + cred + " expired on " + day, Text: what}
	case left <= SecretUrgent:
		return &Notice{Level: "error", Title: fmt.Sprintf("The broker's %s expires on %s, in %s", cred, day, days(left)),
			Text: what + " Every connection stops refreshing when it expires."}
	case left <= SecretNotice:
		return &Notice{Level: "warning", Title: fmt.Sprintf("The broker's %s expires on %s, in %s", cred, day, days(left)), Text: what}
	}
	return nil
}

func days(d time.Duration) string {
	n := int(d.Hours()/24 + 0.999)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Detail is the /readyz line for the app registration: the broker still
// serves (cached tokens, client credentials), so it never fails readiness.
func (m *Monitor) Detail() string {
	if c := m.Condition(); c != nil {
		return fmt.Sprintf("microsoft_app: failing %s (%s) since %s; refreshes paused, next probe %s",
			c.Code, c.Kind, c.Since.UTC().Format(time.RFC3339), c.NextProbe.UTC().Format(time.RFC3339))
	}
	if exp := m.opts.SecretExpiresAt; exp != nil && exp.Sub(m.opts.Now()) <= SecretNotice {
		if m.opts.Certificate {
			return "microsoft_app: ok; certificate expires " + exp.UTC().Format(time.RFC3339)
		}
		return "microsoft_app: ok; client secret expires " + exp.UTC().Format(time.RFC3339)
	}
	return "microsoft_app: ok"
}
