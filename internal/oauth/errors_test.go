package oauth

import "testing"

// Conditional Access and device-management refusals need an administrator;
// the suberror decides where the code alone does not.
func TestClassAdminAndSubError(t *testing.T) {
	cases := []struct {
		name string
		e    Error
		want Class
	}{
		{"53003 blocked by Conditional Access", Error{HTTPStatus: 400, Code: "invalid_grant", ErrorCodes: []int{53003}}, ClassAdmin},
		{"530003 device must be managed", Error{HTTPStatus: 400, Code: "invalid_grant", ErrorCodes: []int{530003}}, ClassAdmin},
		{"50076 MFA, basic_action", Error{HTTPStatus: 400, Code: "invalid_grant", ErrorCodes: []int{50076}, SubError: "basic_action"}, ClassReauth},
		{"unknown code, message_only", Error{HTTPStatus: 400, Code: "invalid_grant", ErrorCodes: []int{50199}, SubError: "message_only"}, ClassAdmin},
		{"unknown code, consent_required", Error{HTTPStatus: 400, Code: "interaction_required", ErrorCodes: []int{50199}, SubError: "consent_required"}, ClassConsent},
		{"unknown code, additional_action", Error{HTTPStatus: 400, Code: "interaction_required", SubError: "additional_action"}, ClassReauth},
		{"no suberror falls back to error", Error{HTTPStatus: 400, Code: "interaction_required"}, ClassReauth},
		{"throttled stays transient", Error{HTTPStatus: 429, Code: "invalid_grant", ErrorCodes: []int{53003}}, ClassTransient},
	}
	for _, c := range cases {
		if got := c.e.Class(); got != c.want {
			t.Errorf("%s: class %s, want %s", c.name, got, c.want)
		}
	}
}
