package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/brokerhq/broker/internal/store"
)

// Worker delivers due webhook deliveries. Every replica runs one; they
// share the queue through Postgres (store.ClaimWebhookDeliveries).
type Worker struct {
	Store   *store.Store
	Guard   *Guard
	Client  *http.Client // default Guard.Client(Timeout)
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics // nil: none
	// Schedule is the wait before each retry (default DefaultSchedule);
	// Jitter the factor applied to it (default ±20%).
	Schedule []time.Duration
	Jitter   func() float64
	Timeout  time.Duration // one attempt, connect to last header (default 15s)
	Poll     time.Duration // how often to look without a NOTIFY (default 1s)
	Batch    int           // deliveries claimed at once (default 16)
}

// maxBodyRead bounds what the worker reads of a receiver's answer: only
// its status matters, the rest is drained up to this for the connection's
// reuse, and never stored.
const maxBodyRead = 64 << 10

func (w *Worker) defaults() {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.Schedule == nil {
		w.Schedule = DefaultSchedule
	}
	if w.Jitter == nil {
		w.Jitter = jitter
	}
	if w.Timeout <= 0 {
		w.Timeout = 15 * time.Second
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 16
	}
	if w.Client == nil {
		w.Client = w.Guard.Client(w.Timeout)
	}
}

// Run delivers until ctx ends: at each NOTIFY of a new event, and every
// Poll for retries that came due.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	wake := make(chan struct{}, 1)
	go w.listen(ctx, wake)
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	statsEvery := time.NewTicker(15 * time.Second)
	defer statsEvery.Stop()
	w.stats(ctx)
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Logger.Warn("webhooks: claiming deliveries failed", "err", err)
		}
		if n > 0 {
			continue // more may be due: the queue is drained before sleeping
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		case <-statsEvery.C:
			w.stats(ctx)
		}
	}
}

func (w *Worker) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		if err := w.Store.ListenEvents(ctx, wake); err != nil && ctx.Err() == nil {
			w.Logger.Warn("webhooks: listening for events failed; polling meanwhile", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (w *Worker) stats(ctx context.Context) {
	if w.Metrics == nil {
		return
	}
	q, err := w.Store.WebhookQueueStats(ctx, w.Now())
	if err != nil {
		return
	}
	w.Metrics.setQueue(q)
}

// RunOnce claims one batch of due deliveries, attempts them side by side
// (one per endpoint: the claim takes only heads) and records each outcome.
// It returns how many it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	holder := uuid.NewString()
	// The lease outlasts an attempt by a margin, so it never runs out while
	// the attempt can still succeed.
	jobs, err := w.Store.ClaimWebhookDeliveries(ctx, w.Now(), holder, w.Timeout+30*time.Second, w.Batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			// Past shutdown the attempt still ends and is written, bounded by
			// the timeout: a delivery sent but not recorded would go again.
			actx := context.WithoutCancel(ctx)
			o := w.attempt(actx, j)
			if err := w.Store.FinishWebhookDelivery(actx, j.ID, holder, w.Now(), o); err != nil {
				w.Logger.Warn("webhooks: recording a delivery failed", "delivery", j.ID, "err", err)
			}
		})
	}
	wg.Wait()
	return len(jobs), nil
}

// Envelope is the body of every webhook and every item of the events
// feed: the Standard Webhooks shape (type, timestamp, data) with the
// broker's ID, sequence and payload version.
type Envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Sequence  int64           `json:"sequence"`
	Version   int             `json:"version"`
	TenantID  string          `json:"tenant_id,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// EventID is an event's public ID, the webhook-id of its deliveries:
// receivers deduplicate on it.
func EventID(seq int64) string { return "evt_" + strconv.FormatInt(seq, 10) }

// NewEnvelope wraps a stored event.
func NewEnvelope(id int64, typ, tenantID string, at time.Time, data json.RawMessage) Envelope {
	return Envelope{ID: EventID(id), Type: typ, Timestamp: at.UTC(), Sequence: id, Version: store.PayloadVersion,
		TenantID: tenantID, Data: data}
}

// attempt sends one delivery and classifies the answer.
func (w *Worker) attempt(ctx context.Context, j store.DeliveryJob) store.DeliveryOutcome {
	start := w.Now()
	o := w.send(ctx, j)
	o.Duration = w.Now().Sub(start)
	outcome := "delivered"
	switch {
	case o.Delivered:
	case o.Disable != "":
		outcome = "gone"
	default:
		next, ok := nextAttempt(w.Schedule, j.Attempt, w.Now(), o.retryAfter, w.Jitter)
		if ok {
			o.RetryAt = &next
			outcome = "retry"
		} else {
			outcome = "failed"
			o.Disable = fmt.Sprintf("Deliveries failed since %s, through every retry; disabled automatically.",
				j.FailingSince.UTC().Format(time.RFC3339))
		}
	}
	if o.refused {
		outcome = "refused"
	}
	if w.Metrics != nil {
		w.Metrics.delivered(outcome, o.Duration)
	}
	return o.DeliveryOutcome
}

type sent struct {
	store.DeliveryOutcome
	retryAfter time.Duration
	refused    bool
}

func (w *Worker) send(ctx context.Context, j store.DeliveryJob) sent {
	body, err := json.Marshal(NewEnvelope(j.EventID, j.EventType, j.TenantID, j.EventCreatedAt, j.Data))
	if err != nil {
		return sent{DeliveryOutcome: store.DeliveryOutcome{Error: "encoding the event failed"}}
	}
	if err := w.Guard.CheckURLScheme(j.URL); err != nil {
		return sent{DeliveryOutcome: store.DeliveryOutcome{Error: err.Error()}, refused: true}
	}
	id, ts := EventID(j.EventID), w.Now()
	sig, err := Sign(j.Secrets, id, ts, body)
	if err != nil {
		return sent{DeliveryOutcome: store.DeliveryOutcome{Error: err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return sent{DeliveryOutcome: store.DeliveryOutcome{Error: "the URL is not valid"}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "broker-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.Client.Do(req)
	if err != nil {
		if r, ok := AsRefused(err); ok {
			return sent{DeliveryOutcome: store.DeliveryOutcome{Error: r.Error()}, refused: true}
		}
		return sent{DeliveryOutcome: store.DeliveryOutcome{Error: transportError(err)}}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	resp.Body.Close()
	o := sent{DeliveryOutcome: store.DeliveryOutcome{StatusCode: resp.StatusCode}}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		o.Delivered = true
	case resp.StatusCode == http.StatusGone:
		o.Error = "the receiver answered 410 Gone: it wants no more deliveries"
		o.Disable = "The receiver answered 410 Gone; disabled automatically."
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		o.Error = "the receiver redirected (" + resp.Header.Get("Location") + "); redirects are not followed"
	default:
		o.Error = "the receiver answered HTTP " + strconv.Itoa(resp.StatusCode)
		o.retryAfter = retryAfter(resp.Header, w.Now())
	}
	return o
}

// transportError is a network failure in words for the page, without the
// request's URL (which net/http's errors repeat).
func transportError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "the receiver did not answer in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
