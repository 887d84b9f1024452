package admin

import "github.com/brokerhq/broker/internal/connections"

// Statuses lists every connection status in the order the list counts them.
var Statuses = []string{"active", "pending", "needs_reauth", "consent_required", "config_error",
	"secret_expiring", "awaiting_approval", "disabled"}

var statusLabels = map[string]string{
	"active": "Active", "pending": "Pending", "needs_reauth": "Needs re-authorization",
	"consent_required": "Consent required", "config_error": "Configuration error",
	"secret_expiring": "Secret expiring", "disabled": "Disabled", "awaiting_approval": "Awaiting approval",
	"broken": "Broken",
}

// StatusLabel names a status for people ("broken" is the list's filter for
// the three that need someone to act).
func StatusLabel(status string) string {
	if l, ok := statusLabels[status]; ok {
		return l
	}
	return status
}

// ValidStatus reports whether s is a status or the "broken" filter.
func ValidStatus(s string) bool { _, ok := statusLabels[s]; return ok }

// Broken reports whether a status needs a person to act before the
// connection works again.
func Broken(status string) bool {
	return status == "needs_reauth" || status == "consent_required" || status == "config_error"
}

// AccountTypeLabel names an account type as the New connection form does.
func AccountTypeLabel(t string) string { return connections.AccountType(t).Label() }

// AuthTypeLabel names an authentication type as the New connection form does.
func AuthTypeLabel(t string) string { return connections.AuthType(t).Label() }

// AccountTypes and AuthTypes are the list's filter choices.
var (
	AccountTypes = []string{"common", "tenant", "consumers", "organizations"}
	AuthTypes    = []string{"authorization_code", "client_credentials"}
)

// AuditActions are the audit feed's event types, for its filter.
var AuditActions = []string{
	"connection.created", "connection.signed_in", "connection.sign_in_failed", "connection.reconnected",
	"connection.admin_consent_requested", "connection.admin_consent_granted", "connection.admin_consent_failed",
	"connection.status_changed", "connection.tested", "connection.disabled", "connection.enabled",
	"connection.deleted", "connection.secret_rotated", "connection.approved", "connection.rejected",
	"token.fetched", "api_key.created", "api_key.revoked", "tenant.approval_changed",
	"tenant.connect_settings_changed", "user.signed_in", "user.sign_in_failed", "user.signed_out",
	"tenant.app_registered", "tenant.app_credential_rotated", "tenant.app_deleted", "tenant.app_failing", "tenant.app_recovered",
	"project.app_changed",
}

var actionLabels = map[string]string{
	"connection.created": "Connection created", "connection.signed_in": "Signed in",
	"connection.sign_in_failed": "Sign-in failed", "connection.reconnected": "Reconnected",
	"connection.admin_consent_requested": "Admin consent requested", "connection.admin_consent_granted": "Admin consent granted",
	"connection.admin_consent_failed": "Admin consent failed", "connection.status_changed": "Status changed",
	"connection.tested": "Tested", "connection.disabled": "Disabled", "connection.enabled": "Enabled",
	"connection.deleted": "Deleted", "connection.secret_rotated": "Client secret rotated",
	"connection.approved": "Approved", "connection.rejected": "Rejected", "token.fetched": "Tokens fetched",
	"api_key.created": "API key created", "api_key.revoked": "API key revoked",
	"tenant.approval_changed":         "Approval setting changed",
	"tenant.connect_settings_changed": "Connect link settings changed", "user.signed_in": "Signed in to the broker",
	"user.sign_in_failed": "Failed sign-in to the broker", "user.signed_out": "Signed out",
	"tenant.app_registered": "App registration added", "tenant.app_credential_rotated": "App registration credential rotated",
	"tenant.app_deleted": "App registration deleted", "tenant.app_failing": "App registration refused by Microsoft",
	"tenant.app_recovered": "App registration works again", "project.app_changed": "Project's app registration changed",
}

// ActionLabel names an audit event type for people.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return action
}
