package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/brokerhq/broker/internal/apikeys"
	"github.com/brokerhq/broker/internal/problem"
	"github.com/brokerhq/broker/internal/store"
	"github.com/brokerhq/broker/internal/testdb"
	"github.com/brokerhq/broker/internal/tokens"
	"github.com/brokerhq/broker/internal/tokens/tokenstest"
)

type env struct {
	ms             *tokenstest.Microsoft
	url            string
	st             *store.Store
	tenant, other  store.Tenant
	sales, support store.Project
	otherProject   store.Project
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{ms: tokenstest.StartMicrosoft(), url: testdb.New(t)}
	t.Cleanup(e.ms.Server.Close)
	e.st = openStore(t, e.url)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	e.tenant, err = e.st.CreateTenant(ctx, "acme", "Acme")
	must(err)
	e.other, err = e.st.CreateTenant(ctx, "globex", "Globex")
	must(err)
	e.sales, err = e.st.CreateProject(ctx, e.tenant.ID, "Sales")
	must(err)
	e.support, err = e.st.CreateProject(ctx, e.tenant.ID, "Support")
	must(err)
	e.otherProject, err = e.st.CreateProject(ctx, e.other.ID, "Sales")
	must(err)
	return e
}

func openStore(t testing.TB, url string) *store.Store {
	t.Helper()
	return testdb.OpenStore(t, url, store.Options{MaxConns: 8})
}

// server is one broker replica's API: its own pool, token service, key
// verifier and usage recorder, behind a check that every answer it gives is
// one the OpenAPI document lists.
type server struct {
	*httptest.Server
	h     *Handler
	usage *tokens.Usage
	keys  *apikeys.Verifier
}

func (e *env) server(t *testing.T, keyOpts apikeys.Options) *server {
	t.Helper()
	return e.serverRouted(t, keyOpts, true)
}

// serverRouted is server with the token route matched by TokenFirst before
// chi, as `broker serve` mounts it, or (tokenFirst false) by chi alone.
func (e *env) serverRouted(t *testing.T, keyOpts apikeys.Options, tokenFirst bool) *server {
	t.Helper()
	st := openStore(t, e.url)
	quiet := slog.New(slog.DiscardHandler) // the failures tests cause are expected
	svc := tokens.New(st, e.ms.Provider(), tokens.Options{Now: e.ms.Sim.Now, Logger: quiet})
	t.Cleanup(svc.Close)
	keyOpts.Now, keyOpts.Logger = e.ms.Sim.Now, quiet
	keys := apikeys.NewVerifier(st, keyOpts)
	usage := tokens.NewUsage(st, e.ms.Sim.Now, quiet, 0)
	h := New(st, svc, keys, usage, quiet, e.ms.Sim.Now)
	r := chi.NewRouter()
	r.Route("/api/v1", h.Routes)
	var routed http.Handler = r
	if tokenFirst {
		routed = h.TokenFirst(r)
	}
	srv := httptest.NewServer(withRouteContext(conformance(t)(routed)))
	t.Cleanup(srv.Close)
	return &server{Server: srv, h: h, usage: usage, keys: keys}
}

func (e *env) key(t *testing.T, tenantID string, projects ...string) (string, store.APIKey) {
	t.Helper()
	key, row, err := apikeys.Create(context.Background(), e.st, apikeys.NewKey{TenantID: tenantID, Name: "test", ProjectIDs: projects})
	if err != nil {
		t.Fatal(err)
	}
	return key, row
}

func (e *env) conn(t *testing.T, c tokenstest.Conn) store.Connection {
	t.Helper()
	if c.TenantID == "" {
		c.TenantID, c.ProjectID = e.tenant.ID, e.sales.ID
	}
	if c.Name == "" {
		c.Name = "mailbox"
	}
	if c.UPN == "" {
		c.UPN = e.ms.Demo.Adele.UPN
	}
	conn, err := e.ms.Create(context.Background(), e.st, c)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// get requests path with the key and decodes the JSON answer into out (if
// not nil); it returns the response with its body read into body.
func get(t *testing.T, s *server, key, path string, out any) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp, body
}

// wantProblem checks an answer is problem+json with the code and its status.
func wantProblem(t *testing.T, s *server, key, path, code string) problem.Problem {
	t.Helper()
	var p problem.Problem
	resp, _ := get(t, s, key, path, &p)
	want := problemTypes[code].Status
	if resp.StatusCode != want || p.Code != code || p.Status != want || p.Type != "urn:broker:problem:"+code ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s: HTTP %d %+v, want %d %s", path, resp.StatusCode, p, want, code)
	}
	return p
}

// apiDoc is openapi.json as far as the tests read it.
type apiDoc struct {
	Paths map[string]map[string]struct {
		Responses    map[string]json.RawMessage `json:"responses"`
		ProblemCodes []string                   `json:"x-problem-codes"`
	} `json:"paths"`
	GenericCodes []string `json:"x-generic-problem-codes"`
	Components   struct {
		Schemas struct {
			Problem struct {
				Properties struct {
					Code struct {
						Enum []string `json:"enum"`
					} `json:"code"`
				} `json:"properties"`
			} `json:"Problem"`
		} `json:"schemas"`
	} `json:"components"`
}

var parseDoc = sync.OnceValues(func() (apiDoc, error) {
	var d apiDoc
	return d, json.Unmarshal(openAPI, &d)
})

// conformance fails the test when an answer's status, or its problem code,
// is not what the OpenAPI document lists for the route: every request of
// every test checks the handlers against the document.
func conformance(t *testing.T) func(http.Handler) http.Handler {
	doc, err := parseDoc()
	if err != nil {
		t.Fatal(err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			pattern := strings.Replace(strings.TrimPrefix(chi.RouteContext(r.Context()).RoutePattern(), "/api/v1"), "/*", "/{path}", 1)
			if strings.HasSuffix(pattern, "/graph/{path}") && rec.code == "" {
				return // Graph's own answer, passed through: the document's "default"
			}
			op, documented := doc.Paths[pattern][strings.ToLower(r.Method)]
			codes := doc.GenericCodes
			if documented {
				if _, ok := op.Responses[strconv.Itoa(rec.status)]; !ok {
					t.Errorf("%s %s answered %d, which the document does not list", r.Method, pattern, rec.status)
				}
				codes = op.ProblemCodes
			}
			if rec.code != "" && !slices.Contains(codes, rec.code) {
				t.Errorf("%s %s answered problem %q, which the document does not list for it", r.Method, pattern, rec.code)
			}
			if rec.status >= 400 && rec.code == "" {
				t.Errorf("%s %s answered %d without a problem body", r.Method, pattern, rec.status)
			}
		})
	}
}

// withRouteContext gives the request a chi route context, as web.ObserveAPI
// does in front of the API, so the conformance check reads the pattern
// whichever router matched it.
func withRouteContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, chi.NewRouteContext())))
	})
}

// recorder keeps the status and, for problem answers, the code.
type recorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if strings.HasPrefix(r.Header().Get("Content-Type"), "application/problem+json") && r.code == "" {
		var p problem.Problem
		if json.Unmarshal(b, &p) == nil {
			r.code = p.Code
		}
	}
	return r.ResponseWriter.Write(b)
}

func decode(resp *http.Response, out any) error { return json.NewDecoder(resp.Body).Decode(out) }
