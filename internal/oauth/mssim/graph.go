package mssim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// GraphErrorBody is Graph's error body.
type GraphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

type graphErr struct {
	status        int
	code, message string
}

var (
	errGraphNoToken   = &graphErr{401, "InvalidAuthenticationToken", "Access token is empty."}
	errGraphBadToken  = &graphErr{401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.)."}
	errGraphExpired   = &graphErr{401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."}
	errGraphMeAppOnly = &graphErr{400, "BadRequest", "/me request is only valid with delegated authentication flow."}
	errGraphDenied    = &graphErr{403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}
	errGraphMailDeny  = &graphErr{403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."}
	errGraphNoRoute   = &graphErr{400, "BadRequest", "Resource not found for the segment."}
)

// graphRequest is a parsed Graph path: /me[/…] or /users/{ref}[/…].
type graphRequest struct {
	me   bool
	ref  string // user ID or UPN when !me
	rest string // "", "mailFolders/inbox", "messages"
	kind string // counter key: me, users, mailFolders, messages, other
}

// parseGraphPath understands /users/{id|upn}, /users('{upn}') (the form a
// UPN starting with $ needs) and /me, each optionally followed by
// /mailFolders/inbox or /messages.
func parseGraphPath(escaped string) (graphRequest, bool) {
	var segs []string
	for _, seg := range strings.Split(strings.TrimPrefix(escaped, "/v1.0/"), "/") {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return graphRequest{kind: "other"}, false
		}
		segs = append(segs, v)
	}
	var g graphRequest
	switch {
	case len(segs) >= 1 && strings.EqualFold(segs[0], "me"):
		g.me, segs = true, segs[1:]
	case len(segs) >= 1 && strings.HasPrefix(strings.ToLower(segs[0]), "users(") && strings.HasSuffix(segs[0], ")"):
		g.ref = strings.Trim(segs[0][len("users("):len(segs[0])-1], "'")
		segs = segs[1:]
	case len(segs) >= 2 && strings.EqualFold(segs[0], "users") && segs[1] != "":
		g.ref, segs = segs[1], segs[2:]
	default:
		return graphRequest{kind: "other"}, false
	}
	g.rest = strings.ToLower(strings.Join(segs, "/"))
	switch g.rest {
	case "":
		g.kind = "users"
		if g.me {
			g.kind = "me"
		}
	case "mailfolders/inbox":
		g.kind = "mailFolders"
	case "messages":
		g.kind = "messages"
	default:
		return graphRequest{kind: "other"}, false
	}
	return g, true
}

// serveGraph is Graph v1.0. Every call checks the bearer token, its expiry
// and its scopes (delegated) or roles (application).
func (s *Sim) serveGraph(w http.ResponseWriter, r *http.Request) {
	g, ok := parseGraphPath(r.URL.EscapedPath())
	s.counts.inc(EndpointGraph, g.kind)
	at, gerr := s.graphToken(r)
	if s.faults.enabled() {
		var clientID string
		var u *user
		if at != nil {
			clientID, u = at.app.clientID, at.user
		}
		if f, hit := s.faults.match(EndpointGraph, g.kind, clientID, u); hit {
			f.wait(r.Context())
			if f.failing() {
				s.writeGraphFault(w, r, f)
				return
			}
		}
	}
	switch {
	case gerr != nil:
		s.writeGraphError(w, r, gerr)
	case r.Method != http.MethodGet:
		s.writeGraphError(w, r, &graphErr{405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."})
	case !ok:
		s.writeGraphError(w, r, errGraphNoRoute)
	case g.me && at.user == nil:
		s.writeGraphError(w, r, errGraphMeAppOnly)
	case g.rest == "":
		s.graphUser(w, r, at, g)
	default:
		s.graphMailbox(w, r, at, g)
	}
}

// graphToken finds the bearer token; Graph's tokens are opaque to clients,
// so it is a lookup, not a signature check.
func (s *Sim) graphToken(r *http.Request) (*accessToken, *graphErr) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") || strings.TrimSpace(h[7:]) == "" {
		return nil, errGraphNoToken
	}
	at, ok := s.access.get(strings.TrimSpace(h[7:]))
	if !ok {
		return nil, errGraphBadToken
	}
	if s.Now().UnixNano() >= at.expires {
		return at, errGraphExpired
	}
	return at, nil
}

func (s *Sim) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphErr) {
	var body GraphErrorBody
	body.Error.Code, body.Error.Message = e.code, e.message
	body.Error.InnerError.Date = s.Now().UTC().Format("2006-01-02T15:04:05")
	body.Error.InnerError.RequestID = newGUID()
	body.Error.InnerError.ClientRequestID = r.Header.Get("client-request-id")
	if body.Error.InnerError.ClientRequestID == "" {
		body.Error.InnerError.ClientRequestID = body.Error.InnerError.RequestID
	}
	h := w.Header()
	h.Set("request-id", body.Error.InnerError.RequestID)
	h.Set("client-request-id", body.Error.InnerError.ClientRequestID)
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.loginBase(r)+`/common/oauth2/authorize", client_id="`+graphAppID+`"`)
	}
	writeGraphJSON(w, e.status, body)
}

func (s *Sim) writeGraphFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Body != "" {
		f.writeRaw(w)
		return
	}
	status, code, msg := f.Status, f.Error, f.Message
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if code == "" {
		code = map[int]string{429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
			503: "ServiceNotAvailable", 504: "GatewayTimeout"}[status]
		if code == "" {
			code = "UnknownError"
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	f.setRetryAfter(w, status)
	s.writeGraphError(w, r, &graphErr{status, code, msg})
}

func writeGraphJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
