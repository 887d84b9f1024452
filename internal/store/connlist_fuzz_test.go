package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

// FuzzListCursor feeds the connections list arbitrary cursors, searches and
// sorts. Whatever comes in, the SQL text is the same as for a well-formed
// cursor (user input only ever travels as arguments), every placeholder has
// its argument, bad input is ErrInvalid or ErrNotFound (a 400, never a
// failing query and a 500), and a cursor that is accepted holds what the
// SQL casts it to (a UUID, and a timestamp for the date sorts).
func FuzzListCursor(f *testing.F) {
	mint := func(v, id string) string {
		raw, _ := json.Marshal(listCursor{V: v, ID: id})
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	const id = "7b0e7f0e-8a55-4e4b-9a34-0d4c2a8d1f00"
	f.Add(mint("2026-01-02T03:04:05.123456Z", id), "", "newest")
	f.Add(mint("o'brien", id), "'; DROP TABLE connections; --", "name")
	f.Add(mint("not a time", id), "", "oldest")
	f.Add(mint("", ""), "%_\\", "oldest")
	f.Add("not base64!", "a\x00b", "name_desc")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"id":2}`)), "", "bogus")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`null`)), "$1", "")
	f.Fuzz(func(t *testing.T, cursor, search, sort string) {
		q := ConnectionQuery{TenantID: "t", Search: search, Sort: sort, Cursor: cursor}
		sql, args, err := q.PageQuery()
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("bad input gave %v, want ErrInvalid or ErrNotFound", err)
			}
			if cursor == "" && validText(search, sort) {
				t.Fatalf("no cursor and valid text, yet %v", err)
			}
			return
		}
		if !validText(search, sort) {
			t.Fatalf("accepted text Postgres refuses: %q %q", search, sort)
		}
		key := sorts["newest"].key
		if s, ok := sorts[sort]; ok {
			key = s.key
		}
		ref := q
		ref.Search = map[bool]string{true: "", false: "x"}[strings.TrimSpace(search) == ""]
		if cursor != "" {
			ref.Cursor = mint("2026-01-02T03:04:05Z", id)
		}
		want, wantArgs, err := ref.PageQuery()
		if err != nil {
			t.Fatal(err)
		}
		if sql != want {
			t.Fatalf("input changed the SQL text:\n%s\nwant\n%s", sql, want)
		}
		if len(args) != len(wantArgs) || maxPlaceholder(sql) != len(args) {
			t.Fatalf("%d args for %d placeholders", len(args), maxPlaceholder(sql))
		}
		if cursor != "" {
			var cur listCursor
			raw, _ := base64.RawURLEncoding.DecodeString(cursor)
			_ = json.Unmarshal(raw, &cur)
			if args[len(args)-3] != cur.V || args[len(args)-2] != cur.ID {
				t.Fatalf("cursor args %v, want %q, %q", args[len(args)-3:len(args)-1], cur.V, cur.ID)
			}
			if uuid.Validate(cur.ID) != nil || !validText(cur.V) {
				t.Fatalf("accepted cursor %+v", cur)
			}
			if _, err := time.Parse(time.RFC3339Nano, cur.V); key == "c.created_at" && err != nil {
				t.Fatalf("accepted a date cursor whose value %q is no timestamp", cur.V)
			}
		}
	})
}

func maxPlaceholder(sql string) int {
	n := 0
	for _, m := range placeholderRE.FindAllStringSubmatch(sql, -1) {
		var v int
		for _, c := range m[1] {
			v = v*10 + int(c-'0')
		}
		n = max(n, v)
	}
	return n
}
