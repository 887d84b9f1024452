package auth_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/brokerhq/broker/internal/auth"
)

func TestHashVerify(t *testing.T) {
	h, err := auth.CheapParams.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(h) {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	if h2, _ := auth.CheapParams.Hash("correct horse"); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
		{strings.Repeat("x", 5000), false},
	} {
		ok, err := auth.VerifyPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("verify(%.20q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	good, _ := auth.CheapParams.Hash("pw")
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":  strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":    strings.Replace(good, "t=1", "t=0", 1),
		"bad salt":     strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":    strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra fields": good + "$x",
	} {
		if ok, err := auth.VerifyPassword(h, "pw"); ok || !errors.Is(err, auth.ErrMalformedHash) {
			t.Errorf("%s: verify = %v, %v; want ErrMalformedHash", name, ok, err)
		}
	}
}

func TestTamperedHashFails(t *testing.T) {
	h, _ := auth.CheapParams.Hash("pw")
	tampered := h[:len(h)-2] + map[bool]string{true: "AA", false: "BA"}[!strings.HasSuffix(h, "AA")]
	if ok, _ := auth.VerifyPassword(tampered, "pw"); ok {
		t.Fatal("a changed hash still verifies")
	}
}

// TestDefaultParamsCost pins the cost to OWASP's argon2id baseline and a
// ceiling, by the parameters rather than a wall-clock bound: a timed check
// fails on a busy machine without telling anything about the parameters.
func TestDefaultParamsCost(t *testing.T) {
	p := auth.DefaultParams
	if p.Memory < 19*1024 || p.Time < 2 {
		t.Errorf("DefaultParams %+v are below OWASP's argon2id baseline (19 MiB, 2 passes)", p)
	}
	if p.Memory > 64*1024 || p.Time > 4 || p.Threads > 4 {
		t.Errorf("DefaultParams %+v cost more than a sign-in should (at most 64 MiB, 4 passes, 4 lanes)", p)
	}
	h, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if auth.DefaultParams.NeedsRehash(h) || !auth.DefaultParams.NeedsRehash("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") {
		t.Error("NeedsRehash is wrong")
	}
}

// A password over the limit never matches, even when its first 1,024 bytes
// are the password, and it costs a whole check all the same.
func TestOverLongPasswordNeverMatches(t *testing.T) {
	pw := strings.Repeat("p", 1024)
	h, err := auth.CheapParams.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.VerifyPassword(h, pw); !ok || err != nil {
		t.Fatalf("the 1,024-byte password: %v %v", ok, err)
	}
	if ok, err := auth.VerifyPassword(h, pw+"extra"); ok || err != nil {
		t.Fatalf("1,029 bytes starting with the password: %v %v", ok, err)
	}
	if ok, _ := auth.VerifyPassword(auth.CheapParams.StandIn(), ""); ok {
		t.Fatal("the stand-in hash matched")
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw := auth.GeneratePassword()
		if !regexp.MustCompile(`^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$`).MatchString(pw) {
			t.Fatalf("generated %q has the wrong shape", pw)
		}
		if seen[pw] {
			t.Fatalf("generated %q twice", pw)
		}
		seen[pw] = true
	}
}
