package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// The broker's own app registration can prove itself with a certificate
// instead of a client secret, for every flow it runs (Microsoft recommends
// certificates; many organisations forbid secrets on app registrations):
//
//	BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE      PEM certificate (may hold the key too)
//	BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE  PEM private key (PKCS#8 or PKCS#1, unencrypted)
//	BROKER_MICROSOFT_CLIENT_PKCS12_FILE           or a .pfx/.p12 file with key and certificate,
//	BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD       and its password (or _PASSWORD_FILE)
//
// The certificate's own expiry replaces BROKER_MICROSOFT_CLIENT_SECRET_EXPIRES_AT.

// loadCertificate reads the broker's certificate credential, if one is
// configured, adding every problem to probs. An expired certificate is a
// problem: every flow would fail with AADSTS700027.
func loadCertificate(getenv Getenv, probs *Problems, now time.Time) *oauth.Certificate {
	certFile, keyFile := getenv("BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE"), getenv("BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE")
	p12File := getenv("BROKER_MICROSOFT_CLIENT_PKCS12_FILE")
	password, perr := readSecret(getenv, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD")
	if perr != nil {
		*probs = append(*probs, perr.Error())
	}
	var (
		c   *oauth.Certificate
		err error
	)
	switch {
	case p12File != "" && (certFile != "" || keyFile != ""):
		*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_PKCS12_FILE and BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE are both set; set one")
		return nil
	case p12File != "":
		var b []byte
		if b, err = os.ReadFile(p12File); err != nil {
			*probs = append(*probs, fmt.Sprintf("BROKER_MICROSOFT_CLIENT_PKCS12_FILE: cannot read %s: %v", p12File, errors.Unwrap(err)))
			return nil
		}
		if c, err = oauth.ParsePKCS12(b, password); err != nil {
			*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_PKCS12_FILE: "+err.Error()+" (BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD)")
			return nil
		}
	case certFile != "":
		if password != "" {
			*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD is set without BROKER_MICROSOFT_CLIENT_PKCS12_FILE")
		}
		cb, err1 := os.ReadFile(certFile)
		if err1 != nil {
			*probs = append(*probs, fmt.Sprintf("BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE: cannot read %s: %v", certFile, errors.Unwrap(err1)))
		}
		var kb []byte
		if keyFile != "" {
			var err2 error
			if kb, err2 = os.ReadFile(keyFile); err2 != nil {
				*probs = append(*probs, fmt.Sprintf("BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE: cannot read %s: %v", keyFile, errors.Unwrap(err2)))
				return nil
			}
		}
		if err1 != nil {
			return nil
		}
		if c, err = oauth.ParsePEM(kb, cb); err != nil {
			*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE / _KEY_FILE: "+err.Error())
			return nil
		}
	case keyFile != "":
		*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE is set without BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE")
		return nil
	case password != "":
		*probs = append(*probs, "BROKER_MICROSOFT_CLIENT_PKCS12_PASSWORD is set without BROKER_MICROSOFT_CLIENT_PKCS12_FILE")
		return nil
	default:
		return nil
	}
	if !now.Before(c.NotAfter()) {
		*probs = append(*probs, fmt.Sprintf("the broker's certificate (thumbprint %s) expired on %s: upload a new one to the app registration and configure it",
			c.Thumbprint(), c.NotAfter().UTC().Format("2006-01-02")))
	}
	return c
}

// certConfigured reports whether a certificate was asked for, even one that
// failed to load (its own problem is reported; "secret missing" would mislead).
func certConfigured(getenv Getenv) bool {
	return getenv("BROKER_MICROSOFT_CLIENT_CERTIFICATE_FILE") != "" || getenv("BROKER_MICROSOFT_CLIENT_PKCS12_FILE") != "" ||
		getenv("BROKER_MICROSOFT_CLIENT_CERTIFICATE_KEY_FILE") != ""
}
