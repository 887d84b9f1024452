package connections_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/connections"
	"github.com/brokerhq/broker/internal/oauth"
)

// A Consumer connection does not ask for the .Shared permissions personal
// accounts can never grant; Common and Organization still do.
func TestConsumerDoesNotAskForShared(t *testing.T) {
	e := newEnv(t)
	a := e.Actor(e.Admin, "b")
	for at, wantShared := range map[connections.AccountType]bool{connections.AccountConsumers: false,
		connections.AccountCommon: true, connections.AccountOrganizations: true} {
		c, authURL := start(t, e, a, codeForm(e, "mailbox "+string(at), at, ""))
		u, _ := url.Parse(authURL)
		asked := strings.Fields(u.Query().Get("scope"))
		for _, list := range [][]string{c.RequestedScopes, asked} {
			if got := slices.Contains(list, "Mail.ReadWrite.Shared") || slices.Contains(list, "Calendars.ReadWrite.Shared"); got != wantShared {
				t.Fatalf("%s: .Shared asked = %v, want %v: %v", at, got, wantShared, list)
			}
			if !slices.Contains(list, "Mail.ReadWrite") || !slices.Contains(list, "offline_access") {
				t.Fatalf("%s: %v", at, list)
			}
		}
	}
}

// On Common, a personal account that was not granted .Shared is explained,
// not flagged: only a work account's refusal counts as missing.
func TestPersonalAccountWithoutSharedIsExpected(t *testing.T) {
	requested := []string{"Mail.Send", "Mail.ReadWrite", "Mail.ReadWrite.Shared", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared", "User.Read", "offline_access"}
	granted := []string{"Mail.Send", "Mail.ReadWrite", "Calendars.ReadWrite", "User.Read", "offline_access"}
	missing, personal := connections.MissingFor(requested, granted, oauth.ConsumersTenantID)
	if len(missing) != 0 || !slices.Equal(personal, []string{"Mail.ReadWrite.Shared", "Calendars.ReadWrite.Shared"}) {
		t.Fatalf("personal account: missing %v, personal %v", missing, personal)
	}
	if note := connections.PersonalNote(personal); !strings.Contains(note, "not available to personal Microsoft accounts") {
		t.Fatalf("note %q", note)
	}
	missing, personal = connections.MissingFor(requested, granted, "aaaaaaaa-0000-4000-8000-000000000001")
	if !slices.Equal(missing, []string{"Mail.ReadWrite.Shared", "Calendars.ReadWrite.Shared"}) || len(personal) != 0 {
		t.Fatalf("work account: missing %v, personal %v", missing, personal)
	}
	missing, _ = connections.MissingFor(requested, granted[1:], oauth.ConsumersTenantID)
	if !slices.Equal(missing, []string{"Mail.Send"}) {
		t.Fatalf("a personal account's other refusals still count: %v", missing)
	}
}
