package web

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/gorilla/securecookie"
)

// keyRing is BROKER_SESSION_KEYS parsed: IDs and keys in ring order.
type keyRing struct {
	ids  []string
	keys [][]byte
}

// parseKeyRing reads BROKER_SESSION_KEYS, "id:base64,id:base64", the same
// format as the secrets ring; the first key signs new cookies and every key
// still opens old ones. A key is rotated as the encryption key is (README):
// added last everywhere, then made first, and the old one dropped after the
// absolute session timeout. Errors name the entry, never its bytes.
func parseKeyRing(s string) (keyRing, error) {
	var r keyRing
	s = strings.TrimSpace(s)
	if s == "" {
		return r, errors.New("web: BROKER_SESSION_KEYS is empty")
	}
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || id == "" {
			return r, fmt.Errorf("web: BROKER_SESSION_KEYS entry %d is not id:base64key", i+1)
		}
		if seen[id] {
			return r, fmt.Errorf("web: BROKER_SESSION_KEYS key id %q appears twice", id)
		}
		seen[id] = true
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(enc)
		}
		if err != nil || len(raw) != 32 {
			return r, fmt.Errorf("web: BROKER_SESSION_KEYS key %q must be 32 bytes of base64", id)
		}
		r.ids, r.keys = append(r.ids, id), append(r.keys, raw)
	}
	return r, nil
}

// codecs derives an HMAC and an AES key per ring key and purpose, so the
// session and flash cookies never share keys with each other or with
// anything else a ring key is used for.
func codecs(keys [][]byte, purpose string, ser securecookie.Serializer, maxAgeSeconds int) ([]securecookie.Codec, error) {
	var out []securecookie.Codec
	for _, k := range keys {
		hashKey, err := hkdf.Key(sha256.New, k, nil, "broker web cookie "+purpose+" hmac", 32)
		if err != nil {
			return nil, fmt.Errorf("web: derive cookie key: %w", err)
		}
		blockKey, err := hkdf.Key(sha256.New, k, nil, "broker web cookie "+purpose+" aes", 32)
		if err != nil {
			return nil, fmt.Errorf("web: derive cookie key: %w", err)
		}
		out = append(out, securecookie.New(hashKey, blockKey).SetSerializer(ser).MaxAge(maxAgeSeconds))
	}
	return out, nil
}
