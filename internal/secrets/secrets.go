// Package secrets seals values at rest with AES-256-GCM under a rotatable key
// ring. Every ciphertext names the key that sealed it and is bound, through the
// GCM associated data, to the place it is stored (table, column, row, tenant),
// so a ciphertext copied to another row, column or tenant fails to open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// formatV1 is the first byte of every ciphertext; a new layout gets a new byte
// so old rows stay readable while they are rotated.
const formatV1 = 1

const keySize = 32

var (
	// ErrOpen hides why a ciphertext failed to open (wrong key, tampered,
	// moved): callers and logs learn only that it did not.
	ErrOpen = errors.New("secrets: ciphertext does not open")
	// ErrUnknownKey means the ciphertext names a key the ring does not hold.
	ErrUnknownKey = errors.New("secrets: ciphertext sealed under a key not in the ring")
)

// Place binds a ciphertext to where it lives.
type Place struct {
	Table, Column, RowID, TenantID string
}

func (p Place) associatedData() []byte {
	// Length-prefixed so no two places share an encoding.
	var b strings.Builder
	for _, s := range []string{p.Table, p.Column, p.RowID, p.TenantID} {
		fmt.Fprintf(&b, "%d:%s|", len(s), s)
	}
	return []byte(b.String())
}

type key struct {
	id   string
	aead cipher.AEAD
}

// Ring holds the keys: the first seals, all of them open.
type Ring struct {
	keys []key
}

// ParseRing reads "id:base64key,id:base64key"; the first entry is primary.
func ParseRing(s string) (*Ring, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key ring")
	}
	r := &Ring{}
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("entry %d is not id:base64key", i+1)
		}
		if len(id) > 32 || strings.ContainsAny(id, " \t") {
			return nil, fmt.Errorf("entry %d: key id must be 1-32 characters without spaces", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("entry %d: key id %q appears twice", i+1, id)
		}
		seen[id] = true
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(enc)
		}
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): key is not base64", i+1, id)
		}
		if len(raw) != keySize {
			return nil, fmt.Errorf("entry %d (%s): key is %d bytes, want %d", i+1, id, len(raw), keySize)
		}
		block, err := aes.NewCipher(raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", i+1, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", i+1, id, err)
		}
		r.keys = append(r.keys, key{id: id, aead: aead})
	}
	return r, nil
}

// GenerateEntry returns a fresh ring entry, "k<date>:<base64 32 bytes>".
func GenerateEntry(now time.Time) string {
	raw := make([]byte, keySize)
	rand.Read(raw)
	return fmt.Sprintf("k%s:%s", now.UTC().Format("20060102150405"), base64.StdEncoding.EncodeToString(raw))
}

// PrimaryID names the key new ciphertexts are sealed under.
func (r *Ring) PrimaryID() string { return r.keys[0].id }

// Seal encrypts plaintext for place p under the primary key.
func (r *Ring) Seal(plaintext []byte, p Place) []byte {
	k := r.keys[0]
	out := make([]byte, 0, 2+len(k.id)+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	out = append(out, formatV1, byte(len(k.id)))
	out = append(out, k.id...)
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, p.associatedData())
}

// SealString is Seal for strings; an empty string seals to nil (no secret).
func (r *Ring) SealString(plaintext string, p Place) []byte {
	if plaintext == "" {
		return nil
	}
	return r.Seal([]byte(plaintext), p)
}

// Open decrypts a ciphertext sealed for place p under any key in the ring.
func (r *Ring) Open(ciphertext []byte, p Place) ([]byte, error) {
	id, body, err := split(ciphertext)
	if err != nil {
		return nil, err
	}
	for _, k := range r.keys {
		if k.id != id {
			continue
		}
		ns := k.aead.NonceSize()
		if len(body) < ns+k.aead.Overhead() {
			return nil, ErrOpen
		}
		pt, err := k.aead.Open(nil, body[:ns], body[ns:], p.associatedData())
		if err != nil {
			return nil, ErrOpen
		}
		return pt, nil
	}
	return nil, &UnknownKeyError{ID: id}
}

// UnknownKeyError names the key a ciphertext was sealed under that the ring
// does not hold (a key ID is not secret). It is ErrUnknownKey for errors.Is.
// During a rolling key change it means another replica already knows a key
// this one does not: retrying on an updated replica works.
type UnknownKeyError struct{ ID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("secrets: ciphertext sealed under key %q, which is not in the ring", e.ID)
}

func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// OpenString is Open for strings; a nil ciphertext opens to "".
func (r *Ring) OpenString(ciphertext []byte, p Place) (string, error) {
	if ciphertext == nil {
		return "", nil
	}
	pt, err := r.Open(ciphertext, p)
	return string(pt), err
}

// KeyID names the key a ciphertext was sealed under.
func KeyID(ciphertext []byte) (string, error) {
	id, _, err := split(ciphertext)
	return id, err
}

// NeedsRotation reports whether a ciphertext is under a key other than the primary.
func (r *Ring) NeedsRotation(ciphertext []byte) bool {
	if ciphertext == nil {
		return false
	}
	id, err := KeyID(ciphertext)
	return err != nil || id != r.PrimaryID()
}

func split(ct []byte) (id string, body []byte, err error) {
	if len(ct) < 2 || ct[0] != formatV1 {
		return "", nil, ErrOpen
	}
	n := int(ct[1])
	if n == 0 || len(ct) < 2+n {
		return "", nil, ErrOpen
	}
	return string(ct[2 : 2+n]), ct[2+n:], nil
}
