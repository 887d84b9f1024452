package mssim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The broker's own app registration can fail for every connection at once:
// its client secret expires (secrets live at most 24 months) or is replaced,
// or an administrator disables the app. The platform then refuses every
// request that authenticates as the app, whatever the user or grant
// (Microsoft Entra authentication and authorization error codes,
// learn.microsoft.com/entra/identity-platform/reference-error-codes):
//
//	AADSTS7000222 InvalidClientSecretExpiredKeysProvided  HTTP 401 invalid_client
//	AADSTS7000215 InvalidClientSecretProvided             HTTP 401 invalid_client
//	AADSTS7000112 UnauthorizedClientApplicationDisabled   HTTP 400 unauthorized_client
//
// The first two come from the secret check in authenticateClient; this file
// adds the controls that put the app in those states, and the disabled one.

// appStates holds what the control API changed about app registrations
// beyond their secrets.
type appStates struct {
	mu       sync.RWMutex
	disabled map[string]bool // by lowercase client ID
}

// SetAppDisabled disables (or enables again) an app registration: while
// disabled, every token request authenticating as it gets AADSTS7000112.
func (s *Sim) SetAppDisabled(clientID string, disabled bool) error {
	if s.dir.app(clientID) == nil {
		return fmt.Errorf("mssim: disable app: unknown app %q", clientID)
	}
	s.appStates.mu.Lock()
	defer s.appStates.mu.Unlock()
	if s.appStates.disabled == nil {
		s.appStates.disabled = map[string]bool{}
	}
	s.appStates.disabled[strings.ToLower(clientID)] = disabled
	return nil
}

// SetAppSecretsExpiry sets the expiry of every client secret of an app: a
// time not after the sim's now makes them expired (AADSTS7000222), a later
// one makes the same secrets valid again, as an operator's fix would.
func (s *Sim) SetAppSecretsExpiry(clientID string, expires time.Time) error {
	a := s.dir.app(clientID)
	if a == nil {
		return fmt.Errorf("mssim: secrets expiry: unknown app %q", clientID)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	secs := append([]secret(nil), *a.secrets.Load()...)
	for i := range secs {
		secs[i].expires = expires
	}
	a.secrets.Store(&secs)
	return nil
}

// ExpireAppSecrets makes every client secret of an app expire now.
func (s *Sim) ExpireAppSecrets(clientID string) error {
	return s.SetAppSecretsExpiry(clientID, s.Now())
}

// appDisabledError is AADSTS7000112 for a disabled app, else nil.
func (s *Sim) appDisabledError(ap *app) *aadError {
	s.appStates.mu.RLock()
	off := s.appStates.disabled[strings.ToLower(ap.clientID)]
	s.appStates.mu.RUnlock()
	if !off {
		return nil
	}
	return newErr(http.StatusBadRequest, "unauthorized_client", 7000112,
		"Application '%s'(%s) is disabled.", ap.clientID, ap.name)
}

// appStateRoutes adds the controls to the /_sim/ API:
//
//	POST /_sim/apps/{clientId}/secrets/expire   every secret expires now → AADSTS7000222
//	PUT  /_sim/apps/{clientId}/secrets/expiry   {"expires":"2028-01-01T00:00:00Z"} (renews them)
//	POST /_sim/apps/{clientId}/disable          → AADSTS7000112
//	POST /_sim/apps/{clientId}/enable
func (s *Sim) appStateRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/apps/{clientId}/secrets/expire", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.ExpireAppSecrets(r.PathValue("clientId")))
	})
	mux.HandleFunc("PUT /_sim/apps/{clientId}/secrets/expiry", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct{ Expires time.Time }) (any, error) {
			if req.Expires.IsZero() {
				return nil, fmt.Errorf("expires is required (RFC 3339)")
			}
			return nil, s.SetAppSecretsExpiry(r.PathValue("clientId"), req.Expires)
		})(w, r)
	})
	for path, off := range map[string]bool{"disable": true, "enable": false} {
		mux.HandleFunc("POST /_sim/apps/{clientId}/"+path, func(w http.ResponseWriter, r *http.Request) {
			adminResult(w, nil, s.SetAppDisabled(r.PathValue("clientId"), off))
		})
	}
}
