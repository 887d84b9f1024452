package config

import (
	"strconv"
	"time"
)

// GraphProxy tunes the Graph proxy (/api/v1/connections/{id}/graph/…).
type GraphProxy struct {
	MaxBody     int64         // BROKER_GRAPH_PROXY_MAX_BODY, bytes (default 4 MiB)
	Concurrency int           // BROKER_GRAPH_PROXY_CONCURRENCY, per connection and replica (default 4)
	Timeout     time.Duration // BROKER_GRAPH_PROXY_TIMEOUT, one request with its streamed answer (default 5m)
}

func loadGraphProxy(getenv Getenv, probs *Problems) GraphProxy {
	g := GraphProxy{MaxBody: 4 << 20, Concurrency: 4, Timeout: 5 * time.Minute}
	if v := getenv("BROKER_GRAPH_PROXY_MAX_BODY"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1<<30 {
			*probs = append(*probs, "BROKER_GRAPH_PROXY_MAX_BODY must be a number of bytes from 1 to 1073741824")
		}
		g.MaxBody = n
	}
	if v := getenv("BROKER_GRAPH_PROXY_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			*probs = append(*probs, "BROKER_GRAPH_PROXY_CONCURRENCY must be a whole number from 1 to 64")
		}
		g.Concurrency = n
	}
	if v := getenv("BROKER_GRAPH_PROXY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			*probs = append(*probs, "BROKER_GRAPH_PROXY_TIMEOUT must be a duration from 1s to 1h, e.g. 5m")
		}
		g.Timeout = d
	}
	return g
}
