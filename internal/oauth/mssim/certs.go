package mssim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// appCerts holds the certificates uploaded to app registrations (public
// parts only, as the portal keeps them) and the client assertions already
// spent, so that a replayed jti is refused until the assertion expires.
type appCerts struct {
	mu    sync.Mutex
	byApp map[string][]appCert // by lowercase client ID
	spent map[string]time.Time // client|jti → when it may be forgotten
}

// AddCertificate uploads a certificate (PEM or DER) to an app registration,
// as Certificates & secrets → Upload certificate does. Only RSA keys count.
func (s *Sim) AddCertificate(clientID string, certPEMorDER []byte) error {
	if s.dir.app(clientID) == nil {
		return fmt.Errorf("mssim: add certificate: unknown app %q", clientID)
	}
	der := certPEMorDER
	if b, _ := pem.Decode(certPEMorDER); b != nil {
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("mssim: add certificate: a %s block is not a certificate (upload the public .cer/.pem only)", b.Type)
		}
		der = b.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("mssim: add certificate: %w", err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("mssim: add certificate: not an RSA certificate")
	}
	s256, s1 := thumbprints(c.Raw)
	s.certs.mu.Lock()
	defer s.certs.mu.Unlock()
	if s.certs.byApp == nil {
		s.certs.byApp = map[string][]appCert{}
	}
	id := strings.ToLower(clientID)
	s.certs.byApp[id] = append(s.certs.byApp[id], appCert{s256: s256, s1: s1, pub: pub, notAfter: c.NotAfter, der: c.Raw})
	return nil
}

// ders are the app's certificates as DER, for the state file.
func (c *appCerts) ders(clientID string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, ac := range c.byApp[strings.ToLower(clientID)] {
		out = append(out, ac.der)
	}
	return out
}

// RemoveCertificates deletes every certificate of an app registration.
func (s *Sim) RemoveCertificates(clientID string) error {
	if s.dir.app(clientID) == nil {
		return fmt.Errorf("mssim: remove certificates: unknown app %q", clientID)
	}
	s.certs.mu.Lock()
	defer s.certs.mu.Unlock()
	delete(s.certs.byApp, strings.ToLower(clientID))
	return nil
}

// find is the app's certificate the assertion header names by x5t#S256 or,
// failing that, the legacy SHA-1 x5t.
func (c *appCerts) find(clientID string, header map[string]any) *appCert {
	s256, _ := header["x5t#S256"].(string)
	s1, _ := header["x5t"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ac := range c.byApp[strings.ToLower(clientID)] {
		if (s256 != "" && ac.s256 == s256) || (s256 == "" && s1 != "" && ac.s1 == s1) {
			found := ac
			return &found
		}
	}
	return nil
}

// spend records a jti as used and reports whether it was fresh. Entries
// are dropped once their assertion could no longer be accepted anyway.
func (c *appCerts) spend(key string, until, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spent == nil {
		c.spent = map[string]time.Time{}
	}
	if len(c.spent) > 4096 {
		for k, t := range c.spent {
			if now.After(t) {
				delete(c.spent, k)
			}
		}
	}
	if _, ok := c.spent[key]; ok {
		return false
	}
	c.spent[key] = until
	return true
}

// certRoutes adds the controls to the /_sim/ API:
//
//	POST   /_sim/apps/{clientId}/certificates   {"certificate":"-----BEGIN CERTIFICATE-----..."}
//	DELETE /_sim/apps/{clientId}/certificates   removes them all → AADSTS700027
func (s *Sim) certRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/apps/{clientId}/certificates", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct{ Certificate string }) (any, error) {
			if req.Certificate == "" {
				return nil, errors.New("certificate is required (PEM)")
			}
			return nil, s.AddCertificate(r.PathValue("clientId"), []byte(req.Certificate))
		})(w, r)
	})
	mux.HandleFunc("DELETE /_sim/apps/{clientId}/certificates", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.RemoveCertificates(r.PathValue("clientId")))
	})
}
