package tokens

import "context"

// PollOnce and TouchOnce run one round of Run's loops, so tests need not wait.
func (s *Service) PollOnce(ctx context.Context) error { return s.poll(ctx) }

func (s *Service) TouchOnce(ctx context.Context) { s.touch(ctx) }
