package mssim

import (
	"net/url"
	"sync"
)

// authzSeen is the query of the last authorize request the sim
// received, kept for tests that must prove what the app asked Microsoft for
// (prompt, max_age, login_hint…). It records; it never relaxes a check.
type authzSeen struct {
	mu sync.Mutex
	q  url.Values
}

func (s *authzSeen) record(q url.Values) {
	c := make(url.Values, len(q))
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	s.mu.Lock()
	s.q = c
	s.mu.Unlock()
}

// LastAuthorizeRequest returns a copy of the query parameters of the last
// GET …/oauth2/v2.0/authorize the sim received, valid or not (nil before
// the first), e.g. to check that a re-authentication sent prompt=login and
// max_age.
func (s *Sim) LastAuthorizeRequest() url.Values {
	s.seen.mu.Lock()
	defer s.seen.mu.Unlock()
	if s.seen.q == nil {
		return nil
	}
	c := make(url.Values, len(s.seen.q))
	for k, v := range s.seen.q {
		c[k] = append([]string(nil), v...)
	}
	return c
}
