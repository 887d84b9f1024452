package brokerclient

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ConnectSessionRequest asks for a connect link (POST
// /api/v1/connect-sessions): a one-time URL where your product's user, who
// has no broker login, connects an Outlook mailbox in Project, or signs
// ReconnectConnectionID in again. Project and EndUser.ID are required;
// every other field may be left zero. See the broker's docs/connect.md.
type ConnectSessionRequest struct {
	Project             string   `json:"project"` // the project's ID or name; the key must have it in scope
	EndUser             EndUser  `json:"end_user"`
	ConnectionName      string   `json:"connection_name,omitempty"`       // the name the page suggests, ≤ 100 characters
	AllowedAccountTypes []string `json:"allowed_account_types,omitempty"` // common, tenant, consumers, organizations; empty: all
	AllowedAuthTypes    []string `json:"allowed_auth_types,omitempty"`    // authorization_code, client_credentials; empty: both
	Scopes              []string `json:"scopes,omitempty"`                // delegated permissions; empty: the default set
	// ReconnectConnectionID signs this connection in again under the same
	// ID: a token key may name only a connection of the same EndUser.
	ReconnectConnectionID string `json:"reconnect_connection_id,omitempty"`
	// ReturnURL is where the finished page sends the browser, with
	// connect_session_id, connection_id and status in the query; its origin
	// must be one of the tenant's allowed return origins.
	ReturnURL string            `json:"return_url,omitempty"`
	ExpiresIn int               `json:"expires_in,omitempty"` // seconds the link works, 60–86400; 0: the broker's 1800
	Metadata  map[string]string `json:"metadata,omitempty"`   // ≤ 20 labels, copied onto the connection
}

// ConnectSession is a connect link's state.
type ConnectSession struct {
	ID     string `json:"id"`
	Status string `json:"status"` // pending, completed, failed, expired, revoked
	// ConnectURL is only in CreateConnectSession's answer: the broker keeps
	// only its hash. Send it to your user; it works in the first browser
	// that opens it, until ExpiresAt.
	ConnectURL            string            `json:"connect_url,omitempty"`
	ExpiresAt             time.Time         `json:"expires_at"`
	ProjectID             string            `json:"project_id"`
	EndUser               EndUser           `json:"end_user"`
	ConnectionName        string            `json:"connection_name,omitempty"`
	AllowedAccountTypes   []string          `json:"allowed_account_types"`
	AllowedAuthTypes      []string          `json:"allowed_auth_types"`
	Scopes                []string          `json:"scopes"`
	ReconnectConnectionID string            `json:"reconnect_connection_id,omitempty"`
	ReturnURL             string            `json:"return_url,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	ConnectionID          string            `json:"connection_id,omitempty"`  // completed: the connection made or reconnected
	FailureReason         string            `json:"failure_reason,omitempty"` // failed: why, in words
	CreatedAt             time.Time         `json:"created_at"`
	FinishedAt            *time.Time        `json:"finished_at,omitempty"`
}

// CreateConnectSession makes a connect link. A refused field is an *Error
// with Code invalid_input (422) or project_not_allowed (403); its Detail
// names the field.
func (c *Client) CreateConnectSession(ctx context.Context, req ConnectSessionRequest) (ConnectSession, error) {
	var cs ConnectSession
	err := c.call(ctx, http.MethodPost, "/connect-sessions", nil, req, http.StatusCreated, &cs)
	return cs, err
}

// GetConnectSession returns a connect link's state (never its URL); an
// unknown ID is an *Error with Code connect_session_not_found.
func (c *Client) GetConnectSession(ctx context.Context, id string) (ConnectSession, error) {
	var cs ConnectSession
	err := c.call(ctx, http.MethodGet, "/connect-sessions/"+url.PathEscape(id), nil, nil, http.StatusOK, &cs)
	return cs, err
}

// RevokeConnectSession cancels a pending connect link at once and returns
// its state; a finished one keeps its outcome, and revoking twice is not
// an error.
func (c *Client) RevokeConnectSession(ctx context.Context, id string) (ConnectSession, error) {
	var cs ConnectSession
	err := c.call(ctx, http.MethodDelete, "/connect-sessions/"+url.PathEscape(id), nil, nil, http.StatusOK, &cs)
	return cs, err
}
