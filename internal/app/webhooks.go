package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/brokerhq/broker/internal/apphealth"
	"github.com/brokerhq/broker/internal/config"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/web"
	"github.com/brokerhq/broker/internal/webhooks"
)

// webhookConns sizes the delivery worker's pool: one held in LISTEN, one
// claiming, two recording outcomes.
const webhookConns = 4

// newWebhooks opens the delivery worker's pool and adds the worker and the
// health watcher to the background workers.
func (a *App) newWebhooks(ctx context.Context, cfg *config.Config, deps *web.Deps, o Options) error {
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.EncryptionKeys, store.Options{Now: o.Now,
		MaxConns: webhookConns, SystemURL: cfg.SystemDatabaseURL})
	if err != nil {
		return err
	}
	a.webhookStore = st
	a.WebhookGuard = &webhooks.Guard{AllowHTTPHosts: cfg.Webhooks.AllowHTTPHosts, AllowNetworks: cfg.Webhooks.AllowNetworks}
	a.Webhooks = &webhooks.Service{Store: a.Store, Guard: a.WebhookGuard, Now: o.Now}
	metrics := webhooks.NewMetrics()
	if err := deps.Registry.Register(metrics); err != nil {
		return err
	}
	a.WebhookWorker = &webhooks.Worker{Store: st, Guard: a.WebhookGuard, Now: o.Now, Logger: o.Logger, Metrics: metrics}
	a.workers = append(a.workers,
		worker{"webhooks", a.WebhookWorker.Run},
		worker{"health events", func(ctx context.Context) { healthEvents(ctx, st, a.Health, o.Logger) }})
	return nil
}

// HealthChange is the data of broker.health_changed: the app
// registration's condition on one replica (nil: healthy again).
type HealthChange struct {
	Replica   string               `json:"replica"`
	Healthy   bool                 `json:"healthy"`
	Condition *apphealth.Condition `json:"condition,omitempty"`
	Previous  *apphealth.Condition `json:"previous,omitempty"`
}

// healthEvents records broker.health_changed when the app registration's
// condition, held in memory by this replica's monitor, changes kind. There
// is no row to commit it with, so it is written when seen, each replica
// reporting what it saw.
func healthEvents(ctx context.Context, st *store.Store, m *apphealth.Monitor, log *slog.Logger) {
	host, _ := os.Hostname()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var last *apphealth.Condition
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := m.Condition()
		if kindOf(cur) == kindOf(last) {
			continue
		}
		ev := HealthChange{Replica: host, Healthy: cur == nil, Condition: cur, Previous: last}
		if err := st.AppendBrokerEvent(ctx, store.EventBrokerHealthChanged, ev); err != nil {
			log.Warn("webhooks: recording broker.health_changed failed", "err", err)
			continue
		}
		last = cur
	}
}

func kindOf(c *apphealth.Condition) apphealth.Kind {
	if c == nil {
		return ""
	}
	return c.Kind
}
