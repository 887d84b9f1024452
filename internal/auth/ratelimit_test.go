package auth_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brokerhq/broker/internal/auth"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newLimiter() (*auth.Limiter, *clock) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return auth.NewLimiter(auth.LimiterConfig{Now: c.now}), c
}

// Five wrong passwords from one address stop that address guessing at the
// account, and only that address: the owner elsewhere signs in as usual.
func TestLimiterPerPair(t *testing.T) {
	l, c := newLimiter()
	for i := range 5 {
		if ok, _ := l.Reserve(" Ann@Example.com", "192.0.2.1"); !ok { // counted: a failure until Succeed
			t.Fatalf("attempt %d refused", i+1)
		}
		c.advance(time.Minute)
	}
	ok, wait := l.Allow("ann@example.com", "192.0.2.1")
	if ok || wait != 10*time.Minute {
		t.Fatalf("6th attempt: allowed=%v wait=%v; want refused for 10m", ok, wait)
	}
	if ok, _ := l.Allow("ann@example.com", "198.51.100.7"); !ok {
		t.Fatal("a stranger's failures locked the account for the owner at another address")
	}
	if ok, _ := l.Allow("bob@example.com", "192.0.2.1"); !ok {
		t.Fatal("another account from the same address is refused after 5 failures")
	}
	c.advance(10 * time.Minute) // the first failure leaves the window
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); !ok {
		t.Fatal("still refused after the window slid")
	}
	l.Reserve("ann@example.com", "192.0.2.1")
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); ok {
		t.Fatal("a new failure inside the window should refuse again")
	}
	l.Succeed("ann@example.com", "192.0.2.1")
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); !ok {
		t.Fatal("success did not forgive the pair")
	}
}

// Guessing at one account from many addresses stops at the account-wide
// cap, for every address but those the owner signed in from.
func TestLimiterAccountWide(t *testing.T) {
	l, c := newLimiter()
	if ok, _ := l.Reserve("ann@example.com", "203.0.113.7"); !ok {
		t.Fatal("first sign-in refused")
	}
	l.Succeed("ann@example.com", "203.0.113.7") // the owner's usual address
	guesses := 0
	for a := range 30 {
		for range 5 {
			if ok, _ := l.Reserve("ann@example.com", "198.51.100."+strconv.Itoa(a)); ok {
				guesses++
			}
		}
		c.advance(time.Second)
	}
	if guesses != 100 {
		t.Fatalf("%d guesses from 30 addresses allowed, want the account-wide cap of 100", guesses)
	}
	if ok, _ := l.Allow("ann@example.com", "192.0.2.200"); ok {
		t.Fatal("a new address got past the account-wide cap")
	}
	if ok, _ := l.Allow("ann@example.com", "203.0.113.7"); !ok {
		t.Fatal("the owner's usual address is locked out by strangers")
	}
	c.advance(31 * 24 * time.Hour) // trust fades; so do the failures
	if ok, _ := l.Allow("ann@example.com", "192.0.2.200"); !ok {
		t.Fatal("still refused after the window")
	}
}

func TestLimiterPerAddress(t *testing.T) {
	l, c := newLimiter()
	for i := range 20 {
		l.Reserve("user"+string(rune('a'+i))+"@example.com", "2001:db8::1")
		c.advance(time.Second)
	}
	// Same /64, other account: refused; another network: allowed.
	if ok, _ := l.Allow("fresh@example.com", "2001:db8::ffff"); ok {
		t.Fatal("21st attempt from the same /64 allowed")
	}
	if ok, _ := l.Reserve("fresh@example.com", "2001:db8:1::1"); !ok {
		t.Fatal("another /64 refused")
	}
	l.Succeed("fresh@example.com", "2001:db8:1::1")
	if ok, _ := l.Allow("fresh@example.com", "2001:db8::1"); ok {
		t.Fatal("a success must not reset the address count")
	}
	c.advance(15 * time.Minute)
	if ok, _ := l.Allow("fresh@example.com", "2001:db8::1"); !ok {
		t.Fatal("still refused after the window")
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1",
		"::ffff:192.0.2.1":    "192.0.2.1",
		"2001:db8::1":         "2001:db8::/64",
		"2001:db8:0:0:abcd::": "2001:db8::/64",
		"not an ip":           "not an ip",
	} {
		if got := auth.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Parallel guesses cannot all pass the check before any failure is counted:
// Reserve checks and counts in one step.
func TestReserveHoldsUnderParallelGuesses(t *testing.T) {
	l := auth.NewLimiter(auth.LimiterConfig{})
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := l.Reserve("ann@example.com", "192.0.2.1"); ok {
				allowed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 40 parallel attempts allowed, want 5", n)
	}
	// A success forgives the account and its own attempt at the address.
	l2 := auth.NewLimiter(auth.LimiterConfig{PerAddress: 2})
	for range 3 {
		if ok, _ := l2.Reserve("bob@example.com", "192.0.2.9"); !ok {
			t.Fatal("successful sign-ins are counted against the address")
		}
		l2.Succeed("bob@example.com", "192.0.2.9")
	}
}
