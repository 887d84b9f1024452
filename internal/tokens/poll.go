package tokens

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// idleEviction drops connections this replica has not served for this long,
// so memory and the change poll cover the connections in use.
const idleEviction = time.Hour

// Run keeps this replica's memory honest until ctx ends: every PollInterval
// it compares cached connections with Postgres and drops the ones changed or
// deleted elsewhere (a connection disabled on another replica stops here
// within a poll, while the warm path itself stays free of queries), and
// every TouchInterval it writes last use in one batch.
func (s *Service) Run(ctx context.Context) error {
	poll := time.NewTicker(s.opts.PollInterval)
	touch := time.NewTicker(s.opts.TouchInterval)
	defer poll.Stop()
	defer touch.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.touch(fctx)
			cancel()
			return nil
		case <-poll.C:
			if err := s.poll(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("tokens: change poll failed", "err", err)
			}
		case <-touch.C:
			s.touch(ctx)
		}
	}
}

// pollChunk bounds one stamps query of a full sweep.
const pollChunk = 5000

// feedResync: a replica whose change feed has not been read for this long
// sweeps its whole cache instead (tombstones are kept longer than this:
// store.TombstoneKeep).
const feedResync = time.Hour

// changeFeed is where this replica's change poll reads from next.
type changeFeed struct {
	mark uint64
	ok   bool
	at   time.Time
}

// poll evicts idle entries, then drops the ones whose row changed or went
// away elsewhere. It reads the change feed (store.ConnectionChangesSince):
// the rows changed since the last poll, whatever the number cached. The
// first poll, and any after a failed or long-missed one, sweeps every cached
// entry instead (their versions, in chunks) from a fresh mark.
func (s *Service) poll(ctx context.Context) error {
	idleBefore := s.now().Add(-idleEviction).UnixNano()
	cached := map[string]*entry{}
	s.cache.Range(func(k, v any) bool {
		e := v.(*entry)
		if e.lastUsed.Load() < idleBefore && e.mintedAt.UnixNano() < idleBefore {
			s.cache.CompareAndDelete(k, e)
			return true
		}
		cached[k.(string)] = e
		return true
	})
	if len(cached) > s.opts.CacheMax {
		s.touch(ctx) // write pending last use first: under churn no entry would be droppable otherwise
		s.shrink(cached)
	}
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	if !s.feed.ok || s.now().Sub(s.feed.at) > feedResync {
		s.feed.ok = false
		mark, err := s.st.ChangeMark(ctx)
		if err != nil {
			return err
		}
		// Loads that read their row before the mark must not store it
		// after the sweep below has looked: they store nothing now.
		s.epoch.Add(1)
		if err := s.sweep(ctx); err != nil {
			return err
		}
		s.feed = changeFeed{mark: mark, ok: true, at: s.now()}
		return nil
	}
	ch, err := s.st.ConnectionChangesSince(ctx, s.feed.mark)
	if err != nil {
		s.feed.ok = false
		return err
	}
	if len(ch.Changed) > 0 || len(ch.Deleted) > 0 {
		// A load that read its row before one of these changes committed
		// and has not stored its entry yet must not store it: the next
		// feed read may start past the change. Loads check the epoch.
		s.epoch.Add(1)
	}
	for _, st := range ch.Changed {
		if v, ok := s.cache.Load(st.ID); ok && v.(*entry).version != st.Version {
			s.cache.CompareAndDelete(st.ID, v)
		}
	}
	for _, id := range ch.Deleted {
		s.cache.Delete(id)
	}
	s.feed = changeFeed{mark: ch.Next, ok: true, at: s.now()}
	return nil
}

// sweep compares every cached entry's version with its row's, in chunks.
func (s *Service) sweep(ctx context.Context) error {
	cached := map[string]*entry{}
	s.cache.Range(func(k, v any) bool {
		cached[k.(string)] = v.(*entry)
		return true
	})
	ids := make([]string, 0, len(cached))
	for id := range cached {
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), pollChunk)]
		ids = ids[len(chunk):]
		stamps, err := s.st.ConnectionStamps(ctx, chunk)
		if err != nil {
			return err
		}
		for _, st := range stamps {
			if e := cached[st.ID]; e.version == st.Version {
				delete(cached, st.ID)
			}
		}
		for _, id := range chunk {
			if e, changed := cached[id]; changed {
				s.cache.CompareAndDelete(id, e)
			}
		}
	}
	return nil
}

// shrink drops the least recently used entries until a tenth under
// CacheMax, so it does not run again at the next poll. An entry whose last
// use is not written yet stays: dropping it would lose the use the
// keep-alive worker goes by (the next touch writes it, a later poll drops it).
func (s *Service) shrink(cached map[string]*entry) {
	type aged struct {
		id   string
		e    *entry
		used int64
	}
	all := make([]aged, 0, len(cached))
	for id, e := range cached {
		all = append(all, aged{id, e, max(e.lastUsed.Load(), e.mintedAt.UnixNano())})
	}
	slices.SortFunc(all, func(a, b aged) int { return cmp.Compare(a.used, b.used) })
	drop := len(all) - s.opts.CacheMax*9/10
	for _, a := range all {
		if drop <= 0 {
			break
		}
		if a.e.lastUsed.Load()-a.e.touched.Load() > int64(touchEvery) {
			continue
		}
		if s.cache.CompareAndDelete(a.id, a.e) {
			s.stats.evicted.Add(1)
		}
		delete(cached, a.id)
		drop--
	}
}

// touchEvery: last use is written when it moved by more than this; the
// keep-alive worker needs "used within the hour", not the second.
const touchEvery = time.Minute

// touch writes last use of the connections served since the last write.
func (s *Service) touch(ctx context.Context) {
	batch := map[string]time.Time{}
	var entries []*entry
	s.cache.Range(func(k, v any) bool {
		e := v.(*entry)
		if used := e.lastUsed.Load(); used-e.touched.Load() > int64(touchEvery) {
			batch[k.(string)] = time.Unix(0, used)
			entries = append(entries, e)
		}
		return true
	})
	if len(batch) == 0 {
		return
	}
	if err := s.st.TouchConnections(ctx, batch); err != nil {
		s.log.Warn("tokens: writing last use failed; will retry", "connections", len(batch), "err", err)
		return
	}
	for _, e := range entries {
		e.touched.Store(batch[e.info.ID].UnixNano())
	}
}
