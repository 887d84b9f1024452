package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustRing(t *testing.T, s string) *Ring {
	t.Helper()
	r, err := ParseRing(s)
	if err != nil {
		t.Fatalf("ParseRing: %v", err)
	}
	return r
}

var place = Place{Table: "connections", Column: "refresh_token", RowID: "row-1", TenantID: "tenant-a"}

func TestSealIsRandomisedAndOpens(t *testing.T) {
	r := mustRing(t, GenerateEntry(time.Now()))
	a := r.Seal([]byte("refresh-token-value"), place)
	b := r.Seal([]byte("refresh-token-value"), place)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal; nonce is not fresh")
	}
	if bytes.Contains(a, []byte("refresh-token-value")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	for _, ct := range [][]byte{a, b} {
		pt, err := r.Open(ct, place)
		if err != nil || string(pt) != "refresh-token-value" {
			t.Fatalf("Open = %q, %v", pt, err)
		}
	}
}

func TestEveryFlippedByteFailsToOpen(t *testing.T) {
	r := mustRing(t, GenerateEntry(time.Now()))
	ct := r.Seal([]byte("client-secret"), place)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := r.Open(bad, place); err == nil {
			t.Fatalf("flipping byte %d still opens", i)
		}
	}
	if _, err := r.Open(ct[:len(ct)-1], place); err == nil {
		t.Fatal("truncated ciphertext opens")
	}
}

func TestMovedCiphertextFailsToOpen(t *testing.T) {
	r := mustRing(t, GenerateEntry(time.Now()))
	ct := r.Seal([]byte("secret"), place)
	moves := map[string]Place{
		"other row":    {Table: place.Table, Column: place.Column, RowID: "row-2", TenantID: place.TenantID},
		"other column": {Table: place.Table, Column: "client_secret", RowID: place.RowID, TenantID: place.TenantID},
		"other table":  {Table: "oauth_flows", Column: place.Column, RowID: place.RowID, TenantID: place.TenantID},
		"other tenant": {Table: place.Table, Column: place.Column, RowID: place.RowID, TenantID: "tenant-b"},
		// Length prefixes stop boundary games between fields.
		"shifted fields": {Table: place.Table, Column: place.Column + "|", RowID: place.RowID[1:], TenantID: place.TenantID},
	}
	for name, p := range moves {
		if _, err := r.Open(ct, p); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open err = %v, want ErrOpen", name, err)
		}
	}
}

func TestOldKeyStillOpensAfterNewPrimary(t *testing.T) {
	k1 := "k1:" + strings.Repeat("A", 43) + "="
	k2 := "k2:" + strings.Repeat("B", 43) + "="
	old := mustRing(t, k1)
	ct := old.Seal([]byte("v"), place)
	if id, _ := KeyID(ct); id != "k1" {
		t.Fatalf("KeyID = %q", id)
	}
	rotated := mustRing(t, k2+","+k1)
	if !rotated.NeedsRotation(ct) {
		t.Fatal("k1 ciphertext does not need rotation under primary k2")
	}
	pt, err := rotated.Open(ct, place)
	if err != nil || string(pt) != "v" {
		t.Fatalf("Open after rotation = %q, %v", pt, err)
	}
	fresh := rotated.Seal([]byte("v"), place)
	if id, _ := KeyID(fresh); id != "k2" || rotated.NeedsRotation(fresh) {
		t.Fatalf("new seal under %q", id)
	}
	onlyK2 := mustRing(t, k2)
	if _, err := onlyK2.Open(ct, place); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Open without k1 err = %v, want ErrUnknownKey", err)
	}
}

func TestParseRingRejects(t *testing.T) {
	good := GenerateEntry(time.Now())
	cases := map[string]string{
		"empty":         "",
		"no colon":      "abc",
		"not base64":    "k1:!!!",
		"short key":     "k1:AAAA",
		"duplicate id":  "k1" + good[strings.Index(good, ":"):] + ",k1" + good[strings.Index(good, ":"):],
		"empty id":      good[strings.Index(good, ":"):],
		"trailing junk": good + ",",
	}
	for name, in := range cases {
		if _, err := ParseRing(in); err == nil {
			t.Errorf("%s: ParseRing(%q) succeeded", name, in)
		} else if strings.Contains(err.Error(), in[strings.Index(in, ":")+1:]) && len(in) > 10 {
			t.Errorf("%s: error %q echoes key material", name, err)
		}
	}
}
