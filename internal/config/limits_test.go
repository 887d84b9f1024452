package config

import (
	"strings"
	"testing"
)

func TestAPIKeyRateAndCacheSettings(t *testing.T) {
	c, err := Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey}), Need{Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKeyRate != 2000 || c.APIKeyBurst != 200 || c.TokenCacheMax != 200_000 {
		t.Fatalf("defaults: rate %g burst %d cache %d", c.APIKeyRate, c.APIKeyBurst, c.TokenCacheMax)
	}
	c, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey, "BROKER_API_KEY_RATE": "12.5",
		"BROKER_API_KEY_BURST": "40", "BROKER_TOKEN_CACHE_MAX": "5000"}), Need{Keys: true})
	if err != nil || c.APIKeyRate != 12.5 || c.APIKeyBurst != 40 || c.TokenCacheMax != 5000 {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err = Load(envOf(map[string]string{"BROKER_ENCRYPTION_KEYS": goodKey, "BROKER_API_KEY_RATE": "0"}), Need{Keys: true}); err != nil || c.APIKeyRate != 0 {
		t.Fatalf("0 (unlimited) refused: %v", err)
	}
	for _, bad := range []map[string]string{
		{"BROKER_API_KEY_RATE": "-1"}, {"BROKER_API_KEY_RATE": "fast"}, {"BROKER_API_KEY_RATE": "NaN"},
		{"BROKER_API_KEY_RATE": "2000000"}, {"BROKER_API_KEY_BURST": "0"}, {"BROKER_API_KEY_BURST": "1.5"},
		{"BROKER_TOKEN_CACHE_MAX": "10"},
	} {
		bad["BROKER_ENCRYPTION_KEYS"] = goodKey
		_, err := Load(envOf(bad), Need{Keys: true})
		for name := range bad {
			if name != "BROKER_ENCRYPTION_KEYS" && (err == nil || !strings.Contains(err.Error(), name)) {
				t.Errorf("%v: %s not reported: %v", bad, name, err)
			}
		}
	}
}
