package apikeys

import (
	"context"
	"time"
)

// revocationOverlap re-reads revocations older than the last poll: a revoke
// stamped before the poll but committed after it is still seen, and so is a
// modest clock difference between replicas.
const revocationOverlap = time.Minute

// Run keeps the cache current until ctx ends: it polls for revocations,
// writes last_used_at in batches and re-reads cached keys now and then.
// On the way out it writes last use once more.
func (v *Verifier) Run(ctx context.Context) error {
	poll := time.NewTicker(v.opts.RevocationPoll)
	touch := time.NewTicker(v.opts.TouchInterval)
	recheck := time.NewTicker(v.opts.RecheckInterval)
	defer poll.Stop()
	defer touch.Stop()
	defer recheck.Stop()
	since := v.opts.Now().Add(-revocationOverlap)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			v.flushLastUsed(fctx)
			cancel()
			return nil
		case <-poll.C:
			start := v.opts.Now()
			if err := v.pollRevocations(ctx, since); err != nil {
				v.opts.Logger.Warn("api keys: revocation poll failed", "err", err)
				continue
			}
			since = start.Add(-revocationOverlap)
		case <-touch.C:
			v.flushLastUsed(ctx)
		case <-recheck.C:
			if err := v.recheck(ctx); err != nil {
				v.opts.Logger.Warn("api keys: recheck failed", "err", err)
			}
		}
	}
}

// pollRevocations drops keys revoked since the given time.
func (v *Verifier) pollRevocations(ctx context.Context, since time.Time) error {
	ids, err := v.st.RevokedAPIKeysSince(ctx, since)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, seen := v.revoked.Load(id); !seen {
			v.Drop(id)
		}
	}
	return nil
}

// recheck drops cached keys whose rows are gone or revoked, which the
// revocation poll misses when a whole tenant is deleted.
func (v *Verifier) recheck(ctx context.Context) error {
	var ids []string
	v.keys.Range(func(_, k any) bool {
		ids = append(ids, k.(*Key).ID)
		return true
	})
	if len(ids) == 0 {
		return nil
	}
	active, err := v.st.ActiveAPIKeyIDs(ctx, ids)
	if err != nil {
		return err
	}
	keep := make(map[string]bool, len(active))
	for _, id := range active {
		keep[id] = true
	}
	for _, id := range ids {
		if !keep[id] {
			v.Drop(id)
		}
	}
	return nil
}

// flushLastUsed writes last_used_at for keys used since the last flush, all
// in one statement: a key used a million times a minute costs one write.
func (v *Verifier) flushLastUsed(ctx context.Context) {
	batch := map[string]time.Time{}
	var keys []*Key
	v.keys.Range(func(_, k any) bool {
		key := k.(*Key)
		if used := key.lastUsed.Load(); used > key.flushed.Load() {
			batch[key.ID] = time.Unix(0, used)
			keys = append(keys, key)
		}
		return true
	})
	if len(batch) == 0 {
		return
	}
	if err := v.st.TouchAPIKeys(ctx, batch); err != nil {
		v.opts.Logger.Warn("api keys: writing last use failed; will retry", "keys", len(batch), "err", err)
		return
	}
	for _, k := range keys {
		k.flushed.Store(batch[k.ID].UnixNano())
	}
}
