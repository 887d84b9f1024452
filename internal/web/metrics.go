package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process collectors,
// for Deps.Registry; NewRouter adds the HTTP and pool metrics to it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg in the Prometheus text format. Mount it where
// only the scraper reaches it: the numbers tell an outsider too much.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// children holds each label set's counter and histogram once resolved,
	// so a request costs one map read instead of two label hashes and lookups.
	children sync.Map // labels → *metricChildren
}

type labels struct {
	route, method string
	class         int
}

type metricChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "broker_http_requests_total", Help: "HTTP requests by route pattern, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "broker_http_request_duration_seconds", Help: "HTTP request latency by route pattern, method and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// statusClasses are the status label's values, by status/100.
var statusClasses = [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"}

func (m *httpMetrics) observe(method, route string, status int, took time.Duration) {
	switch method { // a client may send any method; keep the label set bounded
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	k := labels{route: route, method: method, class: status / 100}
	v, ok := m.children.Load(k)
	if !ok {
		class := strconv.Itoa(k.class) + "xx"
		if k.class >= 0 && k.class < len(statusClasses) {
			class = statusClasses[k.class]
		}
		v, _ = m.children.LoadOrStore(k, &metricChildren{requests: m.requests.WithLabelValues(route, method, class),
			duration: m.duration.WithLabelValues(route, method, class)})
	}
	c := v.(*metricChildren)
	c.requests.Inc()
	c.duration.Observe(took.Seconds())
}

// poolCollector reads pgxpool's counters at scrape time, so there is no
// background goroutine to copy them.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs map[string]*prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("broker_db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{pool: pool, descs: map[string]*prometheus.Desc{
		"acquired":     d("acquired_conns", "Connections currently in use."),
		"idle":         d("idle_conns", "Connections currently idle."),
		"total":        d("total_conns", "Connections open."),
		"max":          d("max_conns", "Largest pool size allowed."),
		"acquires":     d("acquires_total", "Successful connection acquisitions."),
		"empty":        d("empty_acquires_total", "Acquisitions that had to wait for a connection."),
		"canceled":     d("canceled_acquires_total", "Acquisitions canceled by their context."),
		"acquire_wait": d("acquire_wait_seconds_total", "Time spent waiting to acquire connections."),
	}}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(c.descs[k], prometheus.GaugeValue, v) }
	n := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(c.descs[k], prometheus.CounterValue, v) }
	g("acquired", float64(s.AcquiredConns()))
	g("idle", float64(s.IdleConns()))
	g("total", float64(s.TotalConns()))
	g("max", float64(s.MaxConns()))
	n("acquires", float64(s.AcquireCount()))
	n("empty", float64(s.EmptyAcquireCount()))
	n("canceled", float64(s.CanceledAcquireCount()))
	n("acquire_wait", s.AcquireDuration().Seconds())
}
