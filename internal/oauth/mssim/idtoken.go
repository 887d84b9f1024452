package mssim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signer holds the id_token signing key and its published form.
type signer struct {
	key  *rsa.PrivateKey
	kid  string // the certificate's x5t, as Entra's kids are
	cert []byte // self-signed DER certificate, published as x5c
}

var (
	sharedKeyOnce sync.Once
	sharedKey     *rsa.PrivateKey
)

// newSigner uses key, or the process-wide key: RSA generation takes long
// enough (seconds under -race) that every test making its own would hurt.
func newSigner(key *rsa.PrivateKey) *signer {
	if key == nil {
		sharedKeyOnce.Do(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic("mssim: generating signing key: " + err.Error())
			}
			sharedKey = k
		})
		key = sharedKey
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2049, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("mssim: self-signing certificate: " + err.Error())
	}
	sum := sha1.Sum(der)
	return &signer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:]), cert: der}
}

// jwk is one key of the JWKS document, in Entra's shape.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer"`
}

func (k *signer) jwks(issuer string) map[string][]jwk {
	pub := k.key.PublicKey
	return map[string][]jwk{"keys": {{
		Kty: "RSA", Use: "sig", Kid: k.kid, X5t: k.kid,
		N:      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c:    []string{base64.StdEncoding.EncodeToString(k.cert)},
		Issuer: issuer,
	}}}
}

// idToken signs a v2.0 id_token for g. Like Entra, name and
// preferred_username need the profile scope and email the email scope; sub is
// pairwise (different per app for the same user).
func (k *signer) idToken(base string, g *grant, scopes scopeSet, nonce string, now time.Time, life time.Duration, extra map[string]any) (string, error) {
	u := g.user
	claims := jwt.MapClaims{
		"aud": g.app.clientID,
		"iss": base + "/" + u.tenant.id + "/v2.0",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(life).Unix(),
		"oid": u.ObjectID,
		"sub": pairwiseSub(u.ObjectID, g.app.clientID),
		"tid": u.tenant.id,
		"uti": newToken("", 16),
		"ver": "2.0",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for k, v := range extra { // auth_time, groups, roles (ssoclaims.go)
		claims[k] = v
	}
	if scopes.has(scopeProfile) {
		claims["name"] = u.DisplayName
		claims["preferred_username"] = u.UPN
	}
	if scopes.has(scopeEmail) && u.Mail != "" {
		claims["email"] = u.Mail
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	signed, err := tok.SignedString(k.key)
	if err != nil {
		return "", fmt.Errorf("mssim: sign id_token: %w", err)
	}
	return signed, nil
}

func pairwiseSub(oid, clientID string) string {
	sum := sha256.Sum256([]byte(oid + "|" + clientID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}
