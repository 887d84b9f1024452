package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encoded is what json.Encoder writes for t: the contract appendTokenJSON keeps.
func encoded(t *testing.T, v *tokenResponse) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTokenJSONAsEncoderWrites(t *testing.T) {
	plain := tokenResponse{AccessToken: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2ln-_", TokenType: "Bearer",
		ExpiresAt: "2026-12-01T23:59:59Z", ExpiresIn: 3599, Scope: "https://graph.microsoft.com/Mail.ReadWrite offline_access",
		Connection: connectionRef{ID: "0a6f1c2e-9b7d-4c1e-8f00-5d2b3c4d5e6f", Name: "Sales inbox", Project: "Sales",
			AccountType: "common", AuthType: "authorization_code", Status: "active",
			Account:  account{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", User: "adele@contoso.example"},
			Metadata: map[string]string{}}}
	odd := plain
	odd.Connection.Name = "Ventes <équipe> & \"co\"\\\n\t\u2028\u2029\x00\x7f\xff"
	odd.Connection.Account.User = "🙂 user"
	odd.ExpiresIn = -12
	odd.Connection.EndUser = &endUserJSON{ID: "u-1", Email: "a<b>@example.com"}
	odd.Connection.Metadata = map[string]string{"z": "1", "a": "<2>", "m\n": "\xff"}
	empty := tokenResponse{}
	for name, v := range map[string]*tokenResponse{"plain": &plain, "odd": &odd, "empty": &empty} {
		if got, want := appendTokenJSON(nil, v), encoded(t, v); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func FuzzTokenJSON(f *testing.F) {
	f.Add("tok", "Sales", "a@b.example", "k", "v", "", int64(3599))
	f.Add("<&>", "\u2028", "\xff\xfe", "", "", "end", int64(-1))
	f.Fuzz(func(t *testing.T, access, name, user, mk, mv, endUser string, in int64) {
		v := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresAt: name, ExpiresIn: in, Scope: user,
			Connection: connectionRef{ID: access, Name: name, Project: user, Status: mv, Account: account{User: user, TenantID: mk},
				Metadata: map[string]string{}}}
		if mk != "" {
			v.Connection.Metadata[mk] = mv
		}
		if endUser != "" {
			v.Connection.EndUser = &endUserJSON{ID: endUser, DisplayName: name}
		}
		if got, want := appendTokenJSON(nil, &v), encoded(t, &v); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
