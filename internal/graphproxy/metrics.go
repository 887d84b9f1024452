package graphproxy

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus series: requests by status class,
// latency to the first byte of Graph's answer, bytes each way, throttles by
// who throttled (graph: Graph's 429/503; broker: the concurrency limit).
type metrics struct {
	requests  *prometheus.CounterVec
	latency   prometheus.Histogram
	bytes     *prometheus.CounterVec
	throttles *prometheus.CounterVec
	refreshes prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "broker_graph_proxy_requests_total",
			Help: "Requests proxied to Graph (or refused by the proxy) by status class."}, []string{"status"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "broker_graph_proxy_duration_seconds",
			Help:    "Time from the proxied request to Graph's response headers, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "broker_graph_proxy_bytes_total",
			Help: "Body bytes through the proxy: in = to Graph, out = to callers."}, []string{"direction"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "broker_graph_proxy_throttled_total",
			Help: "Throttled proxied requests: by Graph (429/503) or by the broker's per-connection limit."}, []string{"by"}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{Name: "broker_graph_proxy_token_refreshes_total",
			Help: "Forced token refreshes after Graph answered 401 InvalidAuthenticationToken."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.bytes, m.throttles, m.refreshes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) done(status int, took time.Duration, in, out int64) {
	m.requests.WithLabelValues(strconv.Itoa(status/100) + "xx").Inc()
	if took > 0 {
		m.latency.Observe(took.Seconds())
	}
	m.bytes.WithLabelValues("in").Add(float64(in))
	m.bytes.WithLabelValues("out").Add(float64(out))
}
