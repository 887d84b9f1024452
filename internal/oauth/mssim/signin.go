package mssim

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// SignInOptions says what the person does on the consent page.
type SignInOptions struct {
	// Untick lists scopes to untick ("Mail.Read", "offline_access" or fully
	// qualified); the granted scopes are then fewer than those asked for.
	Untick []string
	// Cancel presses Cancel: the app receives error=access_denied
	// (AADSTS65004), or consent_required on the admin consent endpoint.
	Cancel bool
}

// PageError is a sign-in that stopped on the platform's own pages, so the
// app never got a redirect: unknown tenant or client, redirect URI
// mismatch, an account the authority does not accept (AADSTS50020, 500208,
// 50034)…
type PageError struct {
	Status  int
	Code    int // the AADSTS code
	Message string
}

func (e *PageError) Error() string {
	return fmt.Sprintf("mssim: sign-in stopped on an error page (HTTP %d): AADSTS%d: %s", e.Status, e.Code, e.Message)
}

var (
	reForm     = regexp.MustCompile(`<form id="(signin|consent)" method="post" action="([^"]*)"`)
	reCtx      = regexp.MustCompile(`name="ctx" value="([^"]*)"`)
	reError    = regexp.MustCompile(`id="error" data-code="(\d*)">([^<]*)`)
	reCheckbox = regexp.MustCompile(`<input type="checkbox" name="scope" value="([^"]*)"`)
)

// SignIn drives the sim's sign-in pages the way a browser would, over plain
// HTTP: it GETs authorizeURL (or an admin consent URL), follows the sim's
// own redirects between its hosts (login, Microsoft account, federated
// IdP), submits account on each sign-in page, unticks opts.Untick or
// presses Cancel on the consent page, and returns the redirect to the app's
// redirect_uri without following it. The client's cookie jar, if any, keeps
// the sessions that prompt=none needs; its redirect policy is not used.
func SignIn(ctx context.Context, client *http.Client, authorizeURL, account string, opts SignInOptions) (*url.URL, error) {
	c := http.Client{Transport: http.DefaultTransport}
	if client != nil {
		c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, fmt.Errorf("mssim: sign in: %w", err)
	}
	app := req.URL.Query().Get("redirect_uri")
	// authorize → (MSA | IdP → return) → sign-in → consent → redirect, each
	// sign-in page possibly twice (login host, then the account's own host).
	for range 10 {
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("mssim: sign in: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("mssim: sign in: reading page: %w", err)
		}
		if loc, err := resp.Location(); err == nil {
			if app == "" || strings.HasPrefix(loc.String(), app) {
				return loc, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, fmt.Errorf("mssim: sign in: %w", err)
			}
			continue
		}
		if req, err = nextStep(ctx, resp, string(body), account, opts); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("mssim: sign in: too many steps without a redirect")
}

// nextStep reads a page and builds the form post a person would make.
func nextStep(ctx context.Context, resp *http.Response, page, account string, opts SignInOptions) (*http.Request, error) {
	if m := reError.FindStringSubmatch(page); m != nil {
		code, _ := strconv.Atoi(m[1])
		msg := strings.TrimPrefix(html.UnescapeString(m[2]), "AADSTS"+m[1]+": ")
		return nil, &PageError{Status: resp.StatusCode, Code: code, Message: msg}
	}
	form := reForm.FindStringSubmatch(page)
	ctxVal := reCtx.FindStringSubmatch(page)
	if form == nil || ctxVal == nil {
		return nil, fmt.Errorf("mssim: sign in: unexpected page (HTTP %d)", resp.StatusCode)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(form[2]))
	if err != nil {
		return nil, fmt.Errorf("mssim: sign in: form action: %w", err)
	}
	vals := url.Values{"ctx": {html.UnescapeString(ctxVal[1])}}
	switch form[1] {
	case "signin":
		if account == "" {
			return nil, errors.New("mssim: sign in: no account given")
		}
		vals.Set("login", account)
	case "consent":
		vals.Set("action", "accept")
		if opts.Cancel {
			vals.Set("action", "cancel")
		}
		var untick scopeSet
		for _, s := range opts.Untick {
			untick |= parseScopes(anyCloudScope(s)).set
		}
		for _, m := range reCheckbox.FindAllStringSubmatch(page, -1) {
			v := html.UnescapeString(m[1])
			if parseScopes(anyCloudScope(v)).set&untick == 0 {
				vals.Add("scope", v)
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
	if err != nil {
		return nil, fmt.Errorf("mssim: sign in: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
