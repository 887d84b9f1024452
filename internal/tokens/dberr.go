package tokens

import (
	"errors"
	"time"

	"github.com/brokerhq/broker/internal/secrets"
	"github.com/brokerhq/broker/internal/store"
)

// Retry-After for the broker's own outages: long enough that callers do not
// hammer a database that is restarting, short enough to notice it is back.
const (
	dbRetryAfter  = 2 * time.Second
	keyRetryAfter = 5 * time.Second
)

// storeError is the answer when reading or writing a connection failed.
// The database not answering and a secret sealed under a key this replica
// does not hold yet (a rolling key change) pass: 503 service_unavailable
// with Retry-After. Only what is neither is internal_error.
func (s *Service) storeError(op string, err error) *Error {
	var uk *secrets.UnknownKeyError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.As(err, &uk):
		if _, seen := s.missingKeys.LoadOrStore(uk.ID, true); !seen {
			// Once per key ID: every request for such a connection meets it.
			s.log.Error("tokens: a secret is sealed under an encryption key this replica does not hold; "+
				"add the key to BROKER_ENCRYPTION_KEYS (README: rotating keys)", "key_id", uk.ID)
		}
		return &Error{Code: CodeServiceUnavailable, RetryAfter: keyRetryAfter, Err: err,
			Detail: "This broker replica cannot read the connection yet (an encryption key change is rolling out); retry after the given delay."}
	case store.Unavailable(err):
		return &Error{Code: CodeServiceUnavailable, RetryAfter: dbRetryAfter, Err: err,
			Detail: "The broker's database is not answering; retry after the given delay."}
	}
	s.log.Error("tokens: "+op+" failed in the database", "err", err)
	return &Error{Code: CodeInternal, Detail: "The broker could not " + op + ".", Err: err}
}

// passes reports whether an error is one a cached token may stand in for.
func passes(e *Error) bool { return e.Code == CodeUnavailable || e.Code == CodeServiceUnavailable }
