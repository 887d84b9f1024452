// Package config reads the broker's settings from the environment. Every
// secret may also come from a file named by NAME_FILE, and Validate reports
// every problem at once so an operator fixes them in one go.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/secrets"
)

// Defaults, as documented in the README.
const (
	DefaultDatabaseURL = "postgres://postgres:postgres@localhost:5432/broker?sslmode=disable"
	DefaultListenAddr  = ":8080"
	DefaultPublicURL   = "http://localhost:8080"
	// DefaultDatabaseMaxConns sizes the request path's pool. Refreshes hold
	// no connection while Microsoft answers, so requests need few; the
	// background workers and /readyz have small pools of their own.
	DefaultDatabaseMaxConns = 16
	// DefaultRefreshMaxInFlight bounds requests to Microsoft per replica.
	// Half of it is the keep-alive's (tokens.KeepAliveOptions): 64 refreshes
	// in flight cover Microsoft's ~50 ms plus the refresh's own transaction
	// at ≥ 300 refreshes/s (docs/benchmarks.md "Keep-alive claims").
	DefaultRefreshMaxInFlight = 128
	// DefaultShutdownDelay is how long /readyz answers 503 before the
	// listener stops, so load balancers take the replica out first.
	DefaultShutdownDelay = 5 * time.Second
	// DefaultAPIKeyRate and DefaultAPIKeyBurst: a key may fetch 2,000
	// tokens a second from one replica, 200 at once above that.
	DefaultAPIKeyRate  = 2000
	DefaultAPIKeyBurst = 200
	// DefaultTokenCacheMax: connections whose tokens a replica keeps in
	// memory; past it the least recently used are dropped (a fetch of one
	// reads it again from Postgres).
	DefaultTokenCacheMax = 200_000
)

// Config is the broker's configuration.
type Config struct {
	DatabaseURL        string
	MigrateDatabaseURL string        // BROKER_MIGRATE_DATABASE_URL: the tables' owner; empty: DatabaseURL
	SystemDatabaseURL  string        // BROKER_SYSTEM_DATABASE_URL: a broker_system login; empty: DatabaseURL's
	DatabaseMaxConns   int           // BROKER_DATABASE_MAX_CONNS
	RefreshMaxInFlight int           // BROKER_REFRESH_MAX_IN_FLIGHT
	ShutdownDelay      time.Duration // BROKER_SHUTDOWN_DELAY
	// APIKeyRate and APIKeyBurst are the per-key rate limit of keys that
	// have none of their own (BROKER_API_KEY_RATE, 0 = unlimited;
	// BROKER_API_KEY_BURST). Per replica: see README, "Rate limits".
	APIKeyRate  float64
	APIKeyBurst int
	// TokenCacheMax bounds the connections whose tokens a replica keeps in
	// memory (BROKER_TOKEN_CACHE_MAX).
	TokenCacheMax         int
	ListenAddr            string
	MetricsAddr           string // BROKER_METRICS_ADDR: /metrics on this listener only
	MetricsToken          string // BROKER_METRICS_TOKEN: /metrics asks for it as a bearer token
	PublicURL             string
	EncryptionKeys        *secrets.Ring
	SessionKeys           string // validated ring text, parsed by the web layer
	LogFormat             string
	LogLevel              slog.Level
	MicrosoftCloud        string
	MicrosoftLoginURL     string
	MicrosoftGraphURL     string
	MicrosoftClientID     string
	MicrosoftClientSecret string
	// MicrosoftSecretExpiresAt is BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT:
	// when set, the broker warns 30 and 7 days before the secret expires.
	MicrosoftSecretExpiresAt *time.Time
	// MicrosoftCertificate is the broker app's certificate credential
	// (certificate.go), used instead of the client secret when set; its
	// expiry is MicrosoftSecretExpiresAt.
	MicrosoftCertificate *oauth.Certificate
	Demo                 bool
	GraphProxy           GraphProxy // graphproxy.go
	SSOBreakGlass        []string   // BROKER_SSO_BREAK_GLASS (sso.go)
	Webhooks             Webhooks   // webhooks.go
}

// MigrateURL is the URL migrations run with: the owner's if given.
func (c *Config) MigrateURL() string { return or(c.MigrateDatabaseURL, c.DatabaseURL) }

// RedirectURL is where Microsoft sends people back to.
func (c *Config) RedirectURL() string { return strings.TrimRight(c.PublicURL, "/") + "/oauth/callback" }

// Getenv reads a variable; tests pass a map's lookup instead of os.Getenv.
type Getenv func(string) string

// Problems is every configuration error found, reported together.
type Problems []string

func (p Problems) Error() string {
	return "configuration: " + strings.Join(p, "; ")
}

// Load reads and validates the configuration. need says which secrets the
// caller needs (a migrate run needs no keys).
func Load(getenv Getenv, need Need) (*Config, error) {
	var probs Problems
	secret := func(name string) string {
		v, err := readSecret(getenv, name)
		if err != nil {
			probs = append(probs, err.Error())
		}
		return v
	}
	c := &Config{
		DatabaseURL:        or(secret("BROKER_DATABASE_URL"), DefaultDatabaseURL),
		MigrateDatabaseURL: secret("BROKER_MIGRATE_DATABASE_URL"),
		SystemDatabaseURL:  secret("BROKER_SYSTEM_DATABASE_URL"),
		ListenAddr:         or(getenv("BROKER_LISTEN_ADDR"), DefaultListenAddr),
		MetricsAddr:        getenv("BROKER_METRICS_ADDR"),
		MetricsToken:       secret("BROKER_METRICS_TOKEN"),
		PublicURL:          strings.TrimRight(or(getenv("BROKER_PUBLIC_URL"), DefaultPublicURL), "/"),
		LogFormat:          or(getenv("BROKER_LOG_FORMAT"), "text"),
		SSOBreakGlass:      breakGlass(getenv("BROKER_SSO_BREAK_GLASS")),
		MicrosoftCloud:     or(getenv("BROKER_MICROSOFT_CLOUD"), "global"),
		MicrosoftLoginURL:  strings.TrimRight(getenv("BROKER_MICROSOFT_LOGIN_URL"), "/"),
		MicrosoftGraphURL:  strings.TrimRight(getenv("BROKER_MICROSOFT_GRAPH_URL"), "/"),
	}
	c.DatabaseMaxConns = intVar(getenv, "BROKER_DATABASE_MAX_CONNS", DefaultDatabaseMaxConns, 2, 1000, &probs)
	c.RefreshMaxInFlight = intVar(getenv, "BROKER_REFRESH_MAX_IN_FLIGHT", DefaultRefreshMaxInFlight, 1, 10000, &probs)
	c.APIKeyRate = floatVar(getenv, "BROKER_API_KEY_RATE", DefaultAPIKeyRate, 0, 1_000_000, &probs)
	c.APIKeyBurst = intVar(getenv, "BROKER_API_KEY_BURST", DefaultAPIKeyBurst, 1, 1_000_000, &probs)
	c.TokenCacheMax = intVar(getenv, "BROKER_TOKEN_CACHE_MAX", DefaultTokenCacheMax, 100, 100_000_000, &probs)
	c.ShutdownDelay = DefaultShutdownDelay
	if v := getenv("BROKER_SHUTDOWN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			probs = append(probs, "BROKER_SHUTDOWN_DELAY must be a duration from 0s to 5m, e.g. 5s")
		}
		c.ShutdownDelay = d
	}
	for _, db := range []struct{ name, v string }{{"BROKER_DATABASE_URL", c.DatabaseURL},
		{"BROKER_MIGRATE_DATABASE_URL", c.MigrateDatabaseURL}, {"BROKER_SYSTEM_DATABASE_URL", c.SystemDatabaseURL}} {
		if u, err := url.Parse(db.v); db.v != "" && (err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql")) {
			probs = append(probs, db.name+" must be a postgres:// URL")
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		probs = append(probs, "BROKER_PUBLIC_URL must be an absolute http(s) URL, e.g. https://broker.example.com")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 32 {
		probs = append(probs, "BROKER_METRICS_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		probs = append(probs, "BROKER_LOG_FORMAT must be text or json")
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("BROKER_LOG_LEVEL"), "info"))); err != nil {
		probs = append(probs, "BROKER_LOG_LEVEL must be debug, info, warn or error")
	}
	c.GraphProxy = loadGraphProxy(getenv, &probs)
	c.Webhooks = loadWebhooks(getenv, &probs)
	if need.Keys {
		c.EncryptionKeys = parseRing(secret("BROKER_ENCRYPTION_KEYS"), "BROKER_ENCRYPTION_KEYS", &probs)
	}
	if need.SessionKeys {
		c.SessionKeys = secret("BROKER_SESSION_KEYS")
		parseRing(c.SessionKeys, "BROKER_SESSION_KEYS", &probs)
	}
	if need.Microsoft {
		c.MicrosoftClientID = getenv("BROKER_MICROSOFT_CLIENT_ID")
		c.MicrosoftClientSecret = secret("BROKER_MICROSOFT_CLIENT_SECRET")
		if _, ok := Clouds[c.MicrosoftCloud]; !ok {
			probs = append(probs, "BROKER_MICROSOFT_CLOUD must be global, usgov, usgov-dod or china")
		}
		for name, v := range map[string]string{"BROKER_MICROSOFT_LOGIN_URL": c.MicrosoftLoginURL, "BROKER_MICROSOFT_GRAPH_URL": c.MicrosoftGraphURL} {
			if u, err := url.Parse(v); v != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
				probs = append(probs, name+" must be an absolute http(s) URL")
			}
		}
		if v := getenv("BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT"); v != "" {
			if t, ok := parseExpiry(v); ok {
				c.MicrosoftSecretExpiresAt = &t
			} else {
				probs = append(probs, "BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT must be a date (2027-06-30) or an RFC 3339 time, as the Azure portal shows under Certificates & secrets › Expires")
			}
		}
		if c.MicrosoftClientID == "" && !need.Demo {
			probs = append(probs, "BROKER_MICROSOFT_CLIENT_ID is missing: the Application (client) ID of the broker's app registration in Azure")
		}
		c.MicrosoftCertificate = loadCertificate(getenv, &probs, time.Now())
		switch cert := c.MicrosoftCertificate; {
		case cert != nil && c.MicrosoftClientSecret != "":
			probs = append(probs, "BROKER_MICROSOFT_CLIENT_SECRET and a certificate (BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE or _PKCS12_FILE) are both set; set one")
		case cert != nil && c.MicrosoftSecretExpiresAt != nil:
			probs = append(probs, "BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT is for a client secret: a certificate's expiry is read from the certificate")
		case cert != nil:
			exp := cert.NotAfter()
			c.MicrosoftSecretExpiresAt = &exp
		case c.MicrosoftClientSecret == "" && !need.Demo && !certConfigured(getenv):
			probs = append(probs, "BROKER_MICROSOFT_CLIENT_SECRET is missing (or set BROKER_MICROSOFT_CLIENT_SECRET_FILE): the client secret value of the broker's app registration; "+
				"or give a certificate with BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE and _KEY_FILE, or BROKER_MICROSOFT_CLIENT_PKCS12_FILE")
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// Need lists what a subcommand requires.
type Need struct {
	Keys, SessionKeys, Microsoft, Demo bool
}

// Clouds maps BROKER_MICROSOFT_CLOUD to its login and Graph hosts.
var Clouds = map[string]struct{ Login, Graph string }{
	"global":    {"https://login.microsoftonline.com", "https://graph.microsoft.com"},
	"usgov":     {"https://login.microsoftonline.us", "https://graph.microsoft.us"},
	"usgov-dod": {"https://login.microsoftonline.us", "https://dod-graph.microsoft.us"},
	"china":     {"https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn"},
}

// LoginBase is the identity platform's base URL: the override, else the cloud's host.
func (c *Config) LoginBase() string {
	if c.MicrosoftLoginURL != "" {
		return c.MicrosoftLoginURL
	}
	return Clouds[c.MicrosoftCloud].Login
}

// GraphBase is Graph's base URL: the override, else the cloud's host.
func (c *Config) GraphBase() string {
	if c.MicrosoftGraphURL != "" {
		return c.MicrosoftGraphURL
	}
	return Clouds[c.MicrosoftCloud].Graph
}

// GraphResource is how scopes name Graph: the cloud's Graph host, never the
// override (which only says where to send requests).
func (c *Config) GraphResource() string { return Clouds[c.MicrosoftCloud].Graph }

const keyHelp = "generate one with `broker keys generate`"

func parseRing(v, name string, probs *Problems) *secrets.Ring {
	if v == "" {
		*probs = append(*probs, fmt.Sprintf("%s is missing (or set %s_FILE): a key ring like id:<base64 32 bytes>; %s", name, name, keyHelp))
		return nil
	}
	r, err := secrets.ParseRing(v)
	if err != nil {
		*probs = append(*probs, fmt.Sprintf("%s is malformed: %v; %s", name, err, keyHelp))
		return nil
	}
	return r
}

// readSecret reads NAME, or the file NAME_FILE names; setting both is an error.
func readSecret(getenv Getenv, name string) (string, error) {
	v, file := getenv(name), getenv(name+"_FILE")
	if file == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: cannot read %s: %w", name, file, errors.Unwrap(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// parseExpiry reads a date (the end of that day, UTC) or an RFC 3339 time.
func parseExpiry(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.Add(24*time.Hour - time.Second), true
	}
	return time.Time{}, false
}

// intVar reads a whole number in [lo, hi], or def when unset.
func intVar(getenv Getenv, name string, def, lo, hi int, probs *Problems) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		*probs = append(*probs, fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
		return def
	}
	return n
}

// floatVar reads a number in [lo, hi], or def when unset.
func floatVar(getenv Getenv, name string, def, lo, hi float64, probs *Problems) float64 {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || !(n >= lo && n <= hi) {
		*probs = append(*probs, fmt.Sprintf("%s must be a number from %g to %g", name, lo, hi))
		return def
	}
	return n
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
