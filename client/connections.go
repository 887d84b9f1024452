package brokerclient

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Connection is a connection's metadata as the broker lists it: no secret,
// no token.
type Connection struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Project         string    `json:"project"`
	ProjectID       string    `json:"project_id"`
	AccountType     string    `json:"account_type"`
	AuthType        string    `json:"auth_type"`
	Status          string    `json:"status"`
	StatusReason    string    `json:"status_reason,omitempty"`
	StatusCode      string    `json:"status_code,omitempty"`
	StatusChangedAt time.Time `json:"status_changed_at"`
	Account         struct {
		TenantID string `json:"tenant_id"`
		User     string `json:"user"`
	} `json:"account"`
	Scopes          []string `json:"scopes"`
	RequestedScopes []string `json:"requested_scopes"`
	ClientID        string   `json:"client_id,omitempty"`
	// Client credentials: when the app's credential expires, and the
	// certificate's SHA-256 thumbprint (hex) when it is a certificate.
	ClientSecretExpiresAt       *time.Time `json:"client_secret_expires_at,omitempty"`
	ClientCertificateThumbprint string     `json:"client_certificate_thumbprint,omitempty"`
	CreatedAt                   time.Time  `json:"created_at"`
	UpdatedAt                   time.Time  `json:"updated_at"`
	LastRefreshAt               *time.Time `json:"last_refresh_at,omitempty"`
	LastUsedAt                  *time.Time `json:"last_used_at,omitempty"`
	// EndUser is your product's user who connected it through a connect
	// link (nil otherwise); Metadata the labels that link carried.
	EndUser  *EndUser          `json:"end_user,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// EndUser is your product's own user, who connected through a connect
// link and has no broker login.
type EndUser struct {
	ID          string `json:"id"` // your product's identifier, 1–200 characters
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// Filter narrows Connections; zero fields match everything.
type Filter struct {
	Project   string // a project's ID or name
	Status    string // active, needs_reauth, …
	EndUserID string // connections a connect link made for this end user (EndUser.ID)
	PageSize  int    // connections per request to the broker, 1–500 (default 100)
}

// Connections iterates the connections the API key may use, newest first,
// fetching a page at a time as the loop goes on. An error ends the
// iteration with a nil-valued Connection:
//
//	for conn, err := range c.Connections(ctx, brokerclient.Filter{Status: "active"}) {
//		if err != nil { return err }
//		…
//	}
func (c *Client) Connections(ctx context.Context, f Filter) iter.Seq2[Connection, error] {
	return func(yield func(Connection, error) bool) {
		q := url.Values{}
		if f.Project != "" {
			q.Set("project", f.Project)
		}
		if f.Status != "" {
			q.Set("status", f.Status)
		}
		if f.EndUserID != "" {
			q.Set("end_user_id", f.EndUserID)
		}
		if f.PageSize > 0 {
			q.Set("limit", strconv.Itoa(f.PageSize))
		}
		for {
			var page struct {
				Connections []Connection `json:"connections"`
				NextAfter   string       `json:"next_after"`
			}
			if err := c.get(ctx, "/connections", q, &page); err != nil {
				yield(Connection{}, err)
				return
			}
			for _, conn := range page.Connections {
				if !yield(conn, nil) {
					return
				}
			}
			if page.NextAfter == "" {
				return
			}
			q.Set("after", page.NextAfter)
		}
	}
}
