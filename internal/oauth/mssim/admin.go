package mssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// adminRoutes is the JSON control API under /_sim/. It has no
// authentication: the sim is a test and demo tool bound to loopback.
//
//	GET    /_sim/counters                       snapshot {"token/refresh_token": 3, …}
//	GET    /_sim/counters?client_id=…           the same, for the requests made as one app registration
//	DELETE /_sim/apps/{clientId}/secrets        {"value"} removes that secret (Certificates & secrets › Delete)
//	DELETE /_sim/counters                       reset
//	GET    /_sim/directory                      tenants, users, apps (no secret values)
//	POST   /_sim/tenants                        Tenant
//	POST   /_sim/users                          User → the user with its object ID
//	POST   /_sim/apps                           App (secrets: [{"value","expires"}])
//	POST   /_sim/apps/{clientId}/secrets        Secret
//	POST   /_sim/tenants/{tenant}/consent       {"clientId","scopes":[…]} admin consent (no scopes: configured ones)
//	POST   /_sim/tenants/{tenant}/roles         {"clientId","roles":[…]} application roles (no roles: configured ones)
//	DELETE /_sim/tenants/{tenant}/consent/{clientId}
//	GET    /_sim/lifetimes, PUT /_sim/lifetimes {"accessMin":"60m","accessMax":"90m","appAccess","code","refreshInactive","idToken"}
//	GET    /_sim/clock, POST /_sim/clock/advance {"by":"91d"}
//	POST   /_sim/users/{user}/revoke            → AADSTS50173 on refresh
//	POST   /_sim/users/{user}/expire-grants     → AADSTS70008 on refresh
//	POST   /_sim/users/{user}/expire-idle       → AADSTS700082 on refresh (as if unused for 90 days)
//	PUT    /_sim/users/{user}/mfa               {"mode":"off"|"invalid_grant"|"interaction_required"} → AADSTS50076, suberror basic_action
//	PUT    /_sim/users/{user}/conditional-access {"policy":"off"|"block"|"managed_device"} → AADSTS53003 / 530003
//	PUT    /_sim/users/{user}/groups            {"groups":["<group object id>",…]} → the groups claim
//	PUT    /_sim/users/{user}/app-roles         {"clientId","roles":[…]} → the roles claim for that app
//	GET    /_sim/faults, POST /_sim/faults      fault (durations as strings) → {"id":n}
//	DELETE /_sim/faults, DELETE /_sim/faults/{id}
func (s *Sim) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		if id := r.URL.Query().Get("client_id"); id != "" {
			writeJSON(w, 200, s.CountsFor(id))
			return
		}
		writeJSON(w, 200, s.Counts())
	})
	mux.HandleFunc("DELETE /_sim/counters", func(w http.ResponseWriter, r *http.Request) { s.ResetCounts(); w.WriteHeader(204) })
	mux.HandleFunc("GET /_sim/directory", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.dir.listing()) })
	mux.HandleFunc("POST /_sim/tenants", adminCall(func(t Tenant) (any, error) { return nil, s.AddTenant(t) }))
	mux.HandleFunc("POST /_sim/users", adminCall(func(u User) (any, error) { return s.AddUser(u) }))
	mux.HandleFunc("POST /_sim/apps", adminCall(func(a App) (any, error) { return nil, s.RegisterApp(a) }))
	s.appStateRoutes(mux)
	s.ssoControlRoutes(mux)
	s.certRoutes(mux)
	mux.HandleFunc("DELETE /_sim/apps/{clientId}/secrets", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(sec Secret) (any, error) { return nil, s.RemoveSecret(r.PathValue("clientId"), sec.Value) })(w, r)
	})
	mux.HandleFunc("POST /_sim/apps/{clientId}/secrets", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(sec Secret) (any, error) { return nil, s.AddSecret(r.PathValue("clientId"), sec) })(w, r)
	})
	type grantReq struct {
		ClientID string   `json:"clientId"`
		Scopes   []string `json:"scopes"`
		Roles    []string `json:"roles"`
	}
	mux.HandleFunc("POST /_sim/tenants/{tenant}/consent", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(g grantReq) (any, error) {
			return nil, s.GrantAdminConsent(r.PathValue("tenant"), g.ClientID, g.Scopes...)
		})(w, r)
	})
	mux.HandleFunc("POST /_sim/tenants/{tenant}/roles", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(g grantReq) (any, error) {
			return nil, s.GrantAppRoles(r.PathValue("tenant"), g.ClientID, g.Roles...)
		})(w, r)
	})
	mux.HandleFunc("DELETE /_sim/tenants/{tenant}/consent/{clientId}", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.RevokeAdminConsent(r.PathValue("tenant"), r.PathValue("clientId")))
	})
	mux.HandleFunc("GET /_sim/lifetimes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, lifetimesJSON(s.Lifetimes())) })
	mux.HandleFunc("PUT /_sim/lifetimes", adminCall(func(l map[string]string) (any, error) {
		parsed, err := parseLifetimes(l)
		if err == nil {
			s.SetLifetimes(parsed)
		}
		return lifetimesJSON(s.Lifetimes()), err
	}))
	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"now": s.Now()}) })
	mux.HandleFunc("POST /_sim/clock/advance", adminCall(func(req struct{ By string }) (any, error) {
		d, err := parseDuration(req.By)
		if err == nil {
			s.Advance(d)
		}
		return map[string]any{"now": s.Now()}, err
	}))
	mux.HandleFunc("POST /_sim/users/{user}/revoke", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.RevokeUser(r.PathValue("user")))
	})
	mux.HandleFunc("POST /_sim/users/{user}/expire-grants", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.ExpireUserGrants(r.PathValue("user")))
	})
	mux.HandleFunc("POST /_sim/users/{user}/expire-idle", func(w http.ResponseWriter, r *http.Request) {
		adminResult(w, nil, s.ExpireIdleRefreshTokens(r.PathValue("user")))
	})
	mux.HandleFunc("PUT /_sim/users/{user}/mfa", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct{ Mode string }) (any, error) {
			modes := map[string]MFAMode{"off": MFAOff, "invalid_grant": MFAInvalidGrant, "interaction_required": MFAInteractionRequired}
			mode, ok := modes[req.Mode]
			if !ok {
				return nil, fmt.Errorf("mode must be off, invalid_grant or interaction_required")
			}
			return nil, s.RequireMFA(r.PathValue("user"), mode)
		})(w, r)
	})
	mux.HandleFunc("PUT /_sim/users/{user}/conditional-access", func(w http.ResponseWriter, r *http.Request) {
		adminCall(func(req struct{ Policy string }) (any, error) {
			p, ok := CAPolicies[req.Policy]
			if !ok {
				return nil, fmt.Errorf("policy must be off, block or managed_device")
			}
			return nil, s.SetConditionalAccess(r.PathValue("user"), p)
		})(w, r)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]faultJSON{}
		for id, f := range s.Faults() {
			out[strconv.Itoa(id)] = toFaultJSON(f)
		}
		writeJSON(w, 200, out)
	})
	mux.HandleFunc("POST /_sim/faults", adminCall(func(fj faultJSON) (any, error) {
		f, err := fj.fault()
		if err != nil {
			return nil, err
		}
		return map[string]int{"id": s.InjectFault(f)}, nil
	}))
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) { s.ClearFaults(); w.WriteHeader(204) })
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err == nil {
			s.ClearFault(id)
		}
		adminResult(w, nil, err)
	})
	return mux
}

// adminCall decodes the JSON body into T, calls f and writes its result.
func adminCall[T any](f func(T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in T
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "decoding body: " + err.Error()})
			return
		}
		out, err := f(in)
		adminResult(w, out, err)
	}
}

func adminResult(w http.ResponseWriter, out any, err error) {
	switch {
	case errors.Is(err, errExists):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case out == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// parseDuration accepts Go durations plus whole or fractional days ("91d").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	return time.ParseDuration(s)
}

var lifetimeFields = []string{"accessMin", "accessMax", "appAccess", "code", "refreshInactive", "idToken"}

func lifetimePtrs(l *Lifetimes) []*time.Duration {
	return []*time.Duration{&l.AccessMin, &l.AccessMax, &l.AppAccess, &l.Code, &l.RefreshInactive, &l.IDToken}
}

func lifetimesJSON(l Lifetimes) map[string]string {
	out := map[string]string{}
	for i, p := range lifetimePtrs(&l) {
		out[lifetimeFields[i]] = p.String()
	}
	return out
}

func parseLifetimes(in map[string]string) (Lifetimes, error) {
	var l Lifetimes
	ptrs := lifetimePtrs(&l)
	for i, name := range lifetimeFields {
		if v, ok := in[name]; ok {
			d, err := parseDuration(v)
			if err != nil {
				return Lifetimes{}, fmt.Errorf("%s: %w", name, err)
			}
			*ptrs[i] = d
		}
	}
	return l, nil
}
