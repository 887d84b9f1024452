package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestWebhookSettings(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey,
		"BROKER_WEBHOOK_ALLOW_HTTP_HOSTS": " localhost, 127.0.0.1 ", "BROKER_WEBHOOK_ALLOW_NETWORKS": "10.20.0.0/16, 127.0.0.1/32"}), Need{Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Webhooks.AllowHTTPHosts, []string{"localhost", "127.0.0.1"}) ||
		!slices.Equal(c.Webhooks.AllowNetworks, []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")}) {
		t.Fatalf("webhook settings: %+v", c.Webhooks)
	}
	_, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey, "BROKER_WEBHOOK_ALLOW_NETWORKS": "10.20.0.0"}), Need{Keys: true})
	if err == nil || !strings.Contains(err.Error(), "BROKER_WEBHOOK_ALLOW_NETWORKS") {
		t.Fatalf("a bad CIDR: %v", err)
	}
	// Nothing set: nothing allowed.
	c, _ = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey}), Need{Keys: true})
	if len(c.Webhooks.AllowHTTPHosts) != 0 || len(c.Webhooks.AllowNetworks) != 0 {
		t.Fatalf("defaults allow %+v", c.Webhooks)
	}
}
