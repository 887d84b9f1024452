package mssim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// ServeConfig configures Serve, the sim as a process for the demo and
// manual testing (wired as `broker simulate-microsoft`).
type ServeConfig struct {
	// BaseURL is the public URL of the sim. Empty: issuers and discovery
	// use the host each request arrived on, and the banner shows the listen
	// address.
	BaseURL string
	// RedirectURIs, ClientID and ClientSecret configure the demo web app so
	// the demo broker can be configured to match. Defaults: DemoRedirectURI,
	// DemoWebClientID, DemoWebClientSecret.
	RedirectURIs []string
	ClientID     string
	ClientSecret string
	// ShutdownTimeout bounds the graceful stop; default 5 seconds.
	ShutdownTimeout time.Duration
}

// Serve listens on addr, seeds the demo directory, prints it to out and
// serves the login endpoints at the root, Graph under /v1.0 and the control
// API under /_sim until ctx is cancelled; then it stops accepting, drains
// and returns nil.
func Serve(ctx context.Context, addr string, cfg ServeConfig, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mssim: listen: %w", err)
	}
	sim := New(Options{BaseURL: cfg.BaseURL})
	demo := SeedDemo(sim, DemoConfig{RedirectURIs: cfg.RedirectURIs, WebClientID: cfg.ClientID, WebSecret: cfg.ClientSecret})
	base := cfg.BaseURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	printBanner(out, strings.TrimSuffix(base, "/"), demo)

	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("mssim: serve: %w", err)
	case <-ctx.Done():
	}
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("mssim: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("mssim: serve: %w", err)
	}
	return nil
}

func printBanner(out io.Writer, base string, d Demo) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("Simulated Microsoft identity platform and Graph (mssim)")
	p("  authority host\t%s\t(e.g. %s/common/oauth2/v2.0/authorize)", base, base)
	p("  Graph base\t%s/v1.0", base)
	p("  control API\t%s/_sim/", base)
	p("")
	p("Demo values — demo only, valid nowhere but this simulation:")
	p("  web app\t%s\t%s (work, school and personal accounts; PKCE S256 required)", d.WebApp.ClientID, d.WebApp.Name)
	p("    client secret (demo value)\t%s", d.WebApp.Secret)
	p("    redirect URIs\t%s", strings.Join(d.WebApp.RedirectURIs, " "))
	p("  daemon app\t%s\t%s (client credentials in Contoso)", d.DaemonApp.ClientID, d.DaemonApp.Name)
	p("    client secret (demo value)\t%s", d.DaemonApp.Secret)
	p("    expired secret (demo value)\t%s", d.DaemonApp.ExpiredSecret)
	p("    application permissions\t%s", strings.Join(d.DaemonApp.AppPermissions, " "))
	for _, t := range []DemoTenant{d.Contoso, d.Fabrikam, d.Northwind, d.Consumers} {
		p("  tenant %s\t%s\t%s", t.Name, t.ID, t.Domain)
	}
	p("    (Fabrikam requires admin consent for .Shared scopes)")
	p("    (Northwind's %s users sign in at its own identity provider)", DemoNorthwindFederatedDomain)
	for _, u := range []DemoUser{d.Adele, d.Alex, d.ContosoAdmin, d.Megan, d.FabrikamAdmin, d.Lee, d.Pat} {
		role := ""
		if u.Admin {
			role = "admin"
		}
		p("  user\t%s\t%s %s", u.UPN, u.DisplayName, role)
	}
	p("No password is asked for: pick or type an account on the sign-in page.")
	_ = tw.Flush()
}
