// Package auth checks who someone is: password hashes, generated passwords and
// the sign-in rate limiter. It knows nothing of HTTP or the database.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. They are written into every hash, so
// raising them later leaves existing hashes verifiable.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams follow OWASP's argon2id baseline (19 MiB, 2 passes) with two
// lanes; a hash takes about 15–30 ms on two cores, so a sign-in stays quick
// while an offline guess stays expensive.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}

// CheapParams are for tests only: they keep a hash well under a millisecond.
var CheapParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on what a stored hash may ask for, so a corrupted or planted row
// cannot make one verification eat gigabytes or minutes.
const (
	maxMemory   = 256 * 1024
	maxTime     = 16
	maxPassword = 1024 // bytes; longer input is refused rather than hashed
)

var (
	// ErrMalformedHash means a stored hash is not one this package wrote.
	ErrMalformedHash = errors.New("auth: malformed password hash")
	// ErrPasswordTooLong guards the hash function against huge inputs.
	ErrPasswordTooLong = errors.New("auth: password is too long")
)

var b64 = base64.RawStdEncoding

// Hash returns a PHC-style string: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (p Params) Hash(password string) (string, error) {
	if len(password) > maxPassword {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// HashPassword hashes with DefaultParams.
func HashPassword(password string) (string, error) { return DefaultParams.Hash(password) }

// VerifyPassword reports whether password matches the encoded hash. A
// mismatch is (false, nil); an error means the hash itself is unusable.
func VerifyPassword(encoded, password string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	// An over-long password is refused, but only after the same work as
	// any other: answering sooner would tell that the account exists.
	tooLong := len(password) > maxPassword
	if tooLong {
		password = password[:maxPassword]
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1 && !tooLong, nil
}

// StandIn returns a hash of a random password made with p. Checking a
// password against it costs what checking a real account's costs, through
// the same code, and never matches: sign-in uses it for unknown emails,
// unusable stored hashes and refused attempts, so every answer takes as
// long as a wrong password.
func (p Params) StandIn() string {
	h, err := p.Hash(rand.Text())
	if err != nil {
		panic("auth: stand-in hash: " + err.Error()) // rand.Text is 26 bytes: never too long
	}
	return h
}

// NeedsRehash tells whether encoded was made with weaker parameters than p.
func (p Params) NeedsRehash(encoded string) bool {
	got, _, _, err := decode(encoded)
	return err != nil || got.Memory < p.Memory || got.Time < p.Time
}

func decode(encoded string) (Params, []byte, []byte, error) {
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if p.Memory == 0 || p.Memory > maxMemory || p.Time == 0 || p.Time > maxTime || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
