package config

import (
	"strings"
	"testing"
	"time"
)

func TestGraphProxySettings(t *testing.T) {
	load := func(vars map[string]string) (*Config, error) {
		return Load(func(k string) string { return vars[k] }, Need{})
	}
	c, err := load(map[string]string{})
	if err != nil || c.GraphProxy != (GraphProxy{MaxBody: 4 << 20, Concurrency: 4, Timeout: 5 * time.Minute}) {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = load(map[string]string{"BROKER_GRAPH_PROXY_MAX_BODY": "1048576", "BROKER_GRAPH_PROXY_CONCURRENCY": "2",
		"BROKER_GRAPH_PROXY_TIMEOUT": "90s"})
	if err != nil || c.GraphProxy != (GraphProxy{MaxBody: 1 << 20, Concurrency: 2, Timeout: 90 * time.Second}) {
		t.Fatalf("set: %+v %v", c, err)
	}
	_, err = load(map[string]string{"BROKER_GRAPH_PROXY_MAX_BODY": "0", "BROKER_GRAPH_PROXY_CONCURRENCY": "x",
		"BROKER_GRAPH_PROXY_TIMEOUT": "1ms"})
	for _, name := range []string{"BROKER_GRAPH_PROXY_MAX_BODY", "BROKER_GRAPH_PROXY_CONCURRENCY", "BROKER_GRAPH_PROXY_TIMEOUT"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s not reported: %v", name, err)
		}
	}
}
