package mssim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ConsumersTenantID is the tenant of every personal Microsoft account.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// Audience is an app registration's "supported account types".
type Audience string

const (
	AudienceMyOrg           Audience = "AzureADMyOrg"                       // its home tenant only
	AudienceMultipleOrgs    Audience = "AzureADMultipleOrgs"                // any work or school account
	AudienceOrgsAndPersonal Audience = "AzureADandPersonalMicrosoftAccount" // work, school and personal
	AudiencePersonal        Audience = "PersonalMicrosoftAccount"           // personal accounts only
)

// Tenant is a work or school directory.
type Tenant struct {
	ID      string   `json:"id"` // a GUID
	Name    string   `json:"name"`
	Domains []string `json:"domains"` // verified domains, e.g. contoso.onmicrosoft.com
	// AdminConsentRequired lists delegated scopes this tenant's users may not
	// consent to themselves: exact names ("Mail.Read.Shared") or name
	// suffixes (".Shared"). Catalog scopes such as User.Read.All are
	// admin-only everywhere.
	AdminConsentRequired []string `json:"adminConsentRequired,omitempty"`
	// FederatedDomains are verified domains whose users sign in at the
	// organisation's own identity provider (the IdP host), not at Microsoft.
	// Each must also be in Domains. An onmicrosoft.com domain cannot be
	// federated (https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-fed-management).
	FederatedDomains []string `json:"federatedDomains,omitempty"`
}

// User is an account in a tenant (a personal account lives in the consumers
// tenant).
type User struct {
	TenantID    string `json:"tenantId"` // tenant ID or verified domain
	ObjectID    string `json:"objectId"` // empty: generated
	UPN         string `json:"userPrincipalName"`
	DisplayName string `json:"displayName"`
	GivenName   string `json:"givenName,omitempty"`
	Surname     string `json:"surname,omitempty"`
	Mail        string `json:"mail,omitempty"`  // empty: the UPN
	Admin       bool   `json:"admin,omitempty"` // may consent for the whole tenant
}

// Secret is a client secret with its expiry date.
type Secret struct {
	Value   string    `json:"value"`
	Expires time.Time `json:"expires"`
}

// App is an app registration.
type App struct {
	ClientID     string   `json:"clientId"`
	Name         string   `json:"name"`
	HomeTenant   string   `json:"homeTenant"` // tenant ID or domain it is registered in
	Audience     Audience `json:"audience"`   // empty: AudienceMultipleOrgs
	RedirectURIs []string `json:"redirectUris,omitempty"`
	Secrets      []Secret `json:"secrets,omitempty"`
	Public       bool     `json:"public,omitempty"` // public client: no secret
	// RequirePKCE makes code_challenge (S256) mandatory at authorize. The
	// platform only insists for SPAs; the broker always sends it, and this
	// lets a test catch the day it stops.
	RequirePKCE bool `json:"requirePkce,omitempty"`
	// Scopes are the configured delegated permissions (what .default and
	// admin consent grant); AppPermissions the configured application ones.
	Scopes         []string `json:"scopes,omitempty"`
	AppPermissions []string `json:"appPermissions,omitempty"`
	// OptionalClaims are the id_token's optional claims ("auth_time");
	// GroupMembershipClaims the manifest's groupMembershipClaims ("None",
	// "SecurityGroup", "All"…); AppRoles the app role values it defines
	// (ssoclaims.go).
	OptionalClaims        []string `json:"optionalClaims,omitempty"`
	GroupMembershipClaims string   `json:"groupMembershipClaims,omitempty"`
	AppRoles              []string `json:"appRoles,omitempty"`
}

type tenant struct {
	id, name  string
	domains   []string
	personal  bool
	adminOnly []string
	federated []string // lowercase domains whose users sign in at the IdP
}

type user struct {
	User
	tenant *tenant
	// Grants whose sign-in came before these points of the sim's sequence
	// fail: revokedSeq with AADSTS50173, expiredSeq with 70008, mfaSeq with
	// 50076. A sequence, not a time, so a frozen test clock still orders a
	// sign-in after a revocation.
	revokedSeq, expiredSeq, mfaSeq atomic.Int64
	revokedAt                      atomic.Int64 // sim Unix nanos, for the 50173 message
	mfaInteraction                 atomic.Bool  // 50076 as interaction_required
	ca                             atomic.Int32 // CAPolicy in force (conditional.go)
	// Under the directory's lock (ssoclaims.go): group object IDs, and app
	// role values assigned per app (lowercase client ID).
	groups   []string
	appRoles map[string][]string
}

type secret struct {
	hash    [32]byte
	expires time.Time
}

type app struct {
	clientID, name string
	home           *tenant
	audience       Audience
	redirects      []string
	secrets        atomic.Pointer[[]secret]
	public, pkce   bool
	scopes, perms  scopeSet
	optional       []string // id_token optional claims
	groupClaims    string
	appRoles       []string
}

// directory holds tenants, users, apps and consents. Writes are rare (set-up
// and controls), reads are on every request: an RWMutex is plenty.
type directory struct {
	mu          sync.RWMutex
	tenants     map[string]*tenant // by lowercase ID and domain
	users       map[string]*user   // by lowercase UPN and object ID
	apps        map[string]*app    // by lowercase client ID
	adminGrants map[string]*tenantGrant
	consents    map[string]scopeSet // user OID|client ID → scopes the user consented to
}

func newDirectory() *directory {
	d := &directory{
		tenants: map[string]*tenant{}, users: map[string]*user{}, apps: map[string]*app{},
		adminGrants: map[string]*tenantGrant{}, consents: map[string]scopeSet{},
	}
	d.tenants[ConsumersTenantID] = &tenant{id: ConsumersTenantID, name: "Microsoft Accounts", personal: true}
	return d
}

var errExists = errors.New("mssim: already registered")

// AddTenant registers a work or school tenant.
func (s *Sim) AddTenant(t Tenant) error {
	if !isGUID(t.ID) {
		return fmt.Errorf("mssim: add tenant: id %q is not a GUID", t.ID)
	}
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	nt := &tenant{id: strings.ToLower(t.ID), name: t.Name, adminOnly: t.AdminConsentRequired}
	keys := []string{nt.id}
	for _, dom := range t.Domains {
		nt.domains = append(nt.domains, strings.ToLower(dom))
		keys = append(keys, strings.ToLower(dom))
	}
	for _, dom := range t.FederatedDomains {
		dom = strings.ToLower(dom)
		if !slices.Contains(nt.domains, dom) || strings.HasSuffix(dom, ".onmicrosoft.com") {
			return fmt.Errorf("mssim: add tenant %s: %q cannot be federated: not one of its domains, or an onmicrosoft.com domain", nt.id, dom)
		}
		nt.federated = append(nt.federated, dom)
	}
	for _, k := range keys {
		if _, ok := d.tenants[k]; ok {
			return fmt.Errorf("mssim: add tenant %s: %w", k, errExists)
		}
	}
	for _, k := range keys {
		d.tenants[k] = nt
	}
	return nil
}

// AddUser registers a user and returns it with its object ID filled in.
func (s *Sim) AddUser(u User) (User, error) {
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenants[strings.ToLower(u.TenantID)]
	if t == nil {
		return User{}, fmt.Errorf("mssim: add user %s: unknown tenant %q", u.UPN, u.TenantID)
	}
	if u.UPN == "" {
		return User{}, errors.New("mssim: add user: empty UPN")
	}
	if u.ObjectID == "" {
		u.ObjectID = newGUID()
		if t.personal { // personal accounts' object IDs start with zeros
			u.ObjectID = "00000000-0000-0000-" + u.ObjectID[19:]
		}
	}
	u.ObjectID = strings.ToLower(u.ObjectID)
	u.TenantID = t.id
	if u.Mail == "" {
		u.Mail = u.UPN
	}
	for _, k := range []string{strings.ToLower(u.UPN), u.ObjectID} {
		if _, ok := d.users[k]; ok {
			return User{}, fmt.Errorf("mssim: add user %s: %w", k, errExists)
		}
	}
	nu := &user{User: u, tenant: t}
	d.users[strings.ToLower(u.UPN)] = nu
	d.users[u.ObjectID] = nu
	return u, nil
}

// RegisterApp registers an app. Scopes and AppPermissions must be catalog
// names.
func (s *Sim) RegisterApp(a App) error {
	if a.ClientID == "" {
		return errors.New("mssim: register app: empty client ID")
	}
	scopes, err := catalogSet(a.Scopes, func(p perm) bool { return p.delegated })
	if err != nil {
		return fmt.Errorf("mssim: register app %s: %w", a.ClientID, err)
	}
	perms, err := catalogSet(a.AppPermissions, func(p perm) bool { return p.application })
	if err != nil {
		return fmt.Errorf("mssim: register app %s: %w", a.ClientID, err)
	}
	d := s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	home := d.tenants[strings.ToLower(a.HomeTenant)]
	if home == nil {
		return fmt.Errorf("mssim: register app %s: unknown home tenant %q", a.ClientID, a.HomeTenant)
	}
	id := strings.ToLower(a.ClientID)
	if _, ok := d.apps[id]; ok {
		return fmt.Errorf("mssim: register app %s: %w", id, errExists)
	}
	if a.Audience == "" {
		a.Audience = AudienceMultipleOrgs
	}
	na := &app{clientID: a.ClientID, name: a.Name, home: home, audience: a.Audience,
		redirects: append([]string(nil), a.RedirectURIs...), public: a.Public, pkce: a.RequirePKCE,
		scopes: scopes, perms: perms, optional: slices.Clone(a.OptionalClaims), groupClaims: a.GroupMembershipClaims,
		appRoles: slices.Clone(a.AppRoles)}
	secs := make([]secret, 0, len(a.Secrets))
	for _, sec := range a.Secrets {
		secs = append(secs, secret{hash: sha256.Sum256([]byte(sec.Value)), expires: sec.Expires})
	}
	na.secrets.Store(&secs)
	d.apps[id] = na
	return nil
}

// AddSecret adds a client secret to a registered app.
func (s *Sim) AddSecret(clientID string, sec Secret) error {
	a := s.dir.app(clientID)
	if a == nil {
		return fmt.Errorf("mssim: add secret: unknown app %q", clientID)
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	secs := append(append([]secret(nil), *a.secrets.Load()...),
		secret{hash: sha256.Sum256([]byte(sec.Value)), expires: sec.Expires})
	a.secrets.Store(&secs)
	return nil
}

// RemoveSecret deletes one client secret of an app, as an admin deletes
// it under Certificates & secrets: from then on it is refused with
// AADSTS7000215, like any value the app does not hold ("Microsoft Entra
// authentication and authorization error codes",
// learn.microsoft.com/entra/identity-platform/reference-error-codes).
func (s *Sim) RemoveSecret(clientID, value string) error {
	a := s.dir.app(clientID)
	if a == nil {
		return fmt.Errorf("mssim: remove secret: unknown app %q", clientID)
	}
	sum := sha256.Sum256([]byte(value))
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	old := *a.secrets.Load()
	secs := make([]secret, 0, len(old))
	for _, sec := range old {
		if sec.hash != sum {
			secs = append(secs, sec)
		}
	}
	if len(secs) == len(old) {
		return fmt.Errorf("mssim: remove secret: app %q has no such secret", clientID)
	}
	a.secrets.Store(&secs)
	return nil
}

func catalogSet(names []string, ok func(perm) bool) (scopeSet, error) {
	var set scopeSet
	for _, n := range names {
		bit, p, found := lookupPerm(n)
		if !found || !ok(p) {
			return 0, fmt.Errorf("permission %q not in the catalog", n)
		}
		set |= bit
	}
	return set, nil
}

func (d *directory) tenant(ref string) *tenant {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.tenants[strings.ToLower(ref)]
}

// user finds a user by UPN or object ID.
func (d *directory) user(ref string) *user {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.users[strings.ToLower(ref)]
}

func (d *directory) app(clientID string) *app {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.apps[strings.ToLower(clientID)]
}

func (s *Sim) mustUser(ref string) (*user, error) {
	u := s.dir.user(ref)
	if u == nil {
		return nil, fmt.Errorf("mssim: unknown user %q", ref)
	}
	return u, nil
}
