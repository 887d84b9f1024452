package store

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres's data exceptions (class 22: bad timestamps, NUL bytes, values
// out of range) are the caller's input, ErrInvalid; an invalid UUID stays
// "no such row".
func TestMapErrDataExceptions(t *testing.T) {
	for code, want := range map[string]error{"22007": ErrInvalid, "22021": ErrInvalid, "22003": ErrInvalid,
		"22P02": ErrNotFound, "23505": ErrConflict} {
		if err := mapErr("op", &pgconn.PgError{Code: code}); !errors.Is(err, want) {
			t.Errorf("SQLSTATE %s: %v, want %v", code, err, want)
		}
	}
}

// Cursors are checked against what their SQL casts them to before any query.
func TestCursorsAreCheckedBeforeSQL(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	id := "0b5e1c9e-58a4-4b53-9a4b-0f0a3c1d2e3f"
	for _, c := range []struct {
		cursor, key string
		ok          bool
	}{
		{enc(`{"v":"2026-03-04T09:00:00.123456Z","id":"` + id + `"}`), "c.created_at", true},
		{enc(`{"v":"2026-13-45T99:99:99Z","id":"` + id + `"}`), "c.created_at", false},
		{enc(`{"v":"inbox","id":"` + id + `"}`), "lower(c.name)", true},
		{enc(`{"v":"in\u0000box","id":"` + id + `"}`), "lower(c.name)", false},
		{enc(`{"v":"inbox","id":"nope"}`), "lower(c.name)", false},
		{"%%%", "c.created_at", false},
	} {
		if _, ok := decodeListCursor(c.cursor, c.key); ok != c.ok {
			t.Errorf("list cursor %s (%s): %v, want %v", c.cursor, c.key, ok, c.ok)
		}
	}
	for cursor, ok := range map[string]bool{
		enc(`{"at":"2026-03-04T09:00:00Z","s":3,"k":"00000000000000000042"}`):  true,
		enc(`{"at":"2026-03-04T09:00:00Z","s":1,"k":"` + id + `/` + id + `"}`): true,
		enc(`{"at":"2026-03-04T09:00:00Z","s":1,"k":"x/y"}`):                   false,
		enc(`{"at":"2026-03-04T09:00:00Z","s":2,"k":"abc"}`):                   false,
		enc(`{"at":"2026-03-04T09:00:00Z","s":9,"k":"1"}`):                     false,
		enc(`{"at":"yesterday","s":3,"k":"1"}`):                                false,
	} {
		if _, got := decodeFeedCursor(cursor); got != ok {
			t.Errorf("feed cursor %s: %v, want %v", cursor, got, ok)
		}
	}
}
