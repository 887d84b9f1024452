package mssim

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// restarted builds a new sim from the state file, as a restarted process
// would, and serves it.
func restarted(t *testing.T, path string) *testEnv {
	t.Helper()
	key, err := LoadSigningKey(path)
	if err != nil || key == nil {
		t.Fatalf("signing key: %v, %v", key, err)
	}
	sim := New(Options{Now: func() time.Time { return testStart }, SigningKey: key})
	if ok, err := sim.LoadState(path); !ok || err != nil {
		t.Fatalf("load state: %v %v", ok, err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, sim: sim, srv: srv}
}

func TestStateSurvivesRestart(t *testing.T) {
	e := newTestEnv(t)
	path := filepath.Join(t.TempDir(), "sim.json")
	tr := e.redeem("common", e.demo.Adele.UPN, nil)
	patTr := e.redeem("consumers", e.demo.Pat.UPN, nil)
	if err := e.sim.RevokeUser(e.demo.Alex.UPN); err != nil {
		t.Fatal(err)
	}
	alexTr := e.redeem("common", e.demo.Alex.UPN, nil) // signed in after the revocation: fine
	if err := e.sim.SaveState(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}

	e2 := restarted(t, path)
	e2.demo = e.demo
	for _, c := range []struct{ tenant, rt string }{{"common", tr.RefreshToken}, {"consumers", patTr.RefreshToken}, {"common", alexTr.RefreshToken}} {
		r := e2.refresh(c.tenant, c.rt)
		if r.status != 200 || r.ok.RefreshToken == "" {
			t.Fatalf("refresh after restart on %s: HTTP %d %+v", c.tenant, r.status, r.err)
		}
	}
	// The access token issued before the restart still opens Graph.
	if status, _, _ := e2.graphGet("/v1.0/me", tr.AccessToken); status != 200 {
		t.Fatalf("Graph with an old access token: HTTP %d", status)
	}
	// The daemon app's secret (kept as a hash) still works, and a wrong one does not.
	ok := e2.postToken(e.demo.Contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
		"client_secret": {DemoDaemonClientSecret}, "scope": {GraphResource + "/.default"}})
	bad := e2.postToken(e.demo.Contoso.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoDaemonClientID},
		"client_secret": {"wrong"}, "scope": {GraphResource + "/.default"}})
	if ok.status != 200 || bad.status != 401 {
		t.Fatalf("client credentials after restart: %d, wrong secret %d", ok.status, bad.status)
	}
	// An unknown token is still unknown.
	if r := e2.refresh("common", "not-a-token"); r.status != 400 {
		t.Fatalf("unknown refresh token: HTTP %d", r.status)
	}
	// A revocation made after the restart still applies to old grants.
	if err := e2.sim.RevokeUser(e.demo.Adele.UPN); err != nil {
		t.Fatal(err)
	}
	wantTokenError(t, e2.refresh("common", tr.RefreshToken), 400, "invalid_grant", 50173)
}

func TestStateMissingFileStartsFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.json")
	if k, err := LoadSigningKey(path); k != nil || err != nil {
		t.Fatalf("%v %v", k, err)
	}
	if ok, err := New(Options{}).LoadState(path); ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{}).LoadState(path); err == nil {
		t.Fatal("a corrupt state file loaded")
	}
}
