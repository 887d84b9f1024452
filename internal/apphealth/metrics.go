package apphealth

import "github.com/prometheus/client_golang/prometheus"

var (
	descUp = prometheus.NewDesc("broker_microsoft_app_up",
		"1 while Microsoft accepts the broker's own app registration, 0 while it refuses it (refreshes paused).", nil, nil)
	descCondition = prometheus.NewDesc("broker_microsoft_app_condition",
		"1 for the app registration's current failure, by kind and AADSTS code.", []string{"kind", "code"}, nil)
	descPaused = prometheus.NewDesc("broker_microsoft_app_paused_requests_total",
		"Refreshes answered without asking Microsoft while the app registration failed.", nil, nil)
	descUpstream = prometheus.NewDesc("broker_microsoft_app_requests_total",
		"Refreshes and code redemptions sent to Microsoft with the broker's app registration.", nil, nil)
	descExpiry = prometheus.NewDesc("broker_microsoft_app_secret_expiry_timestamp_seconds",
		"BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT as a Unix time (absent when not set).", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descCondition, descPaused, descUpstream, descExpiry} {
		ch <- d
	}
}

// Collect implements prometheus.Collector, reading the state at scrape time.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	up := 1.0
	if c := m.Condition(); c != nil {
		up = 0
		ch <- prometheus.MustNewConstMetric(descCondition, prometheus.GaugeValue, 1, string(c.Kind), c.Code)
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	st := m.Stats()
	ch <- prometheus.MustNewConstMetric(descPaused, prometheus.CounterValue, float64(st.Paused))
	ch <- prometheus.MustNewConstMetric(descUpstream, prometheus.CounterValue, float64(st.Upstream))
	if exp := m.opts.SecretExpiresAt; exp != nil {
		ch <- prometheus.MustNewConstMetric(descExpiry, prometheus.GaugeValue, float64(exp.Unix()))
	}
}
