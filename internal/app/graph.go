package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/graphproxy"
)

// newGraphProxy wires the Graph proxy: the token service's tokens, the
// projects' policies, hourly audit counts (a worker flushes them) and
// metrics on reg.
func (a *App) newGraphProxy(o Options, reg prometheus.Registerer) error {
	cfg := o.Config
	a.graphAudit = graphproxy.NewAudit(a.Store, o.Logger, 0)
	p, err := graphproxy.New(a.Tokens, graphproxy.NewPolicies(a.Store, 0, o.Now), a.graphAudit, graphproxy.Options{
		GraphBase: cfg.GraphBase(), MaxBody: cfg.GraphProxy.MaxBody, Concurrency: cfg.GraphProxy.Concurrency,
		Timeout: cfg.GraphProxy.Timeout, Now: o.Now, Logger: o.Logger, Registerer: reg, Refuse: api.WriteGraphRefusal})
	a.graph = p
	return err
}
