package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

// FuzzListCursor feeds the connections list arbitrary cursors, searches and
// sorts. Whatever comes in, the SQL text is the same as for a well-formed
// cursor (user input only ever travels as arguments), every placeholder has
// its argument, a bad cursor is ErrNotFound (a 400, not a 500), and a cursor
// the list minted decodes to exactly what it encoded.
func FuzzListCursor(f *testing.F) {
	mint := func(v, id string) string {
		raw, _ := json.Marshal(listCursor{V: v, ID: id})
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	f.Add(mint("2026-01-02T03:04:05.123456Z", "7b0e7f0e-8a55-4e4b-9a34-0d4c2a8d1f00"), "", "newest")
	f.Add(mint("o'brien", "x"), "'; DROP TABLE connections; --", "name")
	f.Add(mint("", ""), "%_\\", "oldest")
	f.Add("not base64!", "a\x00b", "name_desc")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"id":2}`)), "", "bogus")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`null`)), "$1", "")
	f.Fuzz(func(t *testing.T, cursor, search, sort string) {
		q := ConnectionQuery{TenantID: "t", Search: search, Sort: sort, Cursor: cursor}
		sql, args, err := q.PageQuery()
		// A cursor that does not decode is ErrNotFound (no such page); text
		// that is not what its column holds is ErrInvalid (the caller's input).
		if err != nil {
			if errors.Is(err, ErrInvalid) || cursor != "" && errors.Is(err, ErrNotFound) {
				return
			}
			t.Fatalf("%q %q %q gave %v, want ErrNotFound or ErrInvalid", cursor, search, sort, err)
		}
		ref := q
		ref.Search = map[bool]string{true: "", false: "x"}[strings.TrimSpace(search) == ""]
		if cursor != "" {
			ref.Cursor = mint("2026-01-02T03:04:05Z", "7b0e7f0e-8a55-4e4b-9a34-0d4c2a8d1f00")
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
