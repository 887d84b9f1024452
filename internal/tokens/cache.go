package tokens

import (
	"context"
	"strings"
	"sync/atomic"
	"time"
	"unique"

	"github.com/brokerhq/broker/internal/store"
)

// ConnInfo is what a caller learns about a connection with its token: no
// secret. One is shared by every request served from the same cache entry.
type ConnInfo struct {
	ID, TenantID, ProjectID, ProjectName, Name string
	AccountType, AuthType, Status              string
	AccountTenantID, AccountUser               string
	EndUser                                    store.EndUser     // set by a connect link
	Metadata                                   map[string]string // likewise; read-only, shared
}

// entry is one connection in memory. It is immutable once stored, except
// for the atomics; a change stores a new entry.
type entry struct {
	info      *ConnInfo
	version   int64  // connections.version it was built from
	err       *Error // non-nil: the status refuses tokens
	access    string
	expiresAt time.Time
	scope     string
	mintedAt  time.Time // last refresh at Microsoft, by any replica
	notBefore time.Time // no request to Microsoft before this (Retry-After)

	lastUsed atomic.Int64 // unix nanos; written in batches by Run
	touched  atomic.Int64 // lastUsed as last written
	ahead    atomic.Bool  // a refresh-ahead was started from this entry
}

func (e *entry) satisfies(now time.Time, minTTL time.Duration) bool {
	return e.access != "" && e.expiresAt.Sub(now) >= minTTL
}

func (e *entry) token(refreshed bool) Token {
	return Token{AccessToken: e.access, ExpiresAt: e.expiresAt, Scope: e.scope, Conn: e.info, Refreshed: refreshed}
}

// newEntry builds an entry from a connection row and its decrypted access
// token (cr may be nil when only metadata is known).
func newEntry(c *store.Connection, access string, expiresAt time.Time) *entry {
	e := &entry{version: c.Version, access: access, expiresAt: expiresAt, scope: shared(strings.Join(c.GrantedScopes, " ")),
		info: &ConnInfo{ID: c.ID, TenantID: shared(c.TenantID), ProjectID: shared(c.ProjectID), ProjectName: shared(c.ProjectName),
			Name: c.Name, AccountType: shared(c.AccountType), AuthType: shared(c.AuthType), Status: shared(c.Status),
			AccountTenantID: shared(first(c.AccountTID, c.MSTenant)), AccountUser: first(c.AccountUsername, c.UserPrincipal),
			EndUser: c.EndUser, Metadata: c.Metadata}}
	if c.LastRefreshAt != nil {
		e.mintedAt = *c.LastRefreshAt
	}
	if err := statusError(c); err != nil {
		e.err, e.access = err, ""
	}
	return e
}

// shared is s as one copy for every entry holding the same value: the
// scopes, statuses, tenants and projects many connections have in common
// (unique drops a value once no entry holds it).
func shared(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// put stores e unless memory holds a newer version of the connection, and
// carries last-use bookkeeping over from the entry it replaces.
func (s *Service) put(e *entry) {
	for {
		v, loaded := s.cache.LoadOrStore(e.info.ID, e)
		if !loaded {
			return
		}
		old := v.(*entry)
		if old.version > e.version {
			return
		}
		e.lastUsed.Store(max(e.lastUsed.Load(), old.lastUsed.Load()))
		e.touched.Store(old.touched.Load())
		if s.cache.CompareAndSwap(e.info.ID, old, e) {
			return
		}
	}
}

// load returns the connection's entry, reading Postgres (one query, the
// secrets decrypted) when memory has none. Concurrent misses share a read.
func (s *Service) load(ctx context.Context, tenantID, connID string) (*entry, error) {
	if v, ok := s.cache.Load(connID); ok {
		return v.(*entry), nil
	}
	epoch := s.epoch.Load()
	v, err, _ := s.loads.Do(tenantID+"/"+connID, func() (any, error) {
		s.stats.loads.Add(1)
		// Shared by every caller waiting: not cancelled by the first one leaving.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		c, cr, err := s.st.ConnectionWithCredentials(lctx, tenantID, connID)
		if err != nil {
			return nil, s.storeError("read the connection", err)
		}
		e := newEntry(&c, cr.AccessToken, cr.AccessTokenExpiresAt)
		// An Invalidate during the read may have been about this row: then
		// serve what was read but do not keep it.
		if s.epoch.Load() == epoch {
			s.put(e)
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}
