package graphproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/brokerhq/broker/internal/tokens"
)

// exchange is one proxied request on its way through.
type exchange struct {
	p *Proxy
	w http.ResponseWriter
	r *http.Request
	c Call

	tok      tokens.Token
	audited  bool // the connection is known to be the caller's: count it
	status   int
	in, out  int64
	upstream time.Duration // until Graph's last response headers
}

// minTTL is what a token must have left to be sent to Graph: enough for the
// request to arrive before it expires.
const minTTL = 2 * time.Minute

func (x *exchange) run() {
	p, r := x.p, x.r
	path, ok := cleanPath(x.c.Path)
	if !ok {
		x.refuse(&Refusal{Code: "invalid_request", Detail: "The Graph path must start with /v1.0/ or /beta/ and may not contain . or .. segments."})
		return
	}
	if r.ContentLength > p.opts.MaxBody {
		x.refuse(&Refusal{Code: CodeTooLarge, Detail: "The request body is larger than the proxy accepts."})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.opts.Timeout)
	defer cancel()
	tok, err := p.tokens.Token(ctx, x.c.TenantID, x.c.ConnID,
		tokens.Request{MinTTL: minTTL, ProjectIDs: x.c.ProjectIDs, Wait: p.opts.TokenWait})
	if err != nil {
		x.refuseToken(err)
		return
	}
	x.tok, x.audited = tok, true
	rules, err := p.policies.Rules(ctx, x.c.TenantID, tok.Conn.ProjectID)
	if err != nil {
		p.opts.Logger.Error("graphproxy: read policy", "project", tok.Conn.ProjectID, "err", err)
		x.refuse(&Refusal{Code: "internal_error", Detail: "The broker could not read the project's Graph policy."})
		return
	}
	denied := &Refusal{Code: CodeDenied, Detail: "The project's Graph policy does not allow " + r.Method + " on this path."}
	version, rest, _ := strings.Cut(path[1:], "/")
	// Under a policy, a $batch is judged by the requests inside it.
	batch := len(rules) > 0 && r.Method == http.MethodPost && strings.EqualFold(rest, "$batch")
	if !batch && !Allows(rules, r.Method, path) {
		x.refuse(denied)
		return
	}
	retryOn := strings.EqualFold(r.Header.Get("Broker-Retry"), "on")
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	var buffered []byte
	if hasBody && (batch || idempotent(r.Method) || retryOn) {
		// Kept to send again (a retry) or to read (a batch under a policy).
		if buffered, err = io.ReadAll(io.LimitReader(r.Body, p.opts.MaxBody+1)); err != nil {
			return // the caller went away mid-body
		}
		if int64(len(buffered)) > p.opts.MaxBody {
			x.refuse(&Refusal{Code: CodeTooLarge, Detail: "The request body is larger than the proxy accepts."})
			return
		}
	}
	if batch && !batchAllowed(rules, "/"+version, buffered) {
		x.refuse(denied)
		return
	}
	if !p.limit.acquire(ctx, x.c.ConnID, p.opts.QueueWait) {
		if r.Context().Err() != nil {
			return
		}
		p.m.throttles.WithLabelValues("broker").Inc()
		x.refuse(&Refusal{Code: CodeBusy, RetryAfter: time.Second,
			Detail: "This connection has as many Graph requests in flight as Outlook allows; retry after Retry-After."})
		return
	}
	defer p.limit.release(x.c.ConnID)
	x.forward(ctx, hasBody, buffered, retryOn)
}

// forward sends the request, refreshing the token once on a 401 and waiting
// out throttling when asked, and streams the last answer back.
func (x *exchange) forward(ctx context.Context, hasBody bool, buffered []byte, retryOn bool) {
	p, r := x.p, x.r
	replayable := !hasBody || buffered != nil
	refreshed := false
	start := time.Now()
	for attempt := 1; ; attempt++ {
		var body io.Reader
		switch {
		case buffered != nil:
			body = bytes.NewReader(buffered)
		case hasBody:
			body = &countingReader{r: http.MaxBytesReader(x.w, r.Body, p.opts.MaxBody)}
		}
		resp, err := x.send(ctx, body)
		x.upstream = time.Since(start)
		if err != nil {
			x.sendFailed(err)
			return
		}
		if cr, ok := body.(*countingReader); ok {
			x.in = cr.n.Load()
		} else {
			x.in = int64(len(buffered))
		}
		if resp.StatusCode == http.StatusUnauthorized && !refreshed && invalidToken(resp) {
			refreshed = true
			p.m.refreshes.Inc()
			nt, err := p.tokens.Token(ctx, x.c.TenantID, x.c.ConnID, tokens.Request{MinTTL: minTTL,
				ForceRefresh: true, ProjectIDs: x.c.ProjectIDs, Wait: p.opts.TokenWait})
			if err != nil {
				resp.Body.Close()
				x.refuseToken(err)
				return
			}
			if replayable && idempotent(r.Method) && nt.AccessToken != x.tok.AccessToken {
				resp.Body.Close()
				x.tok = nt
				continue
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			p.m.throttles.WithLabelValues("graph").Inc()
			if wait, ok := x.retryWait(ctx, resp, retryOn && replayable, attempt); ok {
				resp.Body.Close()
				if sleep(ctx, wait) {
					continue
				}
				x.sendFailed(ctx.Err())
				return
			}
		}
		x.respond(resp)
		return
	}
}

// send makes one request to Graph with the current token.
func (x *exchange) send(ctx context.Context, body io.Reader) (*http.Response, error) {
	target := x.p.opts.GraphBase + x.c.Path
	if x.r.URL.RawQuery != "" {
		target += "?" + x.r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, x.r.Method, target, body)
	if err != nil {
		return nil, err
	}
	if _, ok := body.(*countingReader); ok {
		req.ContentLength = x.r.ContentLength // -1 (chunked) stays unknown
	}
	copyHeaders(req.Header, x.r.Header, requestHeaders)
	req.Header.Set("Authorization", "Bearer "+x.tok.AccessToken)
	req.Header.Set("User-Agent", "broker-graph-proxy")
	return x.p.client.Do(req)
}

// sendFailed answers a request Graph never answered.
func (x *exchange) sendFailed(err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		x.refuse(&Refusal{Code: CodeTooLarge, Detail: "The request body is larger than the proxy accepts."})
	case x.r.Context().Err() != nil:
		// The caller went away: nobody to answer.
	default:
		// The error names Graph's host, never the token: safe to log.
		x.p.opts.Logger.Warn("graphproxy: Graph did not answer", "connection", x.c.ConnID, "err", err)
		x.refuse(&Refusal{Code: "upstream_unavailable", RetryAfter: time.Second,
			Detail: "Microsoft Graph did not answer in time or refused the connection."})
	}
}

// respond streams Graph's answer to the caller.
func (x *exchange) respond(resp *http.Response) {
	defer resp.Body.Close()
	h := x.w.Header()
	copyHeaders(h, resp.Header, responseHeaders)
	h.Set("Cache-Control", "no-store") // mail is private; no intermediary keeps it
	x.status = resp.StatusCode
	x.w.WriteHeader(resp.StatusCode)
	n, err := copyBody(x.w, resp.Body, resp.ContentLength < 0)
	x.out = n
	if err != nil && x.r.Context().Err() == nil {
		// Graph's body broke off: abort, so the caller sees a broken answer
		// rather than a short one that looks complete.
		x.p.opts.Logger.Warn("graphproxy: Graph's answer broke off", "connection", x.c.ConnID, "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (x *exchange) refuseToken(err error) {
	e, ok := tokens.AsError(err)
	if !ok {
		x.p.opts.Logger.Error("graphproxy: token", "connection", x.c.ConnID, "err", err)
		e = &tokens.Error{Code: tokens.CodeInternal, Detail: "The broker could not get a token."}
	}
	x.refuse(&Refusal{Code: string(e.Code), Detail: e.Detail, Token: e})
}

func (x *exchange) refuse(ref *Refusal) {
	sw := &statusWriter{ResponseWriter: x.w}
	x.p.opts.Refuse(sw, ref)
	x.status = sw.status
}

// finish counts the request in the metrics and, once the connection is
// known to be the caller's, in the audit.
func (x *exchange) finish() {
	status := x.status
	if status == 0 {
		status = 499 // the caller left before an answer
	}
	x.p.m.done(status, x.upstream, x.in, x.out)
	if x.audited && x.p.audit != nil {
		x.p.audit.Record(x.c.TenantID, x.c.KeyID, x.c.ConnID, status, x.in, x.out, x.p.opts.Now())
	}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// countingReader counts the request bytes sent. The transport may still be
// writing the body when the response arrives (Graph answered early), so the
// count is atomic.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
