package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Class is what the broker should do about an error from Microsoft, decided
// from error_codes[0] (then error), never from the description text.
type Class string

const (
	ClassReauth    Class = "reauth"    // the user must sign in again
	ClassConsent   Class = "consent"   // user or admin consent missing
	ClassConfig    Class = "config"    // app credentials, tenant or account type wrong
	ClassAdmin     Class = "admin"     // an organisation's policy blocks it: an administrator must act, signing in again cannot help
	ClassRestart   Class = "restart"   // the code is spent: start the flow again
	ClassTransient Class = "transient" // throttled or failing: retry with backoff
	ClassClientBug Class = "client_bug"
)

// Error is an error answer from the identity platform or Graph. Its Error()
// text carries codes and IDs only: never a token or the raw response body.
type Error struct {
	HTTPStatus    int
	Code          string // OAuth "error", or Graph's error.code
	SubError      string
	ErrorCodes    []int
	Description   string // Microsoft's text, safe to show (it holds no secret)
	TraceID       string
	CorrelationID string
	RetryAfter    time.Duration
	Network       bool // no answer at all
	// BrokerApp: the app registration the connection uses failed as a whole
	// (the broker's own, or a tenant's own from internal/tenantapps: its
	// secret expired or is wrong, the app is disabled), not this
	// connection; retry once someone fixed it. Set by internal/apphealth,
	// never by a parse.
	BrokerApp bool
}

func (e *Error) Error() string {
	if e.Network {
		return "microsoft: no answer: " + e.Description
	}
	if c := e.AADSTS(); c != "" {
		return fmt.Sprintf("microsoft: %s (%s, HTTP %d, trace %s)", e.Code, c, e.HTTPStatus, e.TraceID)
	}
	return fmt.Sprintf("microsoft: %s (HTTP %d)", e.Code, e.HTTPStatus)
}

// AADSTS is the first error code as "AADSTS70008", or "".
func (e *Error) AADSTS() string {
	if len(e.ErrorCodes) == 0 {
		return ""
	}
	return "AADSTS" + strconv.Itoa(e.ErrorCodes[0])
}

// Summary is the first line of Microsoft's description, without the trace
// and timestamp lines it appends.
func (e *Error) Summary() string {
	s := e.Description
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] // a lone \r ends a line too, in a terminal and in a text log
	}
	return strings.TrimSpace(s)
}

var classByCode = map[int]Class{
	70000: ClassReauth, 70008: ClassReauth, 700082: ClassReauth, 700084: ClassReauth, 50173: ClassReauth, 70043: ClassReauth,
	50076: ClassReauth, 50079: ClassReauth, 50078: ClassReauth,
	53003: ClassAdmin, 530003: ClassAdmin, 530032: ClassReauth, 53000: ClassReauth, 50057: ClassReauth, 50053: ClassReauth, 50055: ClassReauth,
	65001: ClassConsent, 65004: ClassConsent,
	90094: ClassConsent,
	50020: ClassConfig, 50034: ClassConfig, 500208: ClassConfig, 50194: ClassConfig, 9002332: ClassConfig,
	700016: ClassConfig, 7000215: ClassConfig, 7000222: ClassConfig, 700027: ClassConfig, 50012: ClassConfig,
	90002: ClassConfig, 9001023: ClassConfig, 70011: ClassConfig, 500011: ClassConfig, 650056: ClassConfig,
	54005: ClassRestart, 700005: ClassRestart,
	50196: ClassClientBug,
	90055: ClassTransient,
}

// classBySubError reads the platform's suberror, which says whether the
// person can resolve an interaction_required/invalid_grant answer at all
// (MSAL's UiRequiredExceptionClassification, learn.microsoft.com/dotnet/api/
// microsoft.identity.client.uirequiredexceptionclassification): message_only
// "cannot be resolved" by the user, so it needs an administrator;
// consent_required is consent; the rest a new interactive sign-in resolves.
var classBySubError = map[string]Class{
	"message_only": ClassAdmin, "consent_required": ClassConsent,
	"basic_action": ClassReauth, "additional_action": ClassReauth, "user_password_expired": ClassReauth,
	"bad_token": ClassReauth, "token_expired": ClassReauth,
}

// Class classifies the error as the reference table does: a known code
// first, then the suberror, then error.
func (e *Error) Class() Class {
	if e.BrokerApp || e.Network || e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500 {
		return ClassTransient
	}
	if len(e.ErrorCodes) > 0 {
		if c, ok := classByCode[e.ErrorCodes[0]]; ok {
			return c
		}
	}
	if c, ok := classBySubError[e.SubError]; ok {
		return c
	}
	switch e.Code {
	case "temporarily_unavailable", "server_error":
		return ClassTransient
	case "invalid_grant", "interaction_required", "login_required":
		return ClassReauth
	case "consent_required":
		return ClassConsent
	case "invalid_client", "unauthorized_client", "invalid_scope", "invalid_request", "invalid_resource":
		return ClassConfig
	}
	// An answer we cannot place (a 4xx with a code not in the reference
	// table) stops refreshing until someone looks: retrying a refusal would
	// hammer Microsoft, and the admin page shows the code and trace ID.
	return ClassConfig
}

// Transient reports whether a retry may help.
func (e *Error) Transient() bool { return e.Class() == ClassTransient }

// tokenErrorBody is the documented token endpoint error shape.
type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	SubError      string `json:"suberror"`
}

// fromTokenError turns what golang.org/x/oauth2 returned into *Error. Its
// RetrieveError does not parse error_codes, so the body is decoded here.
func fromTokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &Error{Network: true, Description: networkSummary(err)}
	}
	e := &Error{HTTPStatus: re.Response.StatusCode, Code: re.ErrorCode, Description: re.ErrorDescription,
		RetryAfter: retryAfter(re.Response.Header)}
	var body tokenErrorBody
	if json.Unmarshal(re.Body, &body) == nil && body.Error != "" {
		e.Code, e.Description, e.ErrorCodes = body.Error, body.Description, body.ErrorCodes
		e.TraceID, e.CorrelationID, e.SubError = body.TraceID, body.CorrelationID, body.SubError
	}
	if e.Code == "" {
		e.Code = http.StatusText(e.HTTPStatus)
	}
	return e
}

// networkSummary names the failure without echoing a URL that might carry parameters.
func networkSummary(err error) string {
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timed out"
	}
	if errors.Is(err, errNoAnswer) {
		return "connection failed"
	}
	return "request failed"
}

var errNoAnswer = errors.New("no answer")

// maxRetryAfter bounds a Retry-After: an absurd value (years, or one that
// overflows a Duration) must not park a connection forever.
const maxRetryAfter = time.Hour

// retryAfter reads Retry-After as seconds or an HTTP date, within 0..maxRetryAfter.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0
		}
		if s >= int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}
