package store

import "time"

// ConnectionData is a connection as events carry it: IDs, names, project,
// status and Microsoft's details, never a secret or a token. It is built in
// one place, connectionData, so a new connection field reaches every event
// (and the feed) by one change there.
type ConnectionData struct {
	ID                    string     `json:"id"`
	TenantID              string     `json:"tenant_id"`
	ProjectID             string     `json:"project_id"`
	ProjectName           string     `json:"project_name"`
	Name                  string     `json:"name"`
	AccountType           string     `json:"account_type"`
	AuthType              string     `json:"auth_type"`
	Status                string     `json:"status"`
	StatusReason          string     `json:"status_reason,omitempty"`
	AADSTS                string     `json:"aadsts,omitempty"`
	TraceID               string     `json:"trace_id,omitempty"`
	StatusChangedAt       time.Time  `json:"status_changed_at"`
	AccountUsername       string     `json:"account_username,omitempty"`
	AccountName           string     `json:"account_name,omitempty"`
	AccountTenantID       string     `json:"account_tenant_id,omitempty"`
	AccountObjectID       string     `json:"account_object_id,omitempty"`
	ClientID              string     `json:"client_id,omitempty"`
	UserPrincipal         string     `json:"user_principal,omitempty"`
	GrantedScopes         []string   `json:"granted_scopes"`
	NeedsApproval         bool       `json:"needs_approval"`
	ApprovedAt            *time.Time `json:"approved_at,omitempty"`
	ClientSecretExpiresAt *time.Time `json:"client_secret_expires_at,omitempty"`
	CreatedByEmail        string     `json:"created_by_email,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	// Who the connection is for in the product that made it through a
	// connect link, and that product's labels.
	EndUser  *EndUserData      `json:"end_user,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// EndUserData is a connect link's end user as events carry it.
type EndUserData struct {
	ID          string `json:"id"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// connectionData is the one builder of ConnectionData.
func connectionData(c Connection) ConnectionEventData {
	return ConnectionEventData{Connection: ConnectionData{
		ID: c.ID, TenantID: c.TenantID, ProjectID: c.ProjectID, ProjectName: c.ProjectName, Name: c.Name,
		AccountType: c.AccountType, AuthType: c.AuthType, Status: c.Status, StatusReason: c.StatusReason,
		AADSTS: c.StatusCode, TraceID: c.StatusTraceID, StatusChangedAt: c.StatusChangedAt.UTC(),
		AccountUsername: c.AccountUsername, AccountName: c.AccountName, AccountTenantID: c.AccountTID,
		AccountObjectID: c.AccountOID, ClientID: c.ClientID, UserPrincipal: c.UserPrincipal,
		GrantedScopes: nonNil(c.GrantedScopes), NeedsApproval: c.NeedsApproval, ApprovedAt: c.ApprovedAt,
		ClientSecretExpiresAt: c.ClientSecretExpiresAt, CreatedByEmail: c.CreatedByEmail, CreatedAt: c.CreatedAt.UTC(),
		EndUser: endUserData(c.EndUser), Metadata: c.Metadata,
	}}
}

func endUserData(u EndUser) *EndUserData {
	if u.ID == "" {
		return nil
	}
	return &EndUserData{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName}
}

// ConnectionEventData is the data of every connection.* event.
type ConnectionEventData struct {
	Connection ConnectionData `json:"connection"`
	// Status change: from and to, with Microsoft's code, description,
	// trace and correlation IDs (connection.status_changed only).
	Change *StatusChange `json:"change,omitempty"`
}

// StatusChange is a status transition as connection.status_changed carries it.
type StatusChange struct {
	From          string `json:"from"`
	To            string `json:"to"`
	AADSTS        string `json:"aadsts,omitempty"`
	Description   string `json:"description,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

func statusChangeData(before, after Connection, ev *StatusEvent) ConnectionEventData {
	d := connectionData(after)
	ch := &StatusChange{From: before.Status, To: after.Status, AADSTS: after.StatusCode,
		Description: after.StatusReason, TraceID: after.StatusTraceID}
	if ev != nil {
		ch.CorrelationID = ev.CorrelationID
	}
	d.Change = ch
	return d
}

// APIKeyData is an API key as events carry it: never its secret or hash.
type APIKeyData struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id,omitempty"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	ProjectIDs []string   `json:"project_ids"` // null: every project
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyEventData is the data of api_key.* events.
type APIKeyEventData struct {
	APIKey APIKeyData `json:"api_key"`
}

func apiKeyEvent(typ string, k APIKey) newEvent {
	return newEvent{TenantID: k.TenantID, Type: typ, Data: APIKeyEventData{APIKey: APIKeyData{
		ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Scope: k.Scope, ProjectIDs: k.ProjectIDs,
		CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt}}}
}

// WebhookEndpointData is an endpoint as webhook.endpoint_disabled carries
// it: never its secret.
type WebhookEndpointData struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description,omitempty"`
	DisabledReason string     `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
}

// WebhookEndpointEventData is the data of webhook.endpoint_disabled.
type WebhookEndpointEventData struct {
	Endpoint WebhookEndpointData `json:"endpoint"`
}

func endpointDisabledData(w WebhookEndpoint) WebhookEndpointEventData {
	return WebhookEndpointEventData{Endpoint: WebhookEndpointData{ID: w.ID, URL: w.URL, Description: w.Description,
		DisabledReason: w.DisabledReason, FailingSince: w.FailingSince}}
}
