package oauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Credential is how an app registration proves itself at the token
// endpoint: a client secret, or a certificate it signs a client assertion
// with. Every token request the broker makes (code exchange, refresh, client
// credentials) authenticates through one, so a certificate works wherever a
// secret did ("Microsoft identity platform application authentication
// certificate credentials", learn.microsoft.com/entra/identity-platform/certificate-credentials).
type Credential interface {
	// authenticate adds the client authentication parameters to a token
	// request's form. tokenURL is the assertion's audience.
	authenticate(form url.Values, clientID, tokenURL string, now time.Time) error
}

// ClientSecret is a client secret's Value.
type ClientSecret string

func (s ClientSecret) authenticate(form url.Values, _, _ string, _ time.Time) error {
	if s == "" {
		return errors.New("oauth: empty client secret")
	}
	form.Set("client_secret", string(s))
	return nil
}

// AssertionType is client_assertion_type for a signed JWT (RFC 7523).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid: Microsoft asks
// for a short exp, "at most 5-10 minutes after nbf".
const AssertionLifetime = 5 * time.Minute

// Certificate is a certificate credential: an RSA private key and the
// certificate uploaded to the app registration. It never leaves memory in
// plaintext except sealed by internal/secrets (Encode).
type Certificate struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	// PS256 signs with RSASSA-PSS as the current page recommends; false
	// signs RS256, which the platform also accepts.
	RS256 bool
}

// Thumbprint is the certificate's SHA-256 thumbprint, hex upper case, as
// the Azure portal lists it under Certificates & secrets.
func (c *Certificate) Thumbprint() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// SHA1Thumbprint is the legacy thumbprint the portal shows beside it.
func (c *Certificate) SHA1Thumbprint() string {
	sum := sha1.Sum(c.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// NotAfter is when the certificate expires: the credential's expiry.
func (c *Certificate) NotAfter() time.Time { return c.Cert.NotAfter }

// X5TS256 is the x5t#S256 header: base64url SHA-256 of the DER certificate.
func X5TS256(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Assertion signs a client assertion for clientID at tokenURL.
func (c *Certificate) Assertion(clientID, tokenURL string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("oauth: client assertion: %w", err)
	}
	// The documented claims: aud the token endpoint (a string, as the page
	// shows it), iss and sub the client ID, a unique jti, nbf and iat now,
	// exp shortly after.
	claims := jwt.MapClaims{"aud": tokenURL, "iss": clientID, "sub": clientID, "jti": guidOf(jti),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix()}
	var method jwt.SigningMethod = jwt.SigningMethodPS256
	if c.RS256 {
		method = jwt.SigningMethodRS256
	}
	t := jwt.NewWithClaims(method, claims)
	t.Header["x5t#S256"] = X5TS256(c.Cert.Raw)
	s, err := t.SignedString(c.Key)
	if err != nil {
		return "", fmt.Errorf("oauth: client assertion: %w", err)
	}
	return s, nil
}

func (c *Certificate) authenticate(form url.Values, clientID, tokenURL string, now time.Time) error {
	a, err := c.Assertion(clientID, tokenURL, now)
	if err != nil {
		return err
	}
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", a)
	return nil
}

// guidOf formats 16 random bytes as a GUID, the jti form the page shows.
func guidOf(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
