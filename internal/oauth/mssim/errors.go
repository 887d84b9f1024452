package mssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// TokenErrorBody is the JSON body of a token endpoint error, exactly as the
// platform sends it. Tests decode it to assert on ErrorCodes[0].
type TokenErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	Suberror         string `json:"suberror,omitempty"`
}

// aadError is an error the sim answers with: an OAuth error string, an
// AADSTS code and the description that follows "AADSTS{code}: ".
type aadError struct {
	status   int // HTTP status at the token endpoint
	err      string
	code     int
	desc     string
	suberror string
}

func newErr(status int, errCode string, code int, format string, args ...any) *aadError {
	return &aadError{status: status, err: errCode, code: code, desc: fmt.Sprintf(format, args...)}
}

func (e *aadError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.err, e.code, e.desc) }

// withSuberror returns a copy of e with the suberror set.
func (e *aadError) withSuberror(sub string) *aadError {
	c := *e
	c.suberror = sub
	return &c
}

// traced is an error with the identifiers the platform stamps on it.
type traced struct {
	*aadError
	trace, correlation, timestamp string
}

// trace stamps e with a new trace ID, the client's correlation ID (the
// client-request-id header, as the platform echoes it) and the sim's time.
func (s *Sim) trace(r *http.Request, e *aadError) traced {
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	return traced{aadError: e, trace: newGUID(), correlation: corr, timestamp: s.Now().UTC().Format("2006-01-02 15:04:05Z")}
}

// description is error_description with the platform's suffix.
func (t traced) description() string {
	return fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		t.code, t.desc, t.trace, t.correlation, t.timestamp)
}

// writeTokenError answers a token endpoint request with e in the documented
// body shape.
func (s *Sim) writeTokenError(w http.ResponseWriter, r *http.Request, e *aadError) {
	t := s.trace(r, e)
	body := TokenErrorBody{
		Error:            e.err,
		ErrorDescription: t.description(),
		ErrorCodes:       []int{e.code},
		Timestamp:        t.timestamp,
		TraceID:          t.trace,
		CorrelationID:    t.correlation,
		ErrorURI:         s.loginBase(r) + "/error?code=" + strconv.Itoa(e.code),
		Suberror:         e.suberror,
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", t.trace)
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="`+s.loginBase(r)+`"`)
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

// retryAfter formats a Retry-After header value in whole seconds.
func retryAfter(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}

// The errors the sim raises, worded as the platform words them. Codes are
// what clients classify on; the wording is for people.

func errMissingParam(name string) *aadError {
	return newErr(400, "invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

func errTenantNotFound(t string) *aadError {
	return newErr(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)
}

func errAppNotFound(clientID, dir string) *aadError {
	return newErr(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, dir)
}

func errRedirectMismatch(uri, clientID string) *aadError {
	return newErr(400, "invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", uri, clientID)
}

func errInvalidScope(scope string) *aadError {
	return newErr(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' isn't valid. The scope %s isn't valid.", scope)
}

func errResourceNotFound(resource, tenantName string) *aadError {
	return newErr(400, "invalid_resource", 500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenantName)
}

func errConsentMissing(a *app) *aadError {
	return newErr(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", a.clientID, a.name)
}

func errUserDeclined() *aadError {
	return newErr(400, "access_denied", 65004, "User declined to consent to access the app.")
}

func errBadSecret(clientID string) *aadError {
	return newErr(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
}

func errExpiredSecret(clientID string) *aadError {
	return newErr(401, "invalid_client", 7000222, "The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds", clientID)
}

func errNoSecret() *aadError {
	return newErr(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

func errPublicWithSecret() *aadError {
	return newErr(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
}

func errMalformedGrant() *aadError {
	return newErr(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
}

func errExpiredGrant() *aadError {
	return newErr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
}

func errMFARequired() *aadError {
	return newErr(400, "invalid_grant", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", graphAppID)
}

func errGrantOnCommon() *aadError {
	return newErr(400, "invalid_request", 9001023, "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
}

func errUnknownGrantType(g string) *aadError {
	return newErr(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", g)
}

func errFlowExpired() *aadError {
	return newErr(400, "invalid_request", 50089, "Authentication failed due to flow token expired.")
}

func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
