package oauth

import (
	"slices"
	"testing"
)

func TestGrantedScopes(t *testing.T) {
	req := []string{"Mail.Send", "Mail.ReadWrite", "User.Read", "offline_access"}
	cases := []struct {
		name      string
		requested []string
		answer    []string
		refresh   bool
		want      []string
	}{
		{"fully qualified, any case, OpenID dropped", req,
			[]string{"openid", "https://graph.microsoft.com/user.read", "https://graph.microsoft.com/Mail.Send", "profile", "offline_access"},
			true, []string{"Mail.Send", "User.Read", "offline_access"}},
		{"no scope in the answer: as requested", req, nil, true, req},
		{"no refresh token: no offline_access", req, []string{"User.Read", "offline_access"}, false, []string{"User.Read"}},
		{"beyond the request kept, after it", req, []string{"User.Read", "https://graph.microsoft.com/Calendars.Read"}, true,
			[]string{"User.Read", "offline_access", "Calendars.Read"}},
		{"client credentials .default kept whole", []string{GraphDefaultScope}, []string{GraphDefaultScope}, false,
			[]string{GraphDefaultScope}},
		{"application ID prefix", req, []string{"00000003-0000-0000-c000-000000000000/Mail.ReadWrite"}, false, []string{"Mail.ReadWrite"}},
	}
	for _, c := range cases {
		if got := GrantedScopes(c.requested, c.answer, c.refresh); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
