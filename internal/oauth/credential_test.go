package oauth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/oauth/certtest"
)

// The client assertion has the documented shape: PS256, typ JWT,
// x5t#S256 of the DER certificate; aud the token endpoint, iss = sub = the
// client ID, a fresh jti each time, nbf = iat = now, exp five minutes on.
func TestAssertionShape(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := certtest.New(t, 0, "app", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	const aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
	seen := map[string]bool{}
	for range 3 {
		raw, err := c.Assertion("11112222-bbbb-3333-cccc-4444dddd5555", aud, now)
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &c.Key.PublicKey, nil },
			jwt.WithValidMethods([]string{"PS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Header["typ"] != "JWT" || tok.Header["x5t#S256"] != oauth.X5TS256(c.Cert.Raw) {
			t.Fatalf("header %v", tok.Header)
		}
		jti, _ := claims["jti"].(string)
		if claims["aud"] != aud || claims["iss"] != "11112222-bbbb-3333-cccc-4444dddd5555" || claims["sub"] != claims["iss"] ||
			claims["nbf"] != float64(now.Unix()) || claims["iat"] != claims["nbf"] || claims["exp"] != float64(now.Add(5*time.Minute).Unix()) ||
			len(jti) != 36 || seen[jti] {
			t.Fatalf("claims %v", claims)
		}
		seen[jti] = true
	}
}

// A certificate credential survives its stored form; a secret stays a secret.
func TestStoredCredential(t *testing.T) {
	now := time.Now()
	c := certtest.New(t, 0, "app", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	stored := c.Encode()
	if !oauth.IsStoredCertificate(stored) {
		t.Fatal("not recognised as a certificate")
	}
	back, err := oauth.StoredCredential(stored)
	if cert, ok := back.(*oauth.Certificate); err != nil || !ok || cert.Thumbprint() != c.Thumbprint() || !cert.Key.Equal(c.Key) {
		t.Fatalf("round trip: %v", err)
	}
	if sec, err := oauth.StoredCredential("s3cret~value"); err != nil || sec != oauth.ClientSecret("s3cret~value") {
		t.Fatalf("secret: %v %v", sec, err)
	}
	if _, err := oauth.StoredCredential(""); err == nil {
		t.Fatal("an empty credential was accepted")
	}
	if len(c.Thumbprint()) != 64 || strings.ToUpper(c.Thumbprint()) != c.Thumbprint() {
		t.Fatalf("thumbprint %q", c.Thumbprint())
	}
	if p12, err := oauth.ParsePKCS12(certtest.PKCS12(t, c, "pw"), "pw"); err != nil || p12.Thumbprint() != c.Thumbprint() {
		t.Fatalf("PKCS#12: %v", err)
	}
	if _, err := oauth.ParsePKCS12(certtest.PKCS12(t, c, "pw"), "nope"); err != oauth.ErrPKCS12Password {
		t.Fatalf("wrong password: %v", err)
	}
}
