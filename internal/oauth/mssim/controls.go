package mssim

import (
	"fmt"
	"time"
)

// MFAMode says how a refresh answers once MFA is required.
type MFAMode int

const (
	MFAOff                 MFAMode = iota // no requirement
	MFAInvalidGrant                       // AADSTS50076 as invalid_grant, suberror basic_action
	MFAInteractionRequired                // AADSTS50076 as interaction_required, suberror basic_action
)

// RevokeUser revokes every refresh token and session of the user, as an
// admin's "revoke sessions" or a password reset does: refreshing then fails
// with invalid_grant AADSTS50173 until the user signs in again.
func (s *Sim) RevokeUser(ref string) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	u.revokedAt.Store(s.Now().UnixNano())
	u.revokedSeq.Store(s.seq.Add(1))
	return nil
}

// ExpireUserGrants makes the user's existing refresh tokens fail with
// invalid_grant AADSTS70008 (expired or revoked grant).
func (s *Sim) ExpireUserGrants(ref string) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	u.expiredSeq.Store(s.seq.Add(1))
	return nil
}

// ExpireIdleRefreshTokens ages the user's existing refresh tokens past the
// inactivity limit, so that refreshing fails with AADSTS700082 as if they
// had gone unused for 90 days. Advancing the clock does the same naturally.
func (s *Sim) ExpireIdleRefreshTokens(ref string) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	idle := s.Now().Add(-s.Lifetimes().RefreshInactive - time.Second).UnixNano()
	s.refresh.each(func(_ string, rt *refreshToken) {
		if rt.g.user == u {
			rt.lastUsed.Store(idle)
		}
	})
	return nil
}

// RequireMFA makes refresh tokens from sign-ins before now fail with
// AADSTS50076 in the given shape. Signing in again satisfies it (the sim's
// sign-in page counts as having done MFA). MFAOff lifts the requirement.
func (s *Sim) RequireMFA(ref string, mode MFAMode) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	switch mode {
	case MFAOff:
		u.mfaSeq.Store(0)
	case MFAInvalidGrant, MFAInteractionRequired:
		u.mfaInteraction.Store(mode == MFAInteractionRequired)
		u.mfaSeq.Store(s.seq.Add(1))
	default:
		return fmt.Errorf("mssim: require MFA: unknown mode %d", mode)
	}
	return nil
}

// checkUserGrant decides whether a sign-in (its sequence number and time)
// still stands for u, and answers as the token endpoint would if not.
func (s *Sim) checkUserGrant(u *user, authSeq int64, authTime time.Time) *aadError {
	if authSeq < u.revokedSeq.Load() {
		return newErr(400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			dateTime(authTime), dateTime(time.Unix(0, u.revokedAt.Load())))
	}
	if authSeq < u.expiredSeq.Load() {
		return errExpiredGrant()
	}
	if e := caError(u); e != nil {
		return e
	}
	if authSeq < u.mfaSeq.Load() {
		e := errMFARequired().withSuberror("basic_action")
		if u.mfaInteraction.Load() {
			e.err = "interaction_required"
		}
		return e
	}
	return nil
}
