package mssim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The sim's state can be saved to and loaded from a file, so that a demo
// restarted with the same file (`simulate-microsoft --state FILE`, `broker
// demo`) still honours every refresh token it issued: Microsoft does not
// forget a grant because a server restarted. Saved: the signing key (so
// id_tokens already issued still verify), tenants, users and their
// revocations, apps with their secrets' hashes, consents, grants, refresh
// and access tokens, lifetimes and the clock offset. Not saved: sign-in
// pages in progress, authorization codes (10 minutes) and injected faults.
//
// The file holds live (simulated) tokens: it is written 0600, atomically,
// and no token value is ever logged.

const stateVersion = 1

type stateFile struct {
	Version     int                   `json:"version"`
	SavedAt     time.Time             `json:"savedAt"`
	Offset      int64                 `json:"clockOffsetNanos"`
	Seq         int64                 `json:"seq"`
	Lifetimes   Lifetimes             `json:"lifetimes"`
	SigningKey  []byte                `json:"signingKeyPkcs8"`
	Tenants     []Tenant              `json:"tenants"`
	Users       []stateUser           `json:"users"`
	Apps        []stateApp            `json:"apps"`
	AdminGrants map[string][2]string  `json:"adminGrants"` // tenant|client → delegated, roles
	Consents    map[string]string     `json:"consents"`    // user OID|client → scopes
	Grants      []stateGrant          `json:"grants"`
	Refresh     map[string]stateToken `json:"refreshTokens"`
	Access      map[string]stateToken `json:"accessTokens"`
}

type stateUser struct {
	User
	RevokedSeq, ExpiredSeq, MFASeq, RevokedAt int64
	MFAInteraction                            bool
	CA                                        int32
}

type stateSecret struct {
	Hash    []byte    `json:"sha256"`
	Expires time.Time `json:"expires"`
}

type stateApp struct {
	App
	SecretHashes []stateSecret `json:"secretHashes"`
	Certificates [][]byte      `json:"certificatesDer,omitempty"` // public certificates uploaded (certs.go)
	ScopeSet     string        `json:"scopeSet"`
	PermSet      string        `json:"permSet"`
}

type stateGrant struct {
	App      string    `json:"app"`
	User     string    `json:"user"` // object ID
	Scopes   string    `json:"scopes"`
	AuthSeq  int64     `json:"authSeq"`
	AuthTime time.Time `json:"authTime"`
}

// stateToken is a refresh token (Grant set) or an access token.
type stateToken struct {
	Grant    int    `json:"grant,omitempty"`
	Issued   int64  `json:"issued,omitempty"`
	LastUsed int64  `json:"lastUsed,omitempty"`
	App      string `json:"app,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	User     string `json:"user,omitempty"`
	Scopes   string `json:"scopes,omitempty"`
	Roles    string `json:"roles,omitempty"`
	Expires  int64  `json:"expires,omitempty"`
}

// setNames writes a set as catalog names, which survive a reordered catalog.
func setNames(s scopeSet) string {
	var out []string
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, catalog[bits.TrailingZeros64(v)].name)
	}
	return strings.Join(out, " ")
}

func namesSet(s string) (scopeSet, error) {
	var set scopeSet
	for _, n := range strings.Fields(s) {
		b, _, ok := lookupPerm(n)
		if !ok {
			return 0, fmt.Errorf("unknown permission %q", n)
		}
		set |= b
	}
	return set, nil
}

// SaveState writes the sim's state to path (atomically, mode 0600).
func (s *Sim) SaveState(path string) error {
	st, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("mssim: save state: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("mssim: save state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mssim-state-*")
	if err != nil {
		return fmt.Errorf("mssim: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("mssim: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mssim: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("mssim: save state: %w", err)
	}
	return nil
}

func (s *Sim) snapshot() (*stateFile, error) {
	key, err := x509.MarshalPKCS8PrivateKey(s.keys.key)
	if err != nil {
		return nil, err
	}
	st := &stateFile{Version: stateVersion, SavedAt: time.Now().UTC(), Offset: s.offset.Load(), Seq: s.seq.Load(),
		Lifetimes: s.Lifetimes(), SigningKey: key, AdminGrants: map[string][2]string{}, Consents: map[string]string{},
		Refresh: map[string]stateToken{}, Access: map[string]stateToken{}}
	d := s.dir
	d.mu.RLock()
	seen := map[any]bool{}
	for _, t := range d.tenants {
		if seen[t] || t.personal {
			continue
		}
		seen[t] = true
		st.Tenants = append(st.Tenants, Tenant{ID: t.id, Name: t.name, Domains: t.domains,
			FederatedDomains: t.federated, AdminConsentRequired: t.adminOnly})
	}
	for _, u := range d.users {
		if seen[u] {
			continue
		}
		seen[u] = true
		st.Users = append(st.Users, stateUser{User: u.User, RevokedSeq: u.revokedSeq.Load(), ExpiredSeq: u.expiredSeq.Load(),
			MFASeq: u.mfaSeq.Load(), RevokedAt: u.revokedAt.Load(), MFAInteraction: u.mfaInteraction.Load(), CA: u.ca.Load()})
	}
	for _, a := range d.apps {
		sa := stateApp{App: App{ClientID: a.clientID, Name: a.name, HomeTenant: a.home.id, Audience: a.audience,
			RedirectURIs: a.redirects, Public: a.public, RequirePKCE: a.pkce,
			OptionalClaims: a.optional, GroupMembershipClaims: a.groupClaims, AppRoles: a.appRoles}, ScopeSet: setNames(a.scopes), PermSet: setNames(a.perms)}
		for _, sec := range *a.secrets.Load() {
			sa.SecretHashes = append(sa.SecretHashes, stateSecret{Hash: append([]byte(nil), sec.hash[:]...), Expires: sec.expires})
		}
		sa.Certificates = s.certs.ders(a.clientID)
		st.Apps = append(st.Apps, sa)
	}
	for k, g := range d.adminGrants {
		st.AdminGrants[k] = [2]string{setNames(g.delegated), setNames(g.roles)}
	}
	for k, v := range d.consents {
		st.Consents[k] = setNames(v)
	}
	d.mu.RUnlock()

	grants := map[*grant]int{}
	s.refresh.each(func(tok string, rt *refreshToken) {
		i, ok := grants[rt.g]
		if !ok {
			i = len(st.Grants) + 1 // 0 means "no grant"
			grants[rt.g] = i
			st.Grants = append(st.Grants, stateGrant{App: rt.g.app.clientID, User: rt.g.user.ObjectID,
				Scopes: setNames(rt.g.scopes), AuthSeq: rt.g.authSeq, AuthTime: rt.g.authTime})
		}
		st.Refresh[tok] = stateToken{Grant: i, Issued: rt.issued, LastUsed: rt.lastUsed.Load()}
	})
	s.access.each(func(tok string, at *accessToken) {
		t := stateToken{App: at.app.clientID, Tenant: at.tenant.id, Scopes: setNames(at.scopes), Roles: setNames(at.roles), Expires: at.expires}
		if at.user != nil {
			t.User = at.user.ObjectID
		}
		st.Access[tok] = t
	})
	return st, nil
}

// LoadSigningKey reads only the signing key from a state file, so a Sim can
// be built with it (Options.SigningKey) before LoadState. A missing file is
// (nil, nil): start fresh.
func LoadSigningKey(path string) (*rsa.PrivateKey, error) {
	st, err := readState(path)
	if err != nil || st == nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(st.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("mssim: load state: signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("mssim: load state: signing key is not RSA")
	}
	return rk, nil
}

func readState(path string) (*stateFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mssim: load state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("mssim: load state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("mssim: load state %s: version %d, want %d", path, st.Version, stateVersion)
	}
	return &st, nil
}

// LoadState restores a state file into a new, empty Sim (built with the
// file's key: LoadSigningKey). It reports false, and changes nothing, when
// the file does not exist.
func (s *Sim) LoadState(path string) (bool, error) {
	st, err := readState(path)
	if err != nil || st == nil {
		return false, err
	}
	if err := s.restore(st); err != nil {
		return false, fmt.Errorf("mssim: load state %s: %w", path, err)
	}
	return true, nil
}

func (s *Sim) restore(st *stateFile) error {
	s.offset.Store(st.Offset)
	s.seq.Store(st.Seq)
	s.SetLifetimes(st.Lifetimes)
	for _, t := range st.Tenants {
		if err := s.AddTenant(t); err != nil {
			return err
		}
	}
	for _, su := range st.Users {
		if _, err := s.AddUser(su.User); err != nil {
			return err
		}
		u := s.dir.user(su.ObjectID)
		u.revokedSeq.Store(su.RevokedSeq)
		u.expiredSeq.Store(su.ExpiredSeq)
		u.mfaSeq.Store(su.MFASeq)
		u.revokedAt.Store(su.RevokedAt)
		u.mfaInteraction.Store(su.MFAInteraction)
		u.ca.Store(su.CA)
	}
	for _, sa := range st.Apps {
		app := sa.App
		if err := s.RegisterApp(app); err != nil {
			return err
		}
		a := s.dir.app(app.ClientID)
		var err error
		if a.scopes, err = namesSet(sa.ScopeSet); err != nil {
			return err
		}
		if a.perms, err = namesSet(sa.PermSet); err != nil {
			return err
		}
		secs := make([]secret, 0, len(sa.SecretHashes))
		for _, h := range sa.SecretHashes {
			var sec secret
			copy(sec.hash[:], h.Hash)
			sec.expires = h.Expires
			secs = append(secs, sec)
		}
		a.secrets.Store(&secs)
		for _, der := range sa.Certificates {
			if err := s.AddCertificate(app.ClientID, der); err != nil {
				return err
			}
		}
	}
	d := s.dir
	d.mu.Lock()
	for k, v := range st.AdminGrants {
		del, err1 := namesSet(v[0])
		roles, err2 := namesSet(v[1])
		if err := errors.Join(err1, err2); err != nil {
			d.mu.Unlock()
			return err
		}
		d.adminGrants[k] = &tenantGrant{delegated: del, roles: roles}
	}
	for k, v := range st.Consents {
		set, err := namesSet(v)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.consents[k] = set
	}
	d.mu.Unlock()

	grants := make([]*grant, len(st.Grants)+1)
	for i, sg := range st.Grants {
		a, u := s.dir.app(sg.App), s.dir.user(sg.User)
		set, err := namesSet(sg.Scopes)
		if a == nil || u == nil || err != nil {
			return fmt.Errorf("grant %d: unknown app or user, or %w", i, err)
		}
		grants[i+1] = &grant{app: a, user: u, scopes: set, authSeq: sg.AuthSeq, authTime: sg.AuthTime}
	}
	now := s.Now().UnixNano()
	for tok, t := range st.Refresh {
		if t.Grant <= 0 || t.Grant >= len(grants) {
			return fmt.Errorf("refresh token: grant %d out of range", t.Grant)
		}
		rt := &refreshToken{g: grants[t.Grant], issued: t.Issued}
		rt.lastUsed.Store(t.LastUsed)
		s.refresh.put(tok, rt, now)
	}
	for tok, t := range st.Access {
		at := &accessToken{app: s.dir.app(t.App), tenant: s.dir.tenant(t.Tenant), expires: t.Expires}
		if t.User != "" {
			at.user = s.dir.user(t.User)
		}
		var err1, err2 error
		at.scopes, err1 = namesSet(t.Scopes)
		at.roles, err2 = namesSet(t.Roles)
		if at.app == nil || at.tenant == nil || (t.User != "" && at.user == nil) || errors.Join(err1, err2) != nil {
			return errors.New("access token: unknown app, tenant or user")
		}
		s.access.put(tok, at, now)
	}
	return nil
}
