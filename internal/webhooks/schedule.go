package webhooks

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// DefaultSchedule is the wait before each retry: the first attempt goes
// at once, then these, about three days in all (71 h 35 min before
// jitter); after the last retry fails the delivery fails and the endpoint,
// failing all that time, is disabled.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 20 * time.Hour,
}

// MaxRetryAfter caps how long a Retry-After may put a delivery off.
const MaxRetryAfter = 24 * time.Hour

// jitter spreads retries by ±20% so endpoints that failed together do not
// come back together.
func jitter() float64 { return 0.8 + 0.4*rand.Float64() }

// nextAttempt is when attempt number attempt+1 goes after attempt failed
// at now; false when the schedule is spent. A Retry-After the receiver
// sent replaces the schedule's wait for this retry.
func nextAttempt(schedule []time.Duration, attempt int, now time.Time, retryAfter time.Duration, j func() float64) (time.Time, bool) {
	if attempt > len(schedule) {
		return time.Time{}, false
	}
	if retryAfter > 0 {
		return now.Add(min(retryAfter, MaxRetryAfter)), true
	}
	wait := time.Duration(float64(schedule[attempt-1]) * j())
	return now.Add(wait), true
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
