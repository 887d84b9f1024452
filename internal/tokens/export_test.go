package tokens

import "context"

// PollOnce and TouchOnce run one round of Run's loops, so tests need not wait.
func (s *Service) PollOnce(ctx context.Context) error { return s.poll(ctx) }

func (s *Service) TouchOnce(ctx context.Context) { s.touch(ctx) }

// Cached counts the connections in memory.
func (s *Service) Cached() int {
	n := 0
	s.cache.Range(func(any, any) bool { n++; return true })
	return n
}
