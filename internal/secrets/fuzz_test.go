package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// fuzzRing is a fixed two-key ring: "new" seals, "old" still opens.
func fuzzRing(t testing.TB) *Ring {
	t.Helper()
	r, err := ParseRing("new:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, keySize)) +
		",old:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, keySize)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// FuzzOpen feeds arbitrary bytes to the ciphertext parser: it never panics,
// fails only with its two sentinels, and a ciphertext that opens was sealed
// here (a forged one never opens).
func FuzzOpen(f *testing.F) {
	r := fuzzRing(f)
	p := Place{Table: "connections", Column: "refresh_token_enc", RowID: "row", TenantID: "tenant"}
	good := r.Seal([]byte("refresh-token"), p)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{formatV1})
	f.Add([]byte{formatV1, 0})
	f.Add([]byte{formatV1, 3, 'n', 'e', 'w'})
	f.Add([]byte{formatV1, 255, 'n'})
	f.Add([]byte{2, 3, 'n', 'e', 'w', 1, 2, 3})
	f.Add(append([]byte{formatV1, 3, 'o', 'l', 'd'}, good[5:]...))
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := r.Open(ct, p)
		switch {
		case err == nil:
			// Seal draws a fresh nonce, so each fuzz worker holds its own
			// good ciphertext: what opens must be this value, at this length.
			if len(ct) != len(good) || string(pt) != "refresh-token" {
				t.Fatalf("a ciphertext not sealed here opened: %x -> %q", ct, pt)
			}
		case !errors.Is(err, ErrOpen) && !errors.Is(err, ErrUnknownKey):
			t.Fatalf("Open failed with %v, want ErrOpen or ErrUnknownKey", err)
		}
		id, err := KeyID(ct)
		if err == nil && (id == "" || !bytes.Contains(ct, []byte(id))) {
			t.Fatalf("KeyID %q is not in the ciphertext", id)
		}
		_ = r.NeedsRotation(ct)
	})
}

// FuzzSealOpen: whatever the plaintext and place, a sealed value opens to
// itself at its place, and nowhere else.
func FuzzSealOpen(f *testing.F) {
	r := fuzzRing(f)
	f.Add([]byte("secret"), "connections", "client_secret_enc", "r1", "t1", "t2")
	f.Add([]byte{}, "", "", "", "", "x")
	f.Add([]byte("x"), "a|b", "c", "1:", "2", "3")
	f.Fuzz(func(t *testing.T, pt []byte, table, column, row, tenant, other string) {
		p := Place{Table: table, Column: column, RowID: row, TenantID: tenant}
		ct := r.Seal(pt, p)
		if bytes.Contains(ct, pt) && len(pt) > 8 {
			t.Fatalf("the plaintext appears in its ciphertext")
		}
		got, err := r.Open(ct, p)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, pt)
		}
		if other == tenant {
			return
		}
		if _, err := r.Open(ct, Place{Table: table, Column: column, RowID: row, TenantID: other}); !errors.Is(err, ErrOpen) {
			t.Fatalf("opened at another tenant: %v", err)
		}
	})
}

// FuzzParseRing: any BROKER_ENCRYPTION_KEYS value parses or fails with a
// message that never repeats a key, and a ring that parses seals and opens.
func FuzzParseRing(f *testing.F) {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, keySize))
	for _, s := range []string{"k1:" + k, "k2:" + k + ",k1:" + k, "k1:" + k + ",k1:" + k, "", " , ", ":", "k1:",
		"k1:" + k[:20], "k 1:" + k, strings.Repeat("x", 40) + ":" + k, "k1:" + strings.TrimRight(k, "="), "k1:!!!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRing(s)
		if err != nil {
			for _, entry := range strings.Split(s, ",") {
				id, key, _ := strings.Cut(strings.TrimSpace(entry), ":")
				if len(key) >= 8 && !strings.Contains(id, key) && strings.Contains(err.Error(), key) {
					t.Fatalf("error %q repeats key material", err)
				}
			}
			return
		}
		if r.PrimaryID() == "" {
			t.Fatal("a parsed ring has no primary key")
		}
		p := Place{Table: "t", Column: "c", RowID: "r", TenantID: "x"}
		if got, err := r.OpenString(r.SealString("v", p), p); err != nil || got != "v" {
			t.Fatalf("parsed ring does not round-trip: %q, %v", got, err)
		}
	})
}
