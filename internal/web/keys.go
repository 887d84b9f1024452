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

// parseKeyRing reads BROKER_SESSION_KEYS, "id:base64,id:base64", the same
// format as the secrets ring; the first key signs new cookies and every key
// still opens old ones, so a key is rotated by putting a new one first and
// dropping the old one after the absolute session timeout. Errors name the
// entry, never its bytes.
func parseKeyRing(s string) ([][]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("web: BROKER_SESSION_KEYS is empty")
	}
	var keys [][]byte
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("web: BROKER_SESSION_KEYS entry %d is not id:base64key", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("web: BROKER_SESSION_KEYS key id %q appears twice", id)
		}
		seen[id] = true
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(enc)
		}
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("web: BROKER_SESSION_KEYS key %q must be 32 bytes of base64", id)
		}
		keys = append(keys, raw)
	}
	return keys, nil
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
