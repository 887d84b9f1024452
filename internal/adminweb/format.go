package adminweb

import (
	"fmt"
	"net/url"
	"time"
)

// When is a time as the pages show it: relative to now for reading at a
// glance, absolute (UTC) on hover and for machines.
type When struct {
	Rel string // "5 min ago", "in 40 min"
	Abs string // "4 Mar 2026 09:00 UTC"
	ISO string // for <time datetime>
}

// IsZero reports whether there is no time to show.
func (w When) IsZero() bool { return w.ISO == "" }

func when(t time.Time, now time.Time) When {
	if t.IsZero() {
		return When{}
	}
	return When{Rel: relative(t, now), Abs: t.UTC().Format("2 Jan 2006 15:04 UTC"), ISO: t.UTC().Format(time.RFC3339)}
}

func whenPtr(t *time.Time, now time.Time) When {
	if t == nil {
		return When{}
	}
	return when(*t, now)
}

func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		if future {
			return "in under a minute"
		}
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d.Hours()))
	case d < 60*24*time.Hour:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	default:
		return t.UTC().Format("2 Jan 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// shortID is the first block of a UUID, enough to tell rows apart on a page.
func shortID(id string) string {
	if len(id) >= 8 {
		return id[:8]
	}
	return id
}

// href is path with the query of the given name, value pairs, leaving out
// empty values, so a page's links carry only the filters in use.
func href(path string, pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
