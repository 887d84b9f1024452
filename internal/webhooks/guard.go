package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Guard decides where the broker may send a webhook. A tenant names the
// URL, so without it a webhook is a request from inside the broker's
// network to anywhere (SSRF): it admits https only (http for the hosts an
// operator lists) and refuses loopback, private, link-local (cloud
// metadata), CGNAT and other special addresses unless an operator allows
// the network. The check runs on the address actually dialled, in the
// dialer's Control hook, on every attempt: a name that resolved to a
// public address when the endpoint was saved and to 127.0.0.1 now (DNS
// rebinding) is refused at the dial.
type Guard struct {
	AllowHTTPHosts []string       // BROKER_WEBHOOK_ALLOW_HTTP_HOSTS: hosts plain http may go to
	AllowNetworks  []netip.Prefix // BROKER_WEBHOOK_ALLOW_NETWORKS: networks admitted despite the rules
	// Lookup resolves a host name; nil uses the system resolver. Tests
	// inject one whose answers change.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// RefusedError is an address or URL the guard refuses, with a reason fit
// for the endpoint's page.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// blocked are the networks no webhook may reach unless allowed by name.
var blocked = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address (cloud metadata lives here)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address (unique local; cloud metadata lives here too)"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// CheckAddr refuses an address the guard does not admit.
func (g *Guard) CheckAddr(a netip.Addr) error {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	for _, p := range g.AllowNetworks {
		if p.Contains(a) {
			return nil
		}
	}
	for _, b := range blocked {
		if b.prefix.Contains(a) {
			return &RefusedError{Reason: a.String() + " is " + b.what}
		}
	}
	return nil
}

// CheckURL validates an endpoint URL when it is saved: absolute, https
// (or http to an allowed host), no credentials, and every address its host
// resolves to admitted. Delivery checks the dialled address again.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := g.parse(raw)
	if err != nil {
		return err
	}
	addrs, err := g.resolve(ctx, u.Hostname())
	if err != nil {
		return &RefusedError{Reason: "the host " + u.Hostname() + " does not resolve"}
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return err
		}
	}
	return nil
}

func (g *Guard) parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, &RefusedError{Reason: "the URL is not an absolute URL"}
	}
	if u.User != nil {
		return nil, &RefusedError{Reason: "the URL must not carry a user name or password"}
	}
	if u.Fragment != "" {
		return nil, &RefusedError{Reason: "the URL must not have a #fragment"}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !slices.ContainsFunc(g.AllowHTTPHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
			return nil, &RefusedError{Reason: "the URL must use https (plain http only to hosts the operator allows)"}
		}
	default:
		return nil, &RefusedError{Reason: "the URL must use https"}
	}
	return u, nil
}

func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if g.Lookup != nil {
		return g.Lookup(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// control is the dialer's Control hook: the last word, on the address
// the socket is about to connect to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: "cannot read the dialled address " + address}
	}
	return g.CheckAddr(ap.Addr())
}

// dial resolves the host itself (so an injected resolver is the one that
// answers) and dials its addresses in turn through the Control hook.
func (g *Guard) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	d := &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	var first error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("%s has no address", host)
	}
	return nil, first
}

// Client is the HTTP client deliveries use: guarded dials, no proxy (a
// proxy would dial for us, unchecked), no redirects followed, bounded
// waits. timeout bounds a whole attempt.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dial,
		TLSHandshakeTimeout:    5 * time.Second,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// CheckURLScheme is the saved URL's scheme check alone (no DNS), for the
// attempt: the operator may have withdrawn a host from the http list.
func (g *Guard) CheckURLScheme(raw string) error {
	_, err := g.parse(raw)
	return err
}

// AsRefused unwraps a guard refusal from a transport error.
func AsRefused(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}
