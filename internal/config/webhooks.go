package config

import (
	"net/netip"
	"strings"
)

// Webhooks is what operators set for webhook delivery's SSRF guard.
type Webhooks struct {
	// AllowHTTPHosts (BROKER_WEBHOOK_ALLOW_HTTP_HOSTS, comma-separated host
	// names) may be sent plain http, e.g. a receiver in local development.
	AllowHTTPHosts []string
	// AllowNetworks (BROKER_WEBHOOK_ALLOW_NETWORKS, comma-separated CIDRs)
	// are admitted although loopback, private or link-local, e.g. a
	// receiver inside the operator's own network.
	AllowNetworks []netip.Prefix
}

func loadWebhooks(getenv Getenv, probs *Problems) Webhooks {
	var w Webhooks
	for _, h := range strings.Split(getenv("BROKER_WEBHOOK_ALLOW_HTTP_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			w.AllowHTTPHosts = append(w.AllowHTTPHosts, h)
		}
	}
	for _, n := range strings.Split(getenv("BROKER_WEBHOOK_ALLOW_NETWORKS"), ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		p, err := netip.ParsePrefix(n)
		if err != nil {
			*probs = append(*probs, "BROKER_WEBHOOK_ALLOW_NETWORKS must be comma-separated CIDRs, e.g. 10.20.0.0/16 ("+n+" is not one)")
			continue
		}
		w.AllowNetworks = append(w.AllowNetworks, p.Masked())
	}
	return w
}
