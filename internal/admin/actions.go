package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brokerhq/broker/internal/store"
)

// Action is something an admin does to a connection; its value is the last
// segment of the action's address.
type Action string

const (
	ActTest    Action = "test"
	ActDisable Action = "disable"
	ActEnable  Action = "enable"
	ActDelete  Action = "delete"
	ActRotate  Action = "rotate-secret"
	ActApprove Action = "approve"
	ActReject  Action = "reject"
)

// Actions lists every action in the order pages offer them.
var Actions = []Action{ActTest, ActApprove, ActReject, ActRotate, ActDisable, ActEnable, ActDelete}

// ParseAction reads an action's name; false for anything else.
func ParseAction(s string) (Action, bool) {
	for _, a := range Actions {
		if string(a) == s {
			return a, true
		}
	}
	return "", false
}

// Label is the action's button text.
func (a Action) Label() string {
	return map[Action]string{ActTest: "Test connection", ActDisable: "Disable", ActEnable: "Enable", ActDelete: "Delete",
		ActRotate: "Rotate client secret", ActApprove: "Approve", ActReject: "Reject"}[a]
}

// Destructive actions take something away from callers or the tenant; the
// web asks for the password again before them when the sign-in is old.
func (a Action) Destructive() bool {
	return a == ActDisable || a == ActDelete || a == ActReject || a == ActRotate
}

// NeedsReason: the audit log must say why.
func (a Action) NeedsReason() bool { return a == ActDisable || a == ActDelete || a == ActReject }

// Audit is the action's audit log name.
func (a Action) Audit() string {
	return map[Action]string{ActTest: "connection.tested", ActDisable: "connection.disabled", ActEnable: "connection.enabled",
		ActDelete: "connection.deleted", ActRotate: "connection.secret_rotated", ActApprove: "connection.approved",
		ActReject: "connection.rejected"}[a]
}

// rejectedCode marks a connection an admin rejected: disabled for good,
// its secrets gone.
const rejectedCode = "rejected"

// Rejected reports whether the connection was rejected at approval.
func Rejected(c store.Connection) bool { return c.Status == "disabled" && c.StatusCode == rejectedCode }

// Check says whether v may do a to c now: nil, or an *Error saying why not.
func Check(v Viewer, c store.Connection, a Action) *Error {
	admin := v.Operator() || v.Admin
	switch a {
	case ActTest:
	case ActDisable, ActEnable, ActDelete:
		if !admin {
			return forbidden("Only an administrator of the tenant can " + strings.ToLower(a.Label()) + " a connection.")
		}
	case ActRotate, ActApprove, ActReject:
		if !v.TenantAdmin() {
			return forbidden("Only an administrator of the connection's tenant can " + strings.ToLower(a.Label()) + ".")
		}
	default:
		return &Error{Code: CodeNotFound, Message: "There is no such action."}
	}
	switch a {
	case ActTest:
		if c.Status == "pending" || c.Status == "disabled" {
			return conflict("A " + StatusLabel(c.Status) + " connection has nothing to test.")
		}
	case ActDisable:
		if c.Status == "disabled" {
			return conflict("The connection is already disabled.")
		}
	case ActEnable:
		if c.Status != "disabled" {
			return conflict("Only a disabled connection can be enabled.")
		}
		if Rejected(c) {
			return conflict("A rejected connection has no credentials left to enable. Delete it and create a new one.")
		}
	case ActRotate:
		if c.AuthType != "client_credentials" {
			return conflict("Only client credentials connections have a client secret to rotate.")
		}
		if Rejected(c) {
			return conflict("A rejected connection cannot be changed. Delete it and create a new one.")
		}
	case ActApprove, ActReject:
		// Approval is owed until an admin gives it, whatever the status
		// shows meanwhile (a failed test, a reconnect).
		if !c.Unapproved() || Rejected(c) {
			return conflict("Only a connection awaiting approval can be approved or rejected.")
		}
	}
	return nil
}

// Available lists the actions v may take on c now.
func Available(v Viewer, c store.Connection) []Action {
	var out []Action
	for _, a := range Actions {
		if Check(v, c, a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// Input is what an action's form or JSON body carries.
type Input struct {
	Reason        string
	ClientSecret  string // rotate-secret: the new secret, write-only
	SecretExpires string // rotate-secret, optional: YYYY-MM-DD
	// rotate-secret with a certificate instead (rotatecert.go): PEM key and
	// certificate, or a PKCS#12 file with its password. Write-only.
	CertPEM      string
	CertPKCS12   []byte
	CertPassword string
}

// Outcome is what an action did.
type Outcome struct {
	Action     Action
	Connection store.Connection // after the action; as it was, for delete
	Test       *TestResult      // for ActTest
	Message    string           // one line for a flash or the API
}

// Do runs action a on connection id for v: access, permission, state,
// the change itself, the token service told, the audit record written.
func (s *Service) Do(ctx context.Context, v Viewer, id string, a Action, in Input) (Outcome, error) {
	c, err := s.Connection(ctx, v, id)
	if err != nil {
		return Outcome{}, err
	}
	if e := Check(v, c, a); e != nil {
		return Outcome{}, e
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if a.NeedsReason() && in.Reason == "" {
		return Outcome{}, &Error{Code: CodeInvalid, Field: "reason", Message: "Say why, for the audit log."}
	}
	if len(in.Reason) > 500 {
		return Outcome{}, &Error{Code: CodeInvalid, Field: "reason", Message: "Keep the reason under 500 characters."}
	}
	switch a {
	case ActTest:
		return s.test(ctx, v, c, in)
	case ActRotate:
		return s.rotate(ctx, v, c, in)
	case ActDelete:
		return s.delete(ctx, v, c, in)
	}
	return s.setStatus(ctx, v, c, a, in)
}

// setStatus is disable, enable, approve and reject: a status change under
// the row lock, re-checked there against a concurrent change.
func (s *Service) setStatus(ctx context.Context, v Viewer, c store.Connection, a Action, in Input) (Outcome, error) {
	var ev store.StatusEvent
	var details map[string]any
	u := store.ConnectionUpdate{Status: &ev}
	switch a {
	case ActDisable:
		ev = store.StatusEvent{Status: "disabled", Reason: "Disabled by " + v.Label + ": " + in.Reason}
		details = map[string]any{"previous_status": c.Status}
	case ActEnable:
		prev, found, err := s.Store.StatusBefore(ctx, c.TenantID, c.ID, "disabled")
		if err != nil {
			return Outcome{}, fmt.Errorf("admin: enable: %w", err)
		}
		ev = prev
		if !found {
			ev = store.StatusEvent{Status: "active"}
		}
		details = map[string]any{"restored_status": ev.Status}
	case ActApprove:
		ev = store.StatusEvent{Status: "active", Reason: "Approved by " + v.Label + "."}
		u.Approve = &store.Approval{By: v.Label}
		details = map[string]any{"status": c.Status}
	case ActReject:
		ev = store.StatusEvent{Status: "disabled", ErrorCode: rejectedCode, Reason: "Rejected by " + v.Label + ": " + in.Reason}
		empty := ""
		u.RefreshToken, u.ClientSecret, u.AccessToken = &empty, &empty, &empty
	}
	updated, err := s.Store.UpdateConnection(ctx, c.TenantID, c.ID, func(cur store.Connection, _ store.Credentials) (store.ConnectionUpdate, error) {
		if e := Check(v, cur, a); e != nil {
			return store.ConnectionUpdate{}, e
		}
		if a == ActApprove && cur.Status != "awaiting_approval" {
			// Approved while broken or disabled: the approval stands, the
			// status stays until a test, reconnect or enable changes it.
			u := u
			u.Status = nil
			return u, nil
		}
		return u, nil
	})
	if e, ok := AsError(err); ok {
		return Outcome{}, e
	}
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, errNotFound
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("admin: %s: %w", a, err)
	}
	s.Tokens.Invalidate(c.ID)
	s.audit(ctx, v, c.TenantID, a.Audit(), c.ID, in.Reason, details)
	msg := map[Action]string{
		ActDisable: "Disabled. Callers now get connection_disabled.",
		ActEnable:  "Enabled. Its status is " + StatusLabel(updated.Status) + ".",
		ActApprove: approvedMessage(updated),
		ActReject:  "Rejected. Its credentials were deleted; callers get connection_disabled.",
	}[a]
	return Outcome{Action: a, Connection: updated, Message: msg}, nil
}

func approvedMessage(c store.Connection) string {
	if c.Status == "active" || c.Status == "secret_expiring" {
		return "Approved. Callers can fetch its tokens now."
	}
	return "Approved. Its status is " + StatusLabel(c.Status) + ": callers get tokens once it works again."
}

func (s *Service) delete(ctx context.Context, v Viewer, c store.Connection, in Input) (Outcome, error) {
	gone, err := s.Store.ShredConnection(ctx, c.TenantID, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, errNotFound
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("admin: delete: %w", err)
	}
	s.Tokens.Invalidate(c.ID)
	s.audit(ctx, v, c.TenantID, ActDelete.Audit(), c.ID, in.Reason, map[string]any{"name": gone.Name,
		"project": gone.ProjectName, "account": account(gone), "auth_type": gone.AuthType, "status": gone.Status})
	return Outcome{Action: ActDelete, Connection: gone, Message: "Deleted “" + gone.Name + "” and its credentials. Callers now get 404."}, nil
}

// account is the mailbox a connection reads: the signed-in account, or the
// client credentials connection's user.
func account(c store.Connection) string {
	if c.AccountUsername != "" {
		return c.AccountUsername
	}
	return c.UserPrincipal
}

// SetApproval turns the tenant's "connections need approval" on or off.
func (s *Service) SetApproval(ctx context.Context, v Viewer, on bool) error {
	if !v.TenantAdmin() || v.Kind != KindUser {
		return forbidden("Only an administrator of the tenant can change this setting.")
	}
	if err := s.Store.SetRequireApproval(ctx, v.TenantID, on); err != nil {
		return fmt.Errorf("admin: set approval: %w", err)
	}
	s.audit(ctx, v, v.TenantID, "tenant.approval_changed", "", "", map[string]any{"require_approval": on})
	return nil
}

// ParseExpiry reads an optional YYYY-MM-DD as the end of that day, UTC.
func ParseExpiry(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, errors.New("Enter the date as YYYY-MM-DD, as the Azure portal shows it.")
	}
	end := d.Add(24*time.Hour - time.Second)
	if end.Before(now) {
		return nil, errors.New("That date has passed: this secret has expired. Create a new one in the Azure portal.")
	}
	return &end, nil
}
