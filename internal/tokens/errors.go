package tokens

import (
	"errors"
	"fmt"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// Code is a stable name for why no token was handed out. The REST API uses
// it as its problem code; the admin UI may show it.
type Code string

const (
	CodeNotFound    Code = "connection_not_found"     // no such connection for this caller
	CodeDisabled    Code = "connection_disabled"      // an admin disabled it
	CodeNotApproved Code = "connection_not_approved"  // awaiting an admin's approval
	CodePending     Code = "connection_pending"       // sign-in not finished
	CodeReauth      Code = "reauthorization_required" // the user must sign in again
	CodeConsent     Code = "consent_required"         // user or admin consent missing
	CodeConfig      Code = "configuration_error"      // app credentials or tenant wrong
	CodeUnavailable Code = "upstream_unavailable"     // Microsoft throttled or failed: retry later
	CodeInternal    Code = "internal_error"           // the broker's own failure (a bug)
	// CodeServiceUnavailable: the broker cannot serve this now (its database
	// does not answer, or a secret is sealed under a key this replica does
	// not hold yet): retry later, possibly on another replica.
	CodeServiceUnavailable Code = "service_unavailable"
)

// Error is why no token was handed out. Its Detail is safe to show a caller:
// it names the cause and never holds a token or a secret.
type Error struct {
	Code          Code
	Status        string // the connection's status, when the status decided
	Detail        string
	AADSTS        string // e.g. AADSTS70008
	TraceID       string // Microsoft's, for a support ticket
	CorrelationID string
	RetryAfter    time.Duration // for CodeUnavailable and CodeServiceUnavailable
	Err           error         // the underlying error, for logs
}

func (e *Error) Error() string {
	s := "tokens: " + string(e.Code) + ": " + e.Detail
	if e.AADSTS != "" {
		s += fmt.Sprintf(" (%s, trace %s)", e.AADSTS, e.TraceID)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

var errNotFound = &Error{Code: CodeNotFound, Detail: "No such connection."}

// servable statuses hand out tokens; secret_expiring is a warning only.
func servable(status string) bool { return status == "active" || status == "secret_expiring" }

// statusError is the error a connection's status answers with, or nil when
// the status serves tokens. The permanent ones carry Microsoft's code and
// trace ID as recorded when the refresh failed.
func statusError(c *store.Connection) *Error {
	e := &Error{Status: c.Status, AADSTS: c.StatusCode, TraceID: c.StatusTraceID}
	if c.Unapproved() && c.Status != "disabled" { // approval is owed whatever the status says
		e.Code, e.Detail = CodeNotApproved, "The connection is waiting for an administrator's approval."
		return e
	}
	switch c.Status {
	case "active", "secret_expiring":
		return nil
	case "disabled":
		e.Code, e.Detail = CodeDisabled, "The connection is disabled; an administrator must enable it."
	case "awaiting_approval":
		e.Code, e.Detail = CodeNotApproved, "The connection is waiting for an administrator's approval."
	case "pending":
		e.Code, e.Detail = CodePending, "The connection has not finished signing in with Microsoft."
	case "needs_reauth":
		e.Code, e.Detail = CodeReauth, "The connection must be reconnected by signing in with Microsoft again: "+reason(c)
	case "consent_required":
		e.Code, e.Detail = CodeConsent, "The connection needs consent before it can be used: "+reason(c)
	case "config_error":
		e.Code, e.Detail = CodeConfig, "The connection's configuration is wrong: "+reason(c)
	default:
		e.Code, e.Detail = CodeInternal, "The connection is in an unknown state."
	}
	return e
}

func reason(c *store.Connection) string {
	if c.StatusReason != "" {
		return c.StatusReason
	}
	return "no reason was recorded."
}

// statusFor maps a permanent class to the status it sets.
var statusFor = map[oauth.Class]string{
	oauth.ClassReauth:  "needs_reauth",
	oauth.ClassRestart: "needs_reauth",
	oauth.ClassConsent: "consent_required",
	oauth.ClassConfig:  "config_error",
	// An organisation's policy (Conditional Access, device management)
	// blocks the grant: the person cannot fix it by signing in again, an
	// administrator of that organisation must, so it is a configuration
	// problem, not needs_reauth.
	oauth.ClassAdmin: "config_error",
}

// causes name, per AADSTS code, what Microsoft's refusal means, so a 409's
// detail says why without anyone reading Microsoft's prose.
var causes = map[int]string{
	70000:   "the grant is invalid or was revoked",
	70008:   "the refresh token has expired or was revoked",
	700082:  "the refresh token expired after 90 days without use",
	700084:  "the refresh token, issued to a single-page app, expired",
	50173:   "the grant was revoked (a password change or an administrator revoked the user's sessions)",
	70043:   "a sign-in frequency policy requires the user to sign in again",
	50076:   "multi-factor authentication is required",
	50079:   "the user must register for multi-factor authentication",
	50078:   "the user's multi-factor authentication has expired",
	53003:   "a Conditional Access policy of the organization blocks access; signing in again will not help, an administrator of the organization must change the policy or exempt the user",
	530003:  "the organization requires a managed device; signing in again will not help, an administrator of the organization must change the policy or register the device",
	530032:  "a security policy blocked the sign-in",
	53000:   "Conditional Access requires a compliant or managed device",
	50057:   "the user account is disabled",
	50053:   "the user account is locked",
	50055:   "the user's password has expired",
	65001:   "the user or an administrator has not consented to the permissions",
	65004:   "the user declined to consent",
	90094:   "an administrator must consent to the permissions",
	50020:   "the account belongs to a tenant the app does not accept",
	50034:   "the user does not exist in the tenant",
	500208:  "the account does not fit the connection's account type",
	50194:   "the app is single-tenant: the connection needs a tenant-specific account type",
	9002332: "the app does not accept this kind of account",
	700016:  "the application is not registered in the tenant",
	7000215: "the client secret is wrong",
	7000222: "the client secret has expired",
	700027:  "the client's certificate assertion is invalid",
	50012:   "the client's credentials are invalid",
	90002:   "the tenant was not found (or belongs to another cloud)",
	9001023: "client credentials need a tenant-specific account type",
	70011:   "a requested permission (scope) is invalid",
	500011:  "Microsoft Graph is not available in the tenant",
	650056:  "the app's permissions are misconfigured",
	54005:   "an authorization code was used twice",
	700005:  "an authorization code was used in the wrong tenant",
}

// permanentError turns a permanent refusal from Microsoft into the status
// event to record and the error to answer with.
func permanentError(oe *oauth.Error, class oauth.Class) (store.StatusEvent, *Error) {
	var text string
	switch c, known := causes[firstCode(oe)]; {
	case oe.HTTPStatus == 0: // decided by the broker, Microsoft was not asked
		text = oe.Description
	case known:
		text = c + ". Microsoft said: " + oe.Summary()
	case class == oauth.ClassAdmin:
		text = "an administrator of the organization must act (" + oe.Code + ", " + oe.SubError + "); signing in again will not help. Microsoft said: " + oe.Summary()
	default:
		text = "Microsoft refused to issue a token (" + oe.Code + "). Microsoft said: " + oe.Summary()
	}
	ev := store.StatusEvent{Status: statusFor[class], Reason: text, ErrorCode: oe.AADSTS(),
		TraceID: oe.TraceID, CorrelationID: oe.CorrelationID}
	c := store.Connection{Status: ev.Status, StatusReason: text, StatusCode: ev.ErrorCode, StatusTraceID: ev.TraceID}
	e := statusError(&c)
	e.CorrelationID, e.Err = oe.CorrelationID, oe
	return ev, e
}

func firstCode(oe *oauth.Error) int {
	if len(oe.ErrorCodes) == 0 {
		return 0
	}
	return oe.ErrorCodes[0]
}

// unavailable is the answer while Microsoft throttles or fails.
func unavailable(err error, retryAfter time.Duration) *Error {
	e := &Error{Code: CodeUnavailable, RetryAfter: max(retryAfter, time.Millisecond), Err: err,
		Detail: "Microsoft did not issue a token in time; retry after the given delay."}
	var oe *oauth.Error
	if errors.As(err, &oe) {
		e.AADSTS, e.TraceID, e.CorrelationID = oe.AADSTS(), oe.TraceID, oe.CorrelationID
		switch {
		case oe.BrokerApp:
			// The broker's own app registration fails for every connection
			// (internal/apphealth): the connection keeps its status, and an
			// operator, not the caller, must act.
			e.Detail = oe.Description + " Retry after the given delay."
		case oe.Network:
			e.Detail = "Microsoft's token endpoint did not answer (" + oe.Description + ")."
		case oe.HTTPStatus == 429 || oe.Code == "temporarily_unavailable":
			e.Detail = "Microsoft is throttling token requests (" + oe.Code + "); retry after the given delay."
		default:
			e.Detail = fmt.Sprintf("Microsoft's token endpoint failed (HTTP %d, %s).", oe.HTTPStatus, oe.Code)
		}
	}
	return e
}
