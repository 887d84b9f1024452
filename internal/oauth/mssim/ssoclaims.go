package mssim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Claims for signing people in to an app (the broker's own SSO): auth_time,
// groups and roles. Each is in an id_token only when the app registration
// asks for it, as in Entra:
//
//   - auth_time is an optional claim ("Optional claims reference",
//     https://learn.microsoft.com/entra/identity-platform/optional-claims-reference):
//     App.OptionalClaims must list it. Its value is the last time the person
//     entered credentials (a refresh keeps the original time).
//   - groups needs the app's groupMembershipClaims ("SecurityGroup", "All"…;
//     https://learn.microsoft.com/entra/identity-platform/reference-app-manifest#groupmembershipclaims-attribute)
//     and holds group object IDs. Over 200 groups in a JWT, the claim is left
//     out and an overage claim (_claim_names / _claim_sources) points at Graph
//     instead ("ID token claims reference", groups and groups:src1,
//     https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
//   - roles lists the app roles (values defined on the app) assigned to the
//     user for this app; absent when none is
//     (https://learn.microsoft.com/entra/identity-platform/howto-add-app-roles-in-apps).

// groupOverageLimit is the most groups a JWT carries before the overage claim.
const groupOverageLimit = 200

// SetUserGroups sets the groups (object IDs) the user is a member of.
func (s *Sim) SetUserGroups(ref string, groups []string) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if !isGUID(g) {
			return fmt.Errorf("mssim: set groups of %s: %q is not a group object ID", u.UPN, g)
		}
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u.groups = slices.Clone(groups)
	return nil
}

// AssignAppRoles assigns app roles of clientID's app to the user, replacing
// earlier assignments for that app. Each must be a value the app defines.
func (s *Sim) AssignAppRoles(ref, clientID string, roles []string) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	a := s.dir.app(clientID)
	if a == nil {
		return fmt.Errorf("mssim: assign app roles: unknown app %q", clientID)
	}
	for _, r := range roles {
		if !slices.Contains(a.appRoles, r) {
			return fmt.Errorf("mssim: assign app roles: %q is not an app role of %s", r, a.clientID)
		}
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	if u.appRoles == nil {
		u.appRoles = map[string][]string{}
	}
	u.appRoles[strings.ToLower(a.clientID)] = slices.Clone(roles)
	return nil
}

// signInClaims are the claims g's id_token carries beyond the standard ones.
func (s *Sim) signInClaims(g *grant) map[string]any {
	out := map[string]any{}
	a, u := g.app, g.user
	if slices.Contains(a.optional, "auth_time") {
		out["auth_time"] = g.authTime.Unix()
	}
	s.dir.mu.RLock()
	groups := slices.Clone(u.groups)
	roles := slices.Clone(u.appRoles[strings.ToLower(a.clientID)])
	s.dir.mu.RUnlock()
	if a.groupClaims != "" && a.groupClaims != "None" && len(groups) > 0 {
		if len(groups) > groupOverageLimit {
			out["_claim_names"] = map[string]string{"groups": "src1"}
			out["_claim_sources"] = map[string]any{"src1": map[string]string{
				"endpoint": "https://graph.microsoft.com/v1.0/users/" + u.ObjectID + "/getMemberObjects"}}
		} else {
			out["groups"] = groups
		}
	}
	if len(roles) > 0 {
		out["roles"] = roles
	}
	return out
}

// maxAge parses the authorize request's max_age: seconds, a non-negative
// integer (OpenID Connect Core 3.1.2.1, which the platform's OIDC page
// follows: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc).
func parseMaxAge(v string) (time.Duration, bool, *aadError) {
	if v == "" {
		return 0, false, nil
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > 1<<40 {
			return 0, false, newErr(400, "invalid_request", 90100, "The parameter 'max_age' is empty or not valid.")
		}
		n = n*10 + int64(c-'0')
	}
	return time.Duration(n) * time.Second, true, nil
}

func (s *Sim) ssoControlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /_sim/users/{user}/groups", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct{ Groups []string }) (any, error) {
			return nil, s.SetUserGroups(r.PathValue("user"), req.Groups)
		})(w, r)
	})
	mux.HandleFunc("PUT /_sim/users/{user}/app-roles", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct {
			ClientID string
			Roles    []string
		}) (any, error) {
			return nil, s.AssignAppRoles(r.PathValue("user"), req.ClientID, req.Roles)
		})(w, r)
	})
}
