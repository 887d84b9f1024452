package oauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// FuzzTokenError feeds the parser of Microsoft's token error answers
// arbitrary bodies, statuses and Retry-After headers. It never panics, the
// result is always *Error with a known class and a non-negative Retry-After,
// and Error() — which reaches logs — never carries the description or
// anything else from the body but the codes and IDs.
func FuzzTokenError(f *testing.F) {
	f.Add(400, `{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired.\r\nTrace ID: x","error_codes":[70008],"trace_id":"t1","correlation_id":"c1"}`, "")
	f.Add(429, `{"error":"temporarily_unavailable","error_codes":[90055]}`, "30")
	f.Add(503, `<html>Service Unavailable</html>`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, `{"error":"","error_codes":[-1,99999999999]}`, "-5")
	f.Add(401, `{"error":"invalid_client","error_description":"secret 0.AAAArefresh-token-value","error_codes":[7000215]}`, "99999999999999999")
	f.Add(400, `{"error_codes":"nope"}`, "")
	f.Add(0, ``, "")
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		h := http.Header{}
		if retry != "" {
			h.Set("Retry-After", retry)
		}
		re := &oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: h}, Body: []byte(body)}
		var e *Error
		if !errors.As(fromTokenError(re), &e) {
			t.Fatal("not an *Error")
		}
		switch e.Class() {
		case ClassReauth, ClassConsent, ClassConfig, ClassRestart, ClassTransient, ClassClientBug:
		default:
			t.Fatalf("unknown class %q", e.Class())
		}
		if e.RetryAfter < 0 {
			t.Fatalf("Retry-After %q gave %v", retry, e.RetryAfter)
		}
		if strings.ContainsAny(e.Summary(), "\r\n") {
			t.Fatalf("summary %q spans lines", e.Summary())
		}
		msg := e.Error()
		if d := e.Description; len(d) >= 8 && !strings.Contains(e.Code+e.TraceID, d) && strings.Contains(msg, d) {
			t.Fatalf("Error() %q carries the description", msg)
		}
		if len(body) >= 16 && !strings.Contains(e.Code+e.TraceID, body) && strings.Contains(msg, body) {
			t.Fatalf("Error() %q carries the body", msg)
		}
	})
}
