package app

import (
	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/sso"
	"github.com/brokerhq/broker/internal/ssoweb"
)

// ssoArea is "Sign in with Microsoft" for the broker's own pages: the
// broker's app registration with its SSO redirect URI (registered next to
// /oauth/callback), validated by the same id_token code as connections.
func (a *App) ssoArea(o Options) *ssoweb.Handler {
	cfg := o.Config
	p := &oauth.Microsoft{LoginBase: cfg.LoginBase(), GraphBase: cfg.GraphBase(), GraphResource: cfg.GraphResource(),
		ClientID: cfg.MicrosoftClientID, ClientSecret: cfg.MicrosoftClientSecret,
		RedirectURL: cfg.SSORedirectURL(), HTTPClient: o.HTTPClient, Now: o.Now}
	if cfg.MicrosoftCertificate != nil { // the same credential as every other flow (app.go)
		p.Credential = cfg.MicrosoftCertificate
	}
	svc := &sso.Service{Store: a.Store, Provider: p, Now: o.Now, Logger: o.Logger}
	return &ssoweb.Handler{Service: svc, RedirectURI: cfg.SSORedirectURL()}
}
