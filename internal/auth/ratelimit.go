package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LimiterConfig sets how many failed sign-ins are allowed per Window, and
// by whom. Guessing is bounded three ways, none of which lets a stranger
// lock the owner out:
//
//   - PerPair failures per account from one address: a guesser at one
//     address gets this many tries at an account, while the owner, at
//     another address, is not affected;
//   - PerAddress failures from one address over all accounts: spraying
//     many accounts from one place stops soon;
//   - PerAccount failures per account from every address together: a
//     distributed guess at one account stops too. This cap is much higher,
//     and an address the account signed in from within TrustFor is exempt
//     from it, so an attacker who reaches it still does not lock the owner
//     out of the places they usually sign in from.
type LimiterConfig struct {
	Window     time.Duration    // default 15 minutes
	PerPair    int              // default 5
	PerAddress int              // default 20
	PerAccount int              // default 100
	TrustFor   time.Duration    // default 30 days
	Now        func() time.Time // default time.Now
}

// Limiter counts failed sign-ins in a sliding window, per account and
// address pair, per address, and per account. It is in memory: a restart
// forgives, and several broker replicas each allow the limits, which is
// acceptable for slowing guessing.
type Limiter struct {
	cfg       LimiterConfig
	mu        sync.Mutex
	pairs     map[string][]time.Time
	addresses map[string][]time.Time
	accounts  map[string][]time.Time
	trusted   map[string]time.Time // pair → last successful sign-in
	lastSweep time.Time
}

// maxKeys bounds memory under a spray of distinct emails or addresses; past
// it, keys whose failures have all aged out are swept at once.
const maxKeys = 100_000

// NewLimiter fills in defaults for the zero fields of cfg.
func NewLimiter(cfg LimiterConfig) *Limiter {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	if cfg.TrustFor <= 0 {
		cfg.TrustFor = 30 * 24 * time.Hour
	}
	def(&cfg.PerPair, 5)
	def(&cfg.PerAddress, 20)
	def(&cfg.PerAccount, 100)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, pairs: map[string][]time.Time{}, addresses: map[string][]time.Time{},
		accounts: map[string][]time.Time{}, trusted: map[string]time.Time{}}
}

// keys are the three counters an attempt at account from addr touches.
type keys struct{ pair, addr, account string }

func keysOf(account, addr string) keys {
	a, ad := AccountKey(account), AddressKey(addr)
	return keys{pair: a + "\x00" + ad, addr: ad, account: a}
}

// Allow tells whether a sign-in to account from addr may be tried now and, if
// not, how long until it may, without counting anything. Sign-in paths use
// Reserve, which checks and counts in one step.
func (l *Limiter) Allow(account, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.waitFor(keysOf(account, addr), l.cfg.Now())
	return wait == 0, wait
}

// Reserve checks and counts an attempt in one step, under one lock, so
// guesses sent in parallel cannot all pass the check before any failure is
// recorded. The attempt counts as a failure until Succeed forgives it.
func (l *Limiter) Reserve(account, addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	k := keysOf(account, addr)
	if wait := l.waitFor(k, now); wait > 0 {
		return false, wait
	}
	l.add(l.pairs, k.pair, l.cfg.PerPair, now)
	l.add(l.addresses, k.addr, l.cfg.PerAddress, now)
	l.add(l.accounts, k.account, l.cfg.PerAccount, now)
	if len(l.pairs)+len(l.addresses)+len(l.accounts)+len(l.trusted) > maxKeys || now.Sub(l.lastSweep) > l.cfg.Window {
		l.sweep(now)
	}
	return true, 0
}

func (l *Limiter) waitFor(k keys, now time.Time) time.Duration {
	wait := max(l.wait(l.pairs, k.pair, l.cfg.PerPair, now), l.wait(l.addresses, k.addr, l.cfg.PerAddress, now))
	if t, ok := l.trusted[k.pair]; !ok || now.Sub(t) > l.cfg.TrustFor {
		wait = max(wait, l.wait(l.accounts, k.account, l.cfg.PerAccount, now))
	}
	return wait
}

// Succeed forgives the pair's failures and the reserved attempt at the
// address and the account, and trusts the address for the account. The
// address and the account keep their other failures, so signing in to
// one's own account does not reset guessing at others, nor a guesser's
// count elsewhere.
func (l *Limiter) Succeed(account, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := keysOf(account, addr)
	delete(l.pairs, k.pair)
	dropLast(l.addresses, k.addr)
	dropLast(l.accounts, k.account)
	l.trusted[k.pair] = l.cfg.Now()
}

func dropLast(m map[string][]time.Time, key string) {
	if times := m[key]; len(times) > 0 {
		m[key] = times[:len(times)-1]
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
	for _, m := range []map[string][]time.Time{l.pairs, l.addresses, l.accounts} {
		for k, times := range m {
			if len(live(times, cutoff)) == 0 {
				delete(m, k)
			}
		}
	}
	for k, t := range l.trusted {
		if now.Sub(t) > l.cfg.TrustFor || len(l.trusted) > maxKeys/2 {
			delete(l.trusted, k)
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
