package sso

import (
	"testing"

	"github.com/brokerhq/broker/internal/store"
)

func TestMatch(t *testing.T) {
	const g = "9a8b7c6d-0000-4000-8000-00000000a11a"
	rules := []store.SSORule{
		{ID: "group", Claim: store.SSOClaimGroup, Value: g},
		{ID: "role", Claim: store.SSOClaimRole, Value: "Broker.Admin"},
	}
	for _, c := range []struct {
		name          string
		groups, roles []string
		want          []string
	}{
		{"none", nil, nil, nil},
		{"group, any case", []string{"9A8B7C6D-0000-4000-8000-00000000A11A"}, nil, []string{"group"}},
		{"role, exact", nil, []string{"Broker.Admin"}, []string{"role"}},
		{"role values are case-sensitive", nil, []string{"broker.admin"}, nil},
		{"a role value is not a group", []string{"Broker.Admin"}, []string{g}, nil},
		{"both", []string{g}, []string{"Broker.Admin"}, []string{"group", "role"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, r := range Match(rules, c.groups, c.roles) {
				got = append(got, r.ID)
			}
			if len(got) != len(c.want) {
				t.Fatalf("matched %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("matched %v, want %v", got, c.want)
				}
			}
		})
	}
}
