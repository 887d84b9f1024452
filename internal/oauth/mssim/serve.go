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

// ServeConfig configures Start and Serve, the sim as a process for the demo
// and manual testing (wired as `broker simulate-microsoft` and `broker demo`).
type ServeConfig struct {
	// Addr is the login host's listen address (Graph and /_sim/ too).
	Addr string
	// MSAAddr and IdPAddr are the listen addresses of the Microsoft account
	// host and the federated IdP, each its own origin as on the real
	// platform. Empty: their paths are served by the login host.
	MSAAddr, IdPAddr string
	// BaseURL, MSAURL and IdPURL are the three hosts as browsers and the
	// broker see them. Empty BaseURL: issuers use the host each request
	// arrived on. Empty MSAURL/IdPURL: http:// and the listen address, with
	// an unspecified IP (0.0.0.0, ::) shown as localhost.
	BaseURL, MSAURL, IdPURL string
	// StatePath, if set, is a file the sim's state (keys, directory,
	// consents, grants, tokens) is loaded from at start and saved to every
	// SaveEvery and at stop, so a restart breaks no connection.
	StatePath string
	SaveEvery time.Duration // default 10 seconds
	// Cloud is Options.Cloud: "global" (default), "usgov", "usgov-dod", "china".
	Cloud string
	// RefreshInactive overrides the refresh tokens' inactivity window
	// (default 90 days), e.g. 10m to watch keep-alive matter in a demo.
	RefreshInactive time.Duration
	// RedirectURIs, ClientID and ClientSecret configure the demo web app so
	// the demo broker can be configured to match. Defaults: DemoRedirectURI,
	// DemoWebClientID, DemoWebClientSecret.
	RedirectURIs []string
	ClientID     string
	ClientSecret string
	// ShutdownTimeout bounds the graceful stop; default 5 seconds.
	ShutdownTimeout time.Duration
}

// Process is a started sim: its hosts' listeners, served until Stop.
type Process struct {
	Sim                      *Sim
	Demo                     Demo
	Restored                 bool // the state came from StatePath
	LoginURL, MSAURL, IdPURL string

	cfg     ServeConfig
	servers []*http.Server
	errc    chan error
	stop    chan struct{}
	saved   chan struct{}
}

// Start listens on the configured addresses, loads the state file if there
// is one (else seeds the demo directory), and serves until Stop.
func Start(cfg ServeConfig) (*Process, error) {
	if _, err := CloudGraphResource(cfg.Cloud); err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg, errc: make(chan error, 3), stop: make(chan struct{}), saved: make(chan struct{})}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	listen := func(addr, public string) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("mssim: listen on %s: %w", addr, err)
		}
		lns = append(lns, ln)
		if public != "" {
			return strings.TrimSuffix(public, "/"), nil
		}
		return "http://" + browserAddr(ln.Addr()), nil
	}
	var err error
	if p.LoginURL, err = listen(cfg.Addr, cfg.BaseURL); err != nil {
		return nil, err
	}
	opts := Options{BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"), Cloud: cfg.Cloud}
	for _, h := range []struct {
		addr, public string
		url, opt     *string
	}{{cfg.MSAAddr, cfg.MSAURL, &p.MSAURL, &opts.MSABaseURL}, {cfg.IdPAddr, cfg.IdPURL, &p.IdPURL, &opts.IdPBaseURL}} {
		if h.addr == "" {
			*h.url = p.LoginURL
			continue
		}
		if *h.url, err = listen(h.addr, h.public); err != nil {
			closeAll()
			return nil, err
		}
		*h.opt = *h.url
	}
	if cfg.StatePath != "" {
		if opts.SigningKey, err = LoadSigningKey(cfg.StatePath); err != nil {
			closeAll()
			return nil, err
		}
	}
	p.Sim = New(opts)
	if cfg.StatePath != "" {
		if p.Restored, err = p.Sim.LoadState(cfg.StatePath); err != nil {
			closeAll()
			return nil, err
		}
	}
	// The demo's names are fixed; a restored directory already holds them.
	dc := DemoConfig{RedirectURIs: cfg.RedirectURIs, WebClientID: cfg.ClientID, WebSecret: cfg.ClientSecret}
	if p.Restored {
		p.Demo = DemoValues(dc)
	} else {
		p.Demo = SeedDemo(p.Sim, dc)
	}
	if cfg.RefreshInactive > 0 {
		p.Sim.SetLifetimes(Lifetimes{RefreshInactive: cfg.RefreshInactive})
	}
	handlers := []http.Handler{p.Sim.Handler(), p.Sim.MSAHandler(), p.Sim.IdPHandler()}
	if cfg.MSAAddr == "" {
		handlers = append(handlers[:1], handlers[2])
	}
	if cfg.IdPAddr == "" {
		handlers = handlers[:len(handlers)-1]
	}
	for i, ln := range lns {
		srv := &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second}
		p.servers = append(p.servers, srv)
		go func() { p.errc <- srv.Serve(ln) }()
	}
	go p.saveLoop()
	return p, nil
}

// browserAddr is a listener's address as a browser on this machine can use it.
func browserAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// saveLoop writes the state file now and then, so that even a killed
// process loses at most SaveEvery of tokens.
func (p *Process) saveLoop() {
	defer close(p.saved)
	if p.cfg.StatePath == "" {
		return
	}
	every := p.cfg.SaveEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			_ = p.Sim.SaveState(p.cfg.StatePath) // the final save at Stop reports errors
		}
	}
}

// Stop stops accepting, drains, and saves the state file one last time.
func (p *Process) Stop(ctx context.Context) error {
	close(p.stop)
	<-p.saved
	var errs []error
	for _, srv := range p.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("mssim: shutdown: %w", err))
		}
	}
	for range p.servers {
		if err := <-p.errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("mssim: serve: %w", err))
		}
	}
	if p.cfg.StatePath != "" {
		errs = append(errs, p.Sim.SaveState(p.cfg.StatePath))
	}
	return errors.Join(errs...)
}

// Serve starts the sim (Start), prints its hosts and demo directory to out,
// and serves until ctx is cancelled; then it stops accepting, drains, saves
// the state file and returns nil.
func Serve(ctx context.Context, addr string, cfg ServeConfig, out io.Writer) error {
	cfg.Addr = addr
	p, err := Start(cfg)
	if err != nil {
		return err
	}
	printBanner(out, p)
	var serveErr error
	select {
	case serveErr = <-p.errc:
		serveErr = fmt.Errorf("mssim: serve: %w", serveErr)
		p.errc <- nil // Stop collects one result per server
	case <-ctx.Done():
	}
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return errors.Join(serveErr, p.Stop(sctx))
}

func printBanner(out io.Writer, proc *Process) {
	d := proc.Demo
	base := proc.LoginURL
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("Simulated Microsoft identity platform and Graph (mssim)")
	p("  authority host\t%s\t(e.g. %s/common/oauth2/v2.0/authorize)", base, base)
	p("  Microsoft account host\t%s\t(login.live.com: personal accounts sign in here)", proc.MSAURL)
	p("  federated IdP host\t%s\t(Northwind's AD FS: %s accounts sign in here)", proc.IdPURL, DemoNorthwindFederatedDomain)
	res, _ := CloudGraphResource(proc.cfg.Cloud)
	p("  Graph base\t%s/v1.0\t(scopes name %s)", base, res)
	p("  control API\t%s/_sim/", base)
	if proc.cfg.StatePath != "" {
		state := "new"
		if proc.Restored {
			state = "restored"
		}
		p("  state file\t%s\t(%s; saved every few seconds and at stop)", proc.cfg.StatePath, state)
	}
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
