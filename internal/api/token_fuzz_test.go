package api

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzTokenQuery feeds the token endpoint's query string parser arbitrary
// input: it never panics, what it accepts is in bounds (0 ≤ min_ttl ≤ the
// maximum), what it refuses gets a fixed message that never echoes the
// input, and well-formed values round-trip.
func FuzzTokenQuery(f *testing.F) {
	for _, s := range []string{"", "min_ttl=0", "min_ttl=3000", "min_ttl=3001", "min_ttl=-1", "min_ttl=1e3",
		"force_refresh=true", "force_refresh=1&min_ttl=60", "force_refresh=maybe", "min_ttl=%zz", "min_ttl=60;x=1",
		"min_ttl=<script>", "min_ttl=99999999999999999999999"} {
		f.Add(s, int64(60), true)
	}
	f.Fuzz(func(t *testing.T, raw string, n int64, force bool) {
		minTTL, _, msg := tokenQuery(raw)
		if msg != "" {
			if minTTL != 0 {
				t.Fatalf("refused %q but returned min_ttl %v", raw, minTTL)
			}
			if v := strings.TrimSpace(raw); len(v) > 3 && strings.Contains(msg, v) {
				t.Fatalf("message %q echoes the input", msg)
			}
		} else if minTTL < 0 || minTTL > maxMinTTL {
			t.Fatalf("accepted %q as min_ttl %v, outside 0..%v", raw, minTTL, maxMinTTL)
		}

		q := url.Values{"min_ttl": {strconv.FormatInt(n, 10)}, "force_refresh": {strconv.FormatBool(force)}}
		gotTTL, gotForce, msg := tokenQuery(q.Encode())
		inRange := n >= 0 && time.Duration(n) <= maxMinTTL/time.Second
		switch {
		case inRange && (msg != "" || gotTTL != time.Duration(n)*time.Second || gotForce != force):
			t.Fatalf("min_ttl=%d force=%v parsed as %v %v %q", n, force, gotTTL, gotForce, msg)
		case !inRange && msg == "":
			t.Fatalf("min_ttl=%d accepted as %v", n, gotTTL)
		}
	})
}
