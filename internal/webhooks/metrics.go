package webhooks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/brokerhq/broker/internal/store"
)

// Metrics are the delivery workers' counters; register them with the
// broker's registry. The queue gauges are the database's view, refreshed
// by each replica's worker every 15 s.
type Metrics struct {
	deliveries *prometheus.CounterVec
	duration   prometheus.Histogram
	depth      prometheus.Gauge
	oldest     prometheus.Gauge
}

// NewMetrics makes the webhook metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "broker_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: delivered, retry, failed (retries spent), gone (410), refused (SSRF guard)."},
			[]string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "broker_webhook_attempt_duration_seconds",
			Help: "Duration of webhook delivery attempts.", Buckets: prometheus.DefBuckets}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "broker_webhook_queue_depth",
			Help: "Webhook deliveries pending (due or waiting for a retry)."}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "broker_webhook_oldest_undelivered_seconds",
			Help: "Age of the oldest event with a pending delivery."}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.deliveries.Describe(ch)
	m.duration.Describe(ch)
	m.depth.Describe(ch)
	m.oldest.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.deliveries.Collect(ch)
	m.duration.Collect(ch)
	m.depth.Collect(ch)
	m.oldest.Collect(ch)
}

func (m *Metrics) delivered(outcome string, d time.Duration) {
	m.deliveries.WithLabelValues(outcome).Inc()
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) setQueue(q store.QueueStats) {
	m.depth.Set(float64(q.Pending))
	m.oldest.Set(q.OldestAgeSec)
}
