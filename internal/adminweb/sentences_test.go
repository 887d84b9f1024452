package adminweb

import (
	"testing"

	"github.com/brokerhq/broker/internal/store"
)

// TestConnectSessionAuditReadsAsASentence: a connect link's audit row says
// whom it is for and where it returns, not a dump of its IDs.
func TestConnectSessionAuditReadsAsASentence(t *testing.T) {
	e := store.FeedEntry{Details: map[string]any{"connect_session_id": "cs-1", "end_user_id": "u-42",
		"project_id": "p-1", "return_origin": "https://app.example", "reconnect_connection_id": ""}}
	got := sentence(e)
	if want := "For end user u-42, returning to https://app.example."; got != want {
		t.Fatalf("sentence = %q, want %q", got, want)
	}
}
