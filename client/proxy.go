package brokerclient

import (
	"net/http"
	"net/url"
)

// ProxyOption configures HTTPClient.
type ProxyOption func(*proxyTransport)

// RetryThrottled asks the broker to wait out Graph's 429/503 Retry-After
// (up to 30s) inside the request (Broker-Retry: on) instead of returning it.
func RetryThrottled() ProxyOption { return func(t *proxyTransport) { t.retry = true } }

// HTTPClient returns an *http.Client that calls Microsoft Graph through the
// broker's proxy for connectionID: the request's path and query from the
// version on (https://graph.microsoft.com/v1.0/me/messages → the broker's
// /api/v1/connections/{id}/graph/v1.0/me/messages) go to the broker with
// the API key, and the broker adds the Microsoft token. Redirects are not
// followed: Graph's Location comes back to the caller.
func (c *Client) HTTPClient(connectionID string, opts ...ProxyOption) *http.Client {
	t := &proxyTransport{c: c, prefix: c.base + "/api/v1/connections/" + url.PathEscape(connectionID) + "/graph"}
	for _, o := range opts {
		o(t)
	}
	return &http.Client{Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type proxyTransport struct {
	c      *Client
	prefix string
	retry  bool
}

func (t *proxyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u, err := url.Parse(t.prefix + req.URL.EscapedPath())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	u.RawQuery = req.URL.RawQuery
	out := req.Clone(req.Context())
	out.URL, out.Host = u, u.Host
	out.Header.Set("Authorization", "Bearer "+t.c.key)
	if t.retry {
		out.Header.Set("Broker-Retry", "on")
	}
	next := t.c.hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(out)
}
