// Package webhooks delivers the broker's events to the endpoints tenants
// and operators register: signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com), retried with back-off for about three
// days, claimed through Postgres so each attempt happens once across
// replicas, and dialled only to addresses the SSRF guard admits.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as the specification's
// libraries expect; the rest is the key, base64.
const SecretPrefix = "whsec_"

// NewSecret makes a signing secret: 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey is the HMAC key of a secret: the base64 after the prefix.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhooks: signing secret is not whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header: one "v1,<base64 HMAC-SHA256
// of id.timestamp.body>" per secret, space-separated, so during a
// rotation's overlap receivers holding either secret verify it.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		mac.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, " "), nil
}
