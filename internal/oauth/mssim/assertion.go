package mssim

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client assertions: an app authenticates with a JWT signed by the private
// key of a certificate uploaded to its registration, instead of a secret
// ("Microsoft identity platform application authentication certificate
// credentials", learn.microsoft.com/entra/identity-platform/certificate-credentials):
//
//	header  alg PS256 (RS256 in older versions of the page, still accepted),
//	        typ JWT, x5t#S256 = base64url SHA-256 of the DER certificate
//	        (x5t, base64url SHA-1, in the older version: still accepted)
//	claims  aud = https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token,
//	        iss = sub = the client ID, jti unique, nbf, exp, iat
//	request client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//
// The answers for a bad assertion are those the Azure SDK troubleshooting
// guides list for certificate and assertion credentials ("Troubleshoot
// service principal authentication", learn.microsoft.com/azure/developer/java/sdk/troubleshooting-authentication-service-principal)
// and the error code reference (learn.microsoft.com/entra/identity-platform/reference-error-codes):
//
//	AADSTS700027 Client assertion contains an invalid signature (unknown key or bad signature)
//	AADSTS700024 Client assertion is not within its valid time range (exp passed, nbf ahead)
//	AADSTS700023 Client assertion audience claim does not match Realm issuer
//	AADSTS700021 Client assertion application identifier doesn't match 'client_id' parameter
//	AADSTS50027  JWT token is invalid or malformed
//	AADSTS50013  InvalidAssertion: assertion is invalid (here: its jti was already used)
//
// All are HTTP 401 invalid_client, as the platform answers for every failed
// client authentication (RFC 6749 section 5.2).

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// appCert is a certificate uploaded to an app registration.
type appCert struct {
	s256, s1 string // base64url thumbprints
	pub      *rsa.PublicKey
	notAfter time.Time
	der      []byte // kept for the state file
}

// maxAssertionSkew is the clock skew the sim allows on nbf and exp: the
// platform allows five minutes.
const maxAssertionSkew = 5 * time.Minute

func assertionErr(code int, format string, args ...any) *aadError {
	return newErr(http.StatusUnauthorized, "invalid_client", code, format, args...)
}

// verifyAssertion authenticates ap by the client assertion in form, sent to
// the token endpoint at tokenURL.
func (s *Sim) verifyAssertion(ap *app, form url.Values, tokenURL string) *aadError {
	switch typ := form.Get("client_assertion_type"); {
	case typ == "":
		return errMissingParam("client_assertion_type")
	case typ != assertionType:
		return newErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. client_assertion_type must be '%s'.", assertionType)
	}
	if form.Get("client_secret") != "" {
		return newErr(http.StatusBadRequest, "invalid_request", 90023, "Multiple client credentials were presented: send either client_assertion or client_secret.")
	}
	raw := form.Get("client_assertion")
	var used *appCert
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		c := s.certs.find(ap.clientID, t.Header)
		if c == nil {
			return nil, errUnknownKey
		}
		used = c
		return c.pub, nil
	}, jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithoutClaimsValidation())
	switch {
	case errors.Is(err, errUnknownKey):
		return assertionErr(700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]",
			thumbprintHeader(raw), ap.clientID)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return assertionErr(700027, "Client assertion failed signature validation.")
	case err != nil || !tok.Valid:
		return newErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if !strings.EqualFold(iss, ap.clientID) || !strings.EqualFold(sub, ap.clientID) {
		return assertionErr(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
	}
	aud, _ := claims.GetAudience()
	if len(aud) != 1 || aud[0] != tokenURL {
		return assertionErr(700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
	}
	now := s.Now()
	exp, err1 := claims.GetExpirationTime()
	nbf, err2 := claims.GetNotBefore()
	if err1 != nil || err2 != nil || exp == nil {
		return newErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	from := now
	if nbf != nil {
		from = nbf.Time
	}
	if !now.Before(exp.Add(maxAssertionSkew)) || now.Add(maxAssertionSkew).Before(from) {
		return assertionErr(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.",
			dateTime(now), dateTime(from), dateTime(exp.Time))
	}
	if !used.notAfter.IsZero() && !now.Before(used.notAfter) {
		return assertionErr(700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s']", thumbprintHeader(raw))
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return newErr(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. The assertion has no jti.")
	}
	if !s.certs.spend(ap.clientID+"|"+jti, exp.Add(maxAssertionSkew), now) {
		return assertionErr(50013, "Assertion is invalid: the assertion with this jti was already used.")
	}
	return nil
}

var errUnknownKey = errors.New("no registered certificate matches the assertion")

// thumbprintHeader is the thumbprint the assertion names, for the message.
func thumbprintHeader(raw string) string {
	t, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		return ""
	}
	for _, h := range []string{"x5t#S256", "x5t"} {
		if v, ok := t.Header[h].(string); ok {
			return v
		}
	}
	return ""
}

func thumbprints(der []byte) (s256, s1 string) {
	a := sha256.Sum256(der)
	b := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(a[:]), base64.RawURLEncoding.EncodeToString(b[:])
}
