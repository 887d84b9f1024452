package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LimiterConfig sets how many failed sign-ins are allowed per Window.
type LimiterConfig struct {
	Window     time.Duration    // default 15 minutes
	PerAccount int              // default 5
	PerAddress int              // default 20
	Now        func() time.Time // default time.Now
}

// Limiter counts failed sign-ins in a sliding window, per account and per
// remote address. It is in memory: a restart forgives, and several broker
// replicas each allow the limit, which is acceptable for slowing guessing.
type Limiter struct {
	cfg       LimiterConfig
	mu        sync.Mutex
	accounts  map[string][]time.Time
	addresses map[string][]time.Time
	lastSweep time.Time
}

// maxKeys bounds memory under a spray of distinct emails or addresses; past
// it, keys whose failures have all aged out are swept at once.
const maxKeys = 100_000

// NewLimiter fills in defaults for the zero fields of cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.PerAccount <= 0 {
		cfg.PerAccount = 5
	}
	if cfg.PerAddress <= 0 {
		cfg.PerAddress = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, accounts: map[string][]time.Time{}, addresses: map[string][]time.Time{}}
}

// Allow tells whether a sign-in to account from addr may be tried now and, if
// not, how long until it may, without counting anything. Sign-in paths use
// Reserve, which checks and counts in one step.
func (l *Limiter) Allow(account, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	wait := max(
		l.wait(l.accounts, AccountKey(account), l.cfg.PerAccount, now),
		l.wait(l.addresses, AddressKey(addr), l.cfg.PerAddress, now))
	return wait == 0, wait
}

// Reserve checks and counts an attempt in one step, under one lock, so
// guesses sent in parallel cannot all pass the check before any failure is
// recorded. The attempt counts as a failure until Succeed forgives it.
func (l *Limiter) Reserve(account, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	wait := max(
		l.wait(l.accounts, AccountKey(account), l.cfg.PerAccount, now),
		l.wait(l.addresses, AddressKey(addr), l.cfg.PerAddress, now))
	if wait > 0 {
		return false, wait
	}
	l.record(account, addr, now)
	return true, 0
}

func (l *Limiter) record(account, addr string, now time.Time) {
	l.add(l.accounts, AccountKey(account), l.cfg.PerAccount, now)
	l.add(l.addresses, AddressKey(addr), l.cfg.PerAddress, now)
	if len(l.accounts)+len(l.addresses) > maxKeys || now.Sub(l.lastSweep) > l.cfg.Window {
		l.sweep(now)
	}
}

// Succeed forgives the account's failures and the address's reserved
// attempt. The address keeps its other failures, so signing in to one's own
// account does not reset guessing at others.
func (l *Limiter) Succeed(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, AccountKey(account))
	if times := l.addresses[AddressKey(addr)]; len(times) > 0 {
		l.addresses[AddressKey(addr)] = times[:len(times)-1]
	}
}

// wait is zero while key has fewer than limit failures in the window, else
// the time until its oldest counted failure leaves the window.
func (l *Limiter) wait(m map[string][]time.Time, key string, limit int, now time.Time) time.Duration {
	times := live(m[key], now.Add(-l.cfg.Window))
	if len(times) < limit {
		return 0
	}
	return times[len(times)-limit].Add(l.cfg.Window).Sub(now)
}

func (l *Limiter) add(m map[string][]time.Time, key string, limit int, now time.Time) {
	times := append(live(m[key], now.Add(-l.cfg.Window)), now)
	if len(times) > limit { // older failures no longer decide anything
		times = append([]time.Time(nil), times[len(times)-limit:]...)
	}
	m[key] = times
}

func (l *Limiter) sweep(now time.Time) {
	cutoff := now.Add(-l.cfg.Window)
	for _, m := range []map[string][]time.Time{l.accounts, l.addresses} {
		for k, times := range m {
			if len(live(times, cutoff)) == 0 {
				delete(m, k)
			}
		}
	}
	l.lastSweep = now
}

// live drops the failures at or before cutoff; times are in order.
func live(times []time.Time, cutoff time.Time) []time.Time {
	for len(times) > 0 && !times[0].After(cutoff) {
		times = times[1:]
	}
	return times
}

// AccountKey folds an email so case and spaces do not make new accounts.
func AccountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// AddressKey groups IPv6 clients by /64, which one host usually holds whole,
// so rotating through its addresses does not reset the count.
func AddressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
