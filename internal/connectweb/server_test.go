package connectweb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/adminweb"
	"github.com/brokerhq/broker/internal/api"
	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/auth"
	"github.com/brokerhq/broker/internal/connect"
	"github.com/brokerhq/broker/internal/connections/conntest"
	"github.com/brokerhq/broker/internal/connectweb"
	"github.com/brokerhq/broker/internal/connweb"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/web"
)

// server is the broker's router with the connection pages, the connect
// pages and the API, served as http://localhost:port (so the sim at
// 127.0.0.1 is another site and SameSite=Lax cookies are really tested),
// and a product's backend at 127.0.0.1 that receives the return.
type server struct {
	*conntest.Env
	URL     string
	Key     string // a token key of every project
	KeyID   string
	Product *product
	logs    *conntest.SyncBuffer
}

// product is the product's return_url endpoint: it records what came back.
type product struct {
	*httptest.Server
	mu   sync.Mutex
	seen []url.Values
}

func (p *product) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/logo.png" {
		w.Header().Set("Content-Type", "image/png")
		png.Encode(w, logo())
		return
	}
	if r.URL.Path != "/outlook/connected" { // the browser asks for /favicon.ico too
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, r.URL.Query())
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, `<!doctype html><title>Back in the product</title><h1 id="product">Back in the product</h1>`)
}

func (p *product) returns() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.seen...)
}

func newServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &server{URL: "http://localhost:" + port, logs: &conntest.SyncBuffer{}, Product: &product{}}
	s.Env = conntest.New(t, s.URL+"/oauth/callback")
	s.Product.Server = httptest.NewServer(s.Product)
	t.Cleanup(s.Product.Close)
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	toks := tokens.New(s.Store, s.MS, tokens.Options{Now: s.Clock.Now, Logger: logger})
	t.Cleanup(toks.Close)
	keys := apikeys.NewVerifier(s.Store, apikeys.Options{Now: s.Clock.Now, Logger: logger})
	adminPages := adminweb.New(admin.New(s.Store, toks, s.MS, s.MS, keys, logger, s.Clock.Now))
	conns := connweb.New(connweb.Options{Store: s.Store, Provider: s.MS, Graph: s.MS, RedirectURL: s.Redirect,
		Logger: logger, Now: s.Clock.Now, Admin: adminPages})
	svc := connect.New(s.Store, conns.Service, s.URL, logger, s.Clock.Now)
	pages := connectweb.New(svc)
	conns.Connect = pages
	h := api.New(s.Store, toks, keys, nil, logger, s.Clock.Now)
	h.Connect = svc
	router, err := web.New(web.Deps{Store: s.Store, Logger: logger, PublicURL: s.URL, SessionKeys: conntest.SessionKeys,
		Now: s.Clock.Now, Passwords: auth.CheapParams,
		Mount:    []func(chi.Router, *web.UI){conns.Mount, adminPages.Mount, pages.Mount},
		MountAPI: []func(chi.Router, *web.UI){func(r chi.Router, _ *web.UI) { r.Route("/v1", h.Routes) }}})
	if err != nil {
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	hs.Start()
	t.Cleanup(hs.Close)

	if err := s.Store.PutConnectSettings(context.Background(), store.ConnectSettings{TenantID: s.Tenant.ID,
		DisplayName: "Northwind CRM", BrandColor: "#0f7b6c", LogoURL: s.Product.URL + "/logo.png",
		AllowedReturnOrigins: []string{s.Product.URL}}); err != nil {
		t.Fatal(err)
	}
	key, row, err := apikeys.Create(context.Background(), s.Store, apikeys.NewKey{TenantID: s.Tenant.ID, Name: "crm backend"})
	if err != nil {
		t.Fatal(err)
	}
	s.Key, s.KeyID = key, row.ID
	return s
}

// session is a created connect session as the API answered it.
type session struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	ConnectURL   string `json:"connect_url"`
	ConnectionID string `json:"connection_id"`
}

// api calls the broker's API with the server's key; it returns the status
// and decodes a 2xx body into out.
func (s *server) api(t *testing.T, method, path string, body any, out any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var prob map[string]any
	if resp.StatusCode >= 300 {
		json.Unmarshal(raw, &prob)
		return resp.StatusCode, prob
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, nil
}

// create makes a session in Sales for end user u-dana with metadata and
// the product's return URL, plus whatever extra sets.
func (s *server) create(t *testing.T, extra map[string]any) session {
	t.Helper()
	body := map[string]any{"project": "Sales", "end_user": map[string]any{"id": "u-dana", "email": "dana@customer.test",
		"display_name": "Dana Scully"}, "metadata": map[string]string{"plan": "pro", "crm_account": "42"},
		"return_url": s.Product.URL + "/outlook/connected?tab=mail"}
	for k, v := range extra {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	var cs session
	if status, prob := s.api(t, http.MethodPost, "/api/v1/connect-sessions", body, &cs); status != http.StatusCreated {
		t.Fatalf("create session: %d %v", status, prob)
	}
	if !strings.HasPrefix(cs.ConnectURL, s.URL+"/connect/") {
		t.Fatalf("connect_url %q", cs.ConnectURL)
	}
	return cs
}

// logo is a product's logo: a teal square with a white bar.
func logo() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 80, 80))
	for y := range 80 {
		for x := range 80 {
			c := color.RGBA{0x0f, 0x7b, 0x6c, 0xff}
			if y > 34 && y < 46 && x > 16 && x < 64 {
				c = color.RGBA{0xff, 0xff, 0xff, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	return img
}
