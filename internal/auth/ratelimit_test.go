package auth_test

import (
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

func TestLimiterPerAccount(t *testing.T) {
	l, c := newLimiter()
	for i := range 5 {
		if ok, _ := l.Allow("Ann@Example.com", "192.0.2.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.Fail(" ann@example.com", "192.0.2.1")
		c.advance(time.Minute)
	}
	ok, wait := l.Allow("ann@example.com", "198.51.100.7") // another address: the account is what is limited
	if ok || wait != 10*time.Minute {
		t.Fatalf("6th attempt: allowed=%v wait=%v; want refused for 10m", ok, wait)
	}
	if ok, _ := l.Allow("bob@example.com", "192.0.2.1"); !ok {
		t.Fatal("another account from the same address is refused after 5 failures")
	}
	c.advance(10 * time.Minute) // the first failure leaves the window
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); !ok {
		t.Fatal("still refused after the window slid")
	}
	l.Fail("ann@example.com", "192.0.2.1")
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); ok {
		t.Fatal("a new failure inside the window should refuse again")
	}
	l.Succeed("ann@example.com")
	if ok, _ := l.Allow("ann@example.com", "192.0.2.1"); !ok {
		t.Fatal("success did not forgive the account")
	}
}

func TestLimiterPerAddress(t *testing.T) {
	l, c := newLimiter()
	for i := range 20 {
		l.Fail("user"+string(rune('a'+i))+"@example.com", "2001:db8::1")
		c.advance(time.Second)
	}
	// Same /64, other account: refused; another network: allowed.
	if ok, _ := l.Allow("fresh@example.com", "2001:db8::ffff"); ok {
		t.Fatal("21st attempt from the same /64 allowed")
	}
	if ok, _ := l.Allow("fresh@example.com", "2001:db8:1::1"); !ok {
		t.Fatal("another /64 refused")
	}
	l.Succeed("fresh@example.com")
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
