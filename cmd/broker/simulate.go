package main

import (
	"context"
	"strings"

	"github.com/brokerhq/broker/internal/oauth/mssim"
)

func cmdSimulate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("simulate-microsoft", s)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address of the login host (Graph and /_sim/ too)")
	base := fs.String("public-url", "", "the login host's URL as browsers and the broker see it (default: each request's host)")
	msaAddr := fs.String("msa-addr", "127.0.0.1:8082", "listen address of the Microsoft account host (login.live.com's part); empty: served by the login host")
	msaURL := fs.String("msa-url", "", "the Microsoft account host's URL as browsers see it (default: http:// and -msa-addr)")
	idpAddr := fs.String("idp-addr", "127.0.0.1:8083", "listen address of the federated tenant's identity provider (AD FS); empty: served by the login host")
	idpURL := fs.String("idp-url", "", "the identity provider's URL as browsers see it (default: http:// and -idp-addr)")
	state := fs.String("state", "", "state file: loaded at start if it exists, saved while running and at stop, so a restart keeps every grant and token")
	cloud := fs.String("cloud", "global", "the national cloud to play: global, usgov, usgov-dod or china (decides Graph's resource in scopes)")
	inactive := fs.Duration("refresh-inactive", 0, "refresh tokens die after this long unused (default 90 days, as on the platform)")
	var redirects multiFlag
	fs.Var(&redirects, "redirect-uri", "redirect URI of the demo web app (repeatable; default http://localhost:8080/oauth/callback)")
	if err := parseFlags(fs, args, s); err != nil {
		return err
	}
	return mssim.Serve(ctx, *addr, mssim.ServeConfig{BaseURL: strings.TrimRight(*base, "/"),
		MSAAddr: *msaAddr, MSAURL: *msaURL, IdPAddr: *idpAddr, IdPURL: *idpURL,
		StatePath: *state, Cloud: *cloud, RefreshInactive: *inactive, RedirectURIs: redirects}, s.out)
}
