package main

import (
	"context"
	"strings"

	"github.com/brokerhq/broker/internal/oauth/mssim"
)

func cmdSimulate(ctx context.Context, args []string, getenv env, s streams) error {
	fs := newFlags("simulate-microsoft", s)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	base := fs.String("public-url", "", "the simulation's URL as browsers and the broker see it (default: each request's host)")
	var redirects multiFlag
	fs.Var(&redirects, "redirect-uri", "redirect URI of the demo web app (repeatable; default http://localhost:8080/oauth/callback)")
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	return mssim.Serve(ctx, *addr, mssim.ServeConfig{BaseURL: strings.TrimRight(*base, "/"), RedirectURIs: redirects}, s.out)
}
