// Package apikeys issues and verifies the API keys internal services fetch
// tokens with. A key reads brk_<lookup prefix>_<secret>: the prefix finds the
// row, the secret (256 random bits) is checked against its SHA-256, and only
// that hash is stored. Verified keys are cached per replica so the token
// endpoint's warm path never touches the database; revocations reach every
// replica through a poll every couple of seconds.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/brokerhq/broker/internal/store"
)

const (
	// Scheme starts every key, so secret scanners and people recognise one.
	Scheme = "brk_"
	// prefixChars of lowercase base32 (60 random bits) name the key in the
	// database and in the admin pages; they are not secret.
	prefixChars = 12
	secretBytes = 32
	secretChars = 43 // base64url without padding of 32 bytes
	keyLen      = len(Scheme) + prefixChars + 1 + secretChars
	// Scopes a key may have: token fetches only; the admin API too (a
	// tenant's admin key); or the admin API across tenants (an operator key,
	// which has no tenant and fetches no tokens).
	ScopeToken    = "token"
	ScopeAdmin    = "admin"
	ScopeOperator = "operator"
)

var prefixEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Generate returns a new key, its public prefix ("brk_" and 12 characters,
// what the database stores to find it) and the SHA-256 of its secret.
func Generate() (plaintext, prefix string, hash [32]byte) {
	var p [8]byte
	rand.Read(p[:])
	var secret [secretBytes]byte
	rand.Read(secret[:])
	prefix = Scheme + prefixEncoding.EncodeToString(p[:])[:prefixChars]
	plaintext = prefix + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	return plaintext, prefix, sha256.Sum256(secret[:])
}

// parse splits a key into its prefix and the SHA-256 of its secret. It does
// not allocate: it runs on every token request.
func parse(raw string) (prefix string, hash [32]byte, ok bool) {
	if len(raw) != keyLen || !strings.HasPrefix(raw, Scheme) || raw[len(Scheme)+prefixChars] != '_' {
		return "", hash, false
	}
	var secret [secretBytes + 2]byte
	n, err := base64.RawURLEncoding.Decode(secret[:], []byte(raw[len(Scheme)+prefixChars+1:]))
	if err != nil || n != secretBytes {
		return "", hash, false
	}
	return raw[:len(Scheme)+prefixChars], sha256.Sum256(secret[:secretBytes]), true
}

// NewKey is what creating a key needs.
type NewKey struct {
	TenantID   string
	Name       string
	ProjectIDs []string // nil or empty: every project of the tenant
	Admin      bool     // the admin API too, not only token fetches
	Operator   bool     // a platform operator's key: no tenant, the admin API across tenants
	CreatedBy  string   // user ID, "" for the CLI
	// Rate and Burst are the key's own rate limit; nil: the server's
	// default (BROKER_API_KEY_RATE, BROKER_API_KEY_BURST).
	Rate  *float64
	Burst *int
}

// MaxRate and MaxBurst bound a key's own limit (and the server's default):
// past a million a second the limit means nothing on one replica.
const (
	MaxRate  = 1_000_000
	MaxBurst = 1_000_000
)

// ErrLimit is a per-key rate or burst out of range.
var ErrLimit = errors.New("apikeys: rate must be more than 0 and at most 1000000 requests per second, burst from 1 to 1000000")

// DescribeLimit says a key's own limit in words, for the CLI and pages.
func DescribeLimit(rate *float64, burst *int) string {
	switch {
	case rate == nil && burst == nil:
		return "the server's default"
	case burst == nil:
		return strconv.FormatFloat(*rate, 'f', -1, 64) + "/s"
	case rate == nil:
		return "the server's default rate, burst " + strconv.Itoa(*burst)
	}
	return strconv.FormatFloat(*rate, 'f', -1, 64) + "/s, burst " + strconv.Itoa(*burst)
}

// CheckLimit validates a key's own rate limit; nil values mean the default.
func CheckLimit(rate *float64, burst *int) error {
	if rate != nil && !(*rate > 0 && *rate <= MaxRate) || burst != nil && (*burst < 1 || *burst > MaxBurst) {
		return ErrLimit
	}
	return nil
}

// Create stores a new key's hash and returns the key itself, which is shown
// once and never again.
func Create(ctx context.Context, st *store.Store, n NewKey) (plaintext string, k store.APIKey, err error) {
	name := strings.TrimSpace(n.Name)
	if name == "" || len(name) > 100 {
		return "", k, errors.New("apikeys: a key needs a name of 1-100 characters")
	}
	scope := ScopeToken
	switch {
	case n.Operator && (n.TenantID != "" || len(n.ProjectIDs) > 0):
		return "", k, errors.New("apikeys: an operator key belongs to no tenant or project")
	case n.Operator:
		scope = ScopeOperator
	case n.TenantID == "":
		return "", k, errors.New("apikeys: a key needs a tenant")
	case n.Admin:
		scope = ScopeAdmin
	}
	if err := CheckLimit(n.Rate, n.Burst); err != nil {
		return "", k, err
	}
	var projects []string
	if len(n.ProjectIDs) > 0 {
		projects = n.ProjectIDs
	}
	// A prefix collision (60 random bits) is all but impossible; try again if it happens.
	for range 3 {
		var prefix string
		var hash [32]byte
		plaintext, prefix, hash = Generate()
		k, err = st.CreateAPIKey(ctx, store.APIKey{TenantID: n.TenantID, Name: name, Prefix: prefix, SecretHash: hash[:],
			ProjectIDs: projects, Scope: scope, CreatedBy: n.CreatedBy, Rate: n.Rate, Burst: n.Burst})
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return "", k, fmt.Errorf("apikeys: create: %w", err)
	}
	return plaintext, k, nil
}
