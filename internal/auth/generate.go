package auth

import (
	"crypto/rand"
	"strings"
)

// passwordAlphabet leaves out look-alikes (0/O, 1/l/I) because a generated
// password is read off a terminal and typed by a person.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of four dash-separated groups of
// five characters: 20 characters from a 57-letter alphabet, about 116 bits.
func GeneratePassword() string {
	const groups, groupLen = 4, 5
	var b strings.Builder
	for g := range groups {
		if g > 0 {
			b.WriteByte('-')
		}
		for range groupLen {
			b.WriteByte(passwordAlphabet[uniform(len(passwordAlphabet))])
		}
	}
	return b.String()
}

// uniform returns a random int in [0, n) without modulo bias: bytes at or
// above the largest multiple of n are drawn again.
func uniform(n int) int {
	limit := 256 - 256%n
	var buf [1]byte
	for {
		rand.Read(buf[:])
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}
