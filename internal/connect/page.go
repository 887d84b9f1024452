package connect

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/store"
)

// Binding is what the bound browser's cookie holds: which session, in which
// tenant, and the secret whose hash the session keeps.
type Binding struct {
	SessionID string `json:"s"`
	TenantID  string `json:"t"`
	Secret    string `json:"k"`
}

// State is what the hosted page shows for a session in this browser.
type State string

const (
	StateForm         State = "form"          // pending, bound here: the New connection form
	StateReconnect    State = "reconnect"     // pending, bound here: sign an existing connection in again
	StateCompleted    State = "completed"     // finished here: the result again
	StateFailed       State = "failed"        // finished here, without a connection
	StateExpired      State = "expired"       // past its expiry before it finished
	StateRevoked      State = "revoked"       // the product revoked it
	StateOtherBrowser State = "other_browser" // opened, or finished, in another browser
)

// Page is a session as the hosted page needs it.
type Page struct {
	Session    store.ConnectSession
	Settings   store.ConnectSettings
	TenantName string
	State      State
	Reconnect  *store.Connection // the connection a reconnect session signs in again
	Binding    Binding
}

// Open reads the session of a link's token for the browser holding b (the
// zero Binding if it has none). A pending session no browser opened yet is
// bound to this one: bind is then non-nil, for the caller to store in the
// browser's cookie. ErrNotFound: no such link.
func (s *Service) Open(ctx context.Context, token string, b Binding) (p Page, bind *Binding, err error) {
	cs, err := s.Store.ConnectSessionByTokenHash(ctx, TokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return Page{}, nil, ErrNotFound
	}
	if err != nil {
		return Page{}, nil, fmt.Errorf("connect: open: %w", err)
	}
	p, err = s.page(ctx, cs)
	if err != nil {
		return Page{}, nil, err
	}
	mine := b.SessionID == cs.ID && cs.BrowserHash != nil && subtle.ConstantTimeCompare(BrowserHash(b.Secret), cs.BrowserHash) == 1
	switch st := cs.StatusAt(s.Now()); {
	case st == "expired":
		p.State = StateExpired
	case st == "revoked":
		p.State = StateRevoked
	case st != "pending" && mine:
		p.State = State(st)
	case st != "pending":
		p.State = StateOtherBrowser
	case cs.BrowserHash == nil:
		nb := Binding{SessionID: cs.ID, TenantID: cs.TenantID, Secret: NewBrowserSecret()}
		ok, err := s.Store.BindConnectSession(ctx, cs.TenantID, cs.ID, BrowserHash(nb.Secret), s.Now())
		if err != nil {
			return Page{}, nil, fmt.Errorf("connect: bind: %w", err)
		}
		if !ok { // another browser opened it a moment ago
			p.State = StateOtherBrowser
			return p, nil, nil
		}
		p.State, p.Binding, bind = s.pendingState(cs), nb, &nb
	case mine:
		p.State, p.Binding = s.pendingState(cs), b
	default:
		p.State = StateOtherBrowser
	}
	return p, bind, nil
}

func (s *Service) pendingState(cs store.ConnectSession) State {
	if cs.ReconnectConnectionID != "" {
		return StateReconnect
	}
	return StateForm
}

// page loads what the page shows besides the session: the tenant's look
// and, for a reconnect, the connection.
func (s *Service) page(ctx context.Context, cs store.ConnectSession) (Page, error) {
	p := Page{Session: cs}
	var err error
	if p.Settings, err = s.Store.ConnectSettings(ctx, cs.TenantID); err != nil {
		return p, fmt.Errorf("connect: settings: %w", err)
	}
	t, err := s.Store.Tenant(ctx, cs.TenantID)
	if err != nil {
		return p, fmt.Errorf("connect: tenant: %w", err)
	}
	p.TenantName = t.Name
	if p.Settings.DisplayName != "" {
		p.TenantName = p.Settings.DisplayName
	}
	if cs.ReconnectConnectionID != "" {
		c, err := s.Store.Connection(ctx, cs.TenantID, cs.ReconnectConnectionID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return p, fmt.Errorf("connect: reconnect target: %w", err)
		}
		if err == nil {
			p.Reconnect = &c
		}
	}
	return p, nil
}

// Bound reads the pending session the browser's cookie is bound to, for
// the callback: false when the cookie names none, or one that is not
// pending, or the secret does not match.
func (s *Service) Bound(ctx context.Context, b Binding) (store.ConnectSession, bool, error) {
	if b.SessionID == "" || b.TenantID == "" || b.Secret == "" {
		return store.ConnectSession{}, false, nil
	}
	cs, err := s.Store.ConnectSession(ctx, b.TenantID, b.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return cs, false, nil
	}
	if err != nil {
		return cs, false, fmt.Errorf("connect: bound session: %w", err)
	}
	ok := cs.BrowserHash != nil && subtle.ConstantTimeCompare(BrowserHash(b.Secret), cs.BrowserHash) == 1 &&
		cs.StatusAt(s.Now()) == "pending"
	return cs, ok, nil
}

// Actor is the end user acting through a session bound to b: in the
// session's project only, with sign-ins bound to this browser.
func (s *Service) Actor(cs store.ConnectSession, b Binding, requestID string) connections.Actor {
	label := cs.EndUser.ID
	if cs.EndUser.Email != "" {
		label = cs.EndUser.Email
	}
	return connections.Actor{TenantID: cs.TenantID, Email: "end user " + label, ProjectIDs: []string{cs.ProjectID},
		SessionHash: flowSessionHash(b.Secret), RequestID: requestID,
		Via: &connections.ConnectLink{SessionID: cs.ID, APIKeyID: cs.CreatedByKey, APIKeyLabel: cs.CreatedByLabel,
			EndUser: cs.EndUser, Metadata: cs.Metadata, ConnectionName: cs.ConnectionName}}
}

// ReturnTo is where a finished session sends the browser: its return_url
// with connect_session_id, connection_id and status added, or "".
func ReturnTo(cs store.ConnectSession, status, connectionID string) string {
	if cs.ReturnURL == "" {
		return ""
	}
	u, err := url.Parse(cs.ReturnURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("connect_session_id", cs.ID)
	if connectionID != "" {
		q.Set("connection_id", connectionID)
	}
	q.Set("status", status)
	u.RawQuery = q.Encode()
	return u.String()
}

// PageOf is the page of a session already found (the callback's).
func (s *Service) PageOf(ctx context.Context, cs store.ConnectSession) (Page, error) {
	return s.page(ctx, cs)
}
