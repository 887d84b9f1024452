package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/brokerhq/broker/internal/auth"
)

// limiter counts wrong passwords at confirmations per account and address,
// as sign-in does, in memory.
func (s *Service) limiter() *auth.Limiter {
	s.limitOnce.Do(func() { s.limit = auth.NewLimiter(auth.LimiterConfig{Now: s.Now}) })
	return s.limit
}

// CheckPassword checks a signed-in person's password again before a
// destructive action. wait > 0 means too many wrong ones: try later.
func (s *Service) CheckPassword(ctx context.Context, v Viewer, password, addr string) (ok bool, wait time.Duration, err error) {
	account := v.Kind + ":" + v.ID
	if allowed, wait := s.limiter().Reserve(account, addr); !allowed {
		return false, wait, nil
	}
	var hash string
	switch v.Kind {
	case KindOperator:
		o, err := s.Store.Operator(ctx, v.ID)
		if err != nil {
			return false, 0, fmt.Errorf("admin: check password: %w", err)
		}
		hash = o.PasswordHash
	case KindUser:
		u, err := s.Store.User(ctx, v.TenantID, v.ID)
		if err != nil {
			return false, 0, fmt.Errorf("admin: check password: %w", err)
		}
		hash = u.PasswordHash
	default:
		return false, 0, forbidden("Only a signed-in person can confirm with a password.")
	}
	ok, err = auth.VerifyPassword(hash, password)
	if err != nil {
		return false, 0, fmt.Errorf("admin: check password: %w", err)
	}
	if !ok { // the reserved attempt stays counted as a failure
		return false, 0, nil
	}
	s.limiter().Succeed(account, addr)
	return true, 0, nil
}
