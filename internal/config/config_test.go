package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodKey = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func envOf(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey}), Need{Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.ListenAddr != ":8080" || c.RedirectURL() != "http://localhost:8080/oauth/callback" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.LoginBase() != "https://login.microsoftonline.com" || c.GraphBase() != "https://graph.microsoft.com" {
		t.Fatalf("cloud defaults: %s %s", c.LoginBase(), c.GraphBase())
	}
	if c.DatabaseMaxConns != 16 || c.RefreshMaxInFlight != 128 || c.ShutdownDelay != 5*time.Second {
		t.Fatalf("pool and shutdown defaults: %d %d %s", c.DatabaseMaxConns, c.RefreshMaxInFlight, c.ShutdownDelay)
	}
}

func TestPoolAndShutdownSettings(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey, "BROKER_DATABASE_MAX_CONNS": "40",
		"BROKER_REFRESH_MAX_IN_FLIGHT": "8", "BROKER_SHUTDOWN_DELAY": "0s"}), Need{Keys: true})
	if err != nil || c.DatabaseMaxConns != 40 || c.RefreshMaxInFlight != 8 || c.ShutdownDelay != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey, "BROKER_DATABASE_MAX_CONNS": "1",
		"BROKER_REFRESH_MAX_IN_FLIGHT": "many", "BROKER_SHUTDOWN_DELAY": "soon"}), Need{Keys: true})
	for _, want := range []string{"BROKER_DATABASE_MAX_CONNS", "BROKER_REFRESH_MAX_IN_FLIGHT", "BROKER_SHUTDOWN_DELAY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s not reported: %v", want, err)
		}
	}
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	_, err := Load(envOf(map[string]string{
		"BROKER_ENCRYPTION_KEYS":      "k1:not-base64!",
		"BROKER_PUBLIC_URL":           "localhost:8080",
		"BROKER_LOG_FORMAT":           "xml",
		"BROKER_MICROSOFT_CLOUD":      "mars",
		"BROKER_METRICS_TOKEN":        "short",
		"BROKER_SYSTEM_DATABASE_URL":  "mysql://x",
		"BROKER_MIGRATE_DATABASE_URL": "owner@db",
	}), Need{Keys: true, SessionKeys: true, Microsoft: true})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"BROKER_ENCRYPTION_KEYS is malformed", "broker keys generate", "BROKER_SESSION_KEYS is missing",
		"BROKER_PUBLIC_URL", "BROKER_LOG_FORMAT", "BROKER_MICROSOFT_CLOUD", "BROKER_MICROSOFT_CLIENT_ID", "BROKER_MICROSOFT_CLIENT_SECRET",
		"BROKER_SYSTEM_DATABASE_URL must be", "BROKER_MIGRATE_DATABASE_URL must be", "BROKER_METRICS_TOKEN must be at least 32"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "not-base64!") {
		t.Errorf("error echoes key material: %s", msg)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	os.WriteFile(keyFile, []byte(goodKey+"\n"), 0o600)
	c, err := Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS_FILE": keyFile}), Need{Keys: true})
	if err != nil || c.EncryptionKeys.PrimaryID() != "k1" {
		t.Fatalf("from file: %v", err)
	}
	_, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS_FILE": keyFile, "BROKER_ENCRYPTION_KEYS": goodKey}), Need{Keys: true})
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("both set: %v", err)
	}
	_, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS_FILE": filepath.Join(dir, "missing")}), Need{Keys: true})
	if err == nil || !strings.Contains(err.Error(), "BROKER_ENCRYPTION_KEYS_FILE") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCloudsAndOverrides(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_MICROSOFT_CLOUD": "china", "BROKER_MICROSOFT_CLIENT_ID": "x",
		"BROKER_MICROSOFT_CLIENT_SECRET": "y"}), Need{Microsoft: true})
	if err != nil || c.LoginBase() != "https://login.partner.microsoftonline.cn" || c.GraphBase() != "https://microsoftgraph.chinacloudapi.cn" {
		t.Fatalf("china: %v %+v", err, c)
	}
	c, err = Load(envOf(map[string]string{"BROKER_MICROSOFT_LOGIN_URL": "http://127.0.0.1:8081/", "BROKER_MICROSOFT_GRAPH_URL": "http://127.0.0.1:8081",
		"BROKER_MICROSOFT_CLIENT_ID": "x", "BROKER_MICROSOFT_CLIENT_SECRET": "y"}), Need{Microsoft: true})
	if err != nil || c.LoginBase() != "http://127.0.0.1:8081" || c.GraphBase() != "http://127.0.0.1:8081" {
		t.Fatalf("override: %v %+v", err, c)
	}
}

func TestMigrateURLDefaultsToDatabaseURL(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_DATABASE_URL": "postgres://rt@db/b"}), Need{})
	if err != nil || c.MigrateURL() != "postgres://rt@db/b" || c.SystemDatabaseURL != "" {
		t.Fatalf("one URL: %q %q %v", c.MigrateURL(), c.SystemDatabaseURL, err)
	}
	c, err = Load(envOf(map[string]string{"BROKER_DATABASE_URL": "postgres://rt@db/b",
		"BROKER_MIGRATE_DATABASE_URL": "postgres://owner@db/b", "BROKER_SYSTEM_DATABASE_URL": "postgres://sys@db/b"}), Need{})
	if err != nil || c.MigrateURL() != "postgres://owner@db/b" || c.SystemDatabaseURL != "postgres://sys@db/b" {
		t.Fatalf("three URLs: %q %q %v", c.MigrateURL(), c.SystemDatabaseURL, err)
	}
}

func TestClientSecretExpiresAt(t *testing.T) {
	base := map[string]string{"BROKER_MICROSOFT_CLIENT_ID": "x", "BROKER_MICROSOFT_CLIENT_SECRET": "y"}
	with := func(v string) map[string]string {
		m := map[string]string{"BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT": v}
		for k, x := range base {
			m[k] = x
		}
		return m
	}
	c, err := Load(envOf(with("2027-06-30")), Need{Microsoft: true})
	if err != nil || c.MicrosoftSecretExpiresAt == nil || c.MicrosoftSecretExpiresAt.Format(time.RFC3339) != "2027-06-30T23:59:59Z" {
		t.Fatalf("date: %v %v", err, c)
	}
	c, err = Load(envOf(with("2027-06-30T10:00:00+02:00")), Need{Microsoft: true})
	if err != nil || !c.MicrosoftSecretExpiresAt.Equal(time.Date(2027, 6, 30, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("RFC 3339: %v %v", err, c)
	}
	if _, err = Load(envOf(with("30/06/2027")), Need{Microsoft: true}); err == nil || !strings.Contains(err.Error(), "BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT") {
		t.Fatalf("malformed: %v", err)
	}
	if c, err = Load(envOf(base), Need{Microsoft: true}); err != nil || c.MicrosoftSecretExpiresAt != nil {
		t.Fatalf("unset: %v %v", err, c)
	}
}
