// Package brokerclient is the Go client of the Outlook connection broker:
// an oauth2.TokenSource per connection, an *http.Client that calls Microsoft
// Graph through the broker's proxy, and the connection list as an iterator.
// It depends on the standard library and golang.org/x/oauth2 only.
//
//	c := brokerclient.New("https://broker.example.com", os.Getenv("BROKER_API_KEY"))
//	ts := c.TokenSource(connID, brokerclient.MinTTL(5*time.Minute))
//	graph := oauth2.NewClient(ctx, ts) // Graph with a broker token
//	proxied := c.HTTPClient(connID)    // or Graph through the broker: no token in this process
//
// Connect links (CreateConnectSession) let a product's own users connect a
// mailbox without a broker login; their connections carry EndUser and
// Metadata.
package brokerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to one broker with one API key. Safe for concurrent use.
type Client struct {
	base    string // without a trailing slash
	key     string
	hc      *http.Client
	timeout time.Duration
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used to reach the broker (default: a
// client of its own with a pooled transport).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each token request made from TokenSource.Token, which
// takes no context (default 30s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// New returns a client of the broker at baseURL (e.g.
// "https://broker.example.com") authenticating with apiKey (brk_…).
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, timeout: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return c
}

// get calls a broker API path and decodes a 200 answer into out; any other
// answer is an *Error.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.call(ctx, http.MethodGet, path, q, nil, http.StatusOK, out)
}

// call sends method to a broker API path, with in as its JSON body unless
// nil, and decodes an answer with status want into out; any other answer
// is an *Error.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in any, want int, out any) error {
	u := c.base + "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return readError(resp)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out)
}
