package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/brokerhq/broker/internal/store"
)

// Session lifetimes. The idle timeout ends a forgotten tab; the absolute one
// bounds a stolen cookie; touchEvery keeps page views from being writes.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
	ReauthWindow    = 15 * time.Minute
	touchEvery      = time.Minute
)

// Sessions issues and checks session cookies. The cookie holds a random
// 256-bit ID, encrypted and signed; the database holds only its SHA-256, so
// neither a database read nor a log line yields a live session.
type Sessions struct {
	store  *store.Store
	now    func() time.Time
	log    *slog.Logger
	codecs []securecookie.Codec
	keyIDs []string // the ring's key IDs, codecs' order: a cookie names the key that signed it
	cookie cookieSpec
	// missing: key IDs met in cookies but not in the ring, each logged once.
	missing sync.Map
}

// Principal is who a new session is for: a tenant user or an operator.
type Principal struct {
	TenantID, UserID string
	OperatorID       string
	Method           string // store.AuthPassword (default) or store.AuthMicrosoft
}

// Start creates a session with a fresh ID and sets its cookie. Callers drop
// any previous session first, so an ID planted before sign-in is useless.
func (m *Sessions) Start(ctx context.Context, w http.ResponseWriter, p Principal) error {
	id := make([]byte, 32)
	rand.Read(id)
	hash := sha256.Sum256(id)
	now := m.now()
	err := m.store.CreateSession(ctx, store.Session{
		IDHash: hash[:], TenantID: p.TenantID, UserID: p.UserID, OperatorID: p.OperatorID,
		CreatedAt: now, ExpiresAt: now.Add(AbsoluteTimeout), AuthMethod: p.Method,
	})
	if err != nil {
		return fmt.Errorf("web: start session: %w", err)
	}
	value, err := securecookie.EncodeMulti(m.cookie.session, id, m.codecs[0])
	if err != nil {
		return fmt.Errorf("web: encode session cookie: %w", err)
	}
	// "keyID.value": securecookie's value is base64url, never a dot.
	http.SetCookie(w, m.cookie.make(m.cookie.session, m.keyIDs[0]+"."+value, AbsoluteTimeout))
	return nil
}

// errNoSession covers every reason a request has no usable session: no
// cookie, one that does not decode (tampered, or signed by a retired key), or
// one whose row is gone or timed out. The reason is not worth telling apart.
var errNoSession = errors.New("web: no session")

// UnknownSessionKeyError: the cookie was signed under a key this replica's
// ring lacks, during a rolling key change (another replica already signs
// with it). Not a sign-out: the answer is 503 with Retry-After.
type UnknownSessionKeyError struct{ ID string }

func (e *UnknownSessionKeyError) Error() string {
	return fmt.Sprintf("web: session cookie signed under key %q, which is not in BROKER_SESSION_KEYS", e.ID)
}

// decode opens a session cookie's value: "keyID.value" with the named key,
// or (cookies from before key IDs) any key of the ring.
func (m *Sessions) decode(value string, id *[]byte) error {
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return securecookie.DecodeMulti(m.cookie.session, value, id, m.codecs...)
	}
	kid := value[:i]
	k := slices.Index(m.keyIDs, kid)
	if k < 0 {
		if _, seen := m.missing.LoadOrStore(kid, true); !seen {
			m.log.Error("web: a session cookie is signed under a key this replica does not hold; "+
				"add it to BROKER_SESSION_KEYS (README: rotating keys)", "key_id", kid)
		}
		return &UnknownSessionKeyError{ID: kid}
	}
	return m.codecs[k].Decode(m.cookie.session, value[i+1:], id)
}

// Load returns the request's live session, touching it at most once a
// minute. A session idle too long is deleted on the spot.
func (m *Sessions) Load(ctx context.Context, r *http.Request) (store.Session, error) {
	c, err := r.Cookie(m.cookie.session)
	if err != nil {
		return store.Session{}, errNoSession
	}
	var id []byte
	var unknown *UnknownSessionKeyError
	if err := m.decode(c.Value, &id); errors.As(err, &unknown) {
		return store.Session{}, err
	} else if err != nil || len(id) != 32 {
		return store.Session{}, errNoSession
	}
	hash := sha256.Sum256(id)
	now := m.now()
	sess, err := m.store.SessionByHash(ctx, hash[:], now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, errNoSession
	}
	if err != nil {
		return store.Session{}, err
	}
	if now.Sub(sess.LastSeenAt) > IdleTimeout {
		if err := m.store.DeleteSession(ctx, sess.IDHash); err != nil {
			m.log.Warn("delete idle session", "err", err)
		}
		return store.Session{}, errNoSession
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := m.store.TouchSession(ctx, sess.IDHash, now); err != nil {
			m.log.Warn("touch session", "err", err)
		} else {
			sess.LastSeenAt = now
		}
	}
	return sess, nil
}

// End deletes the session row, so the cookie is dead even if a copy of it
// survives, and tells the browser to drop it.
func (m *Sessions) End(ctx context.Context, w http.ResponseWriter, sess store.Session) error {
	m.Clear(w)
	if len(sess.IDHash) == 0 {
		return nil
	}
	if err := m.store.DeleteSession(ctx, sess.IDHash); err != nil {
		return fmt.Errorf("web: end session: %w", err)
	}
	return nil
}

// Clear expires the session cookie in the browser.
func (m *Sessions) Clear(w http.ResponseWriter) {
	http.SetCookie(w, m.cookie.make(m.cookie.session, "", -1))
}

// Reauthenticated tells whether the password was checked within
// ReauthWindow; sensitive actions ask for it again otherwise.
func (m *Sessions) Reauthenticated(sess store.Session) bool {
	return !sess.AuthenticatedAt.IsZero() && m.now().Sub(sess.AuthenticatedAt) <= ReauthWindow
}

// MarkReauthenticated records a fresh password check on the session.
func (m *Sessions) MarkReauthenticated(ctx context.Context, sess store.Session) error {
	if err := m.store.Reauthenticate(ctx, sess.IDHash, m.now()); err != nil {
		return fmt.Errorf("web: reauthenticate: %w", err)
	}
	return nil
}

// cookieSpec names the cookies: "__Host-" pins them to this origin over
// HTTPS; a plain-HTTP localhost URL for development cannot use the prefix.
type cookieSpec struct {
	session, flash string
	secure         bool
}

func newCookieSpec(secure bool) cookieSpec {
	if secure {
		return cookieSpec{session: "__Host-broker_session", flash: "__Host-broker_flash", secure: true}
	}
	return cookieSpec{session: "broker_session", flash: "broker_flash"}
}

// make builds a cookie; a negative maxAge deletes it.
func (c cookieSpec) make(name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", Secure: c.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	return ck
}
