package mssim

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The Outlook mail part of Graph that the broker's proxy is tested against:
// listing and reading messages, their attachments (a download of
// configurable size, streamed), sending mail and $batch. Routes this file
// does not know fall through to serveGraph.

// Graph kinds for Count and Fault.Grant, beside those of graph.go.
const (
	GraphAttachments = "attachments" // …/messages/{id}/attachments[/{id}[/$value]]
	GraphSendMail    = "sendMail"    // POST …/sendMail
	GraphBatch       = "batch"       // POST /v1.0/$batch
)

// DefaultAttachmentSize is the size of the welcome message's attachment
// until SetAttachmentSize changes it.
const DefaultAttachmentSize = 1 << 20

// mailboxConcurrency is Outlook's limit of concurrent requests per app and
// mailbox; the next one is throttled with 429.
// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
const mailboxConcurrency = 4

// mailState is every simulated mailbox; its zero value is empty.
type mailState struct {
	mu             sync.Mutex
	attachmentSize int64                    // 0: DefaultAttachmentSize
	sent           map[string][]sentMessage // user object ID → messages sent, oldest first
	inflight       map[string]int           // client ID + "/" + user object ID → requests being served
	maxInflight    map[string]int           // the highest inflight seen, for tests
}

type sentMessage struct {
	id, subject string
	to          []string
	at          time.Time
}

// SetAttachmentSize sets the size in bytes of the welcome message's
// attachment, e.g. 50 MB to test that a proxy streams.
func (s *Sim) SetAttachmentSize(n int64) {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	s.mail.attachmentSize = n
}

func (s *Sim) attachmentSize() int64 {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	if s.mail.attachmentSize <= 0 {
		return DefaultAttachmentSize
	}
	return s.mail.attachmentSize
}

// MaxMailboxConcurrency is the most requests the app clientID had in flight
// at once against the user's mailbox (UPN or object ID).
func (s *Sim) MaxMailboxConcurrency(clientID, ref string) int {
	u := s.dir.user(ref)
	if u == nil {
		return 0
	}
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	return s.mail.maxInflight[strings.ToLower(clientID)+"/"+u.ObjectID]
}

// Sent lists the subjects of the mail a user sent, oldest first.
func (s *Sim) Sent(ref string) []string {
	u := s.dir.user(ref)
	if u == nil {
		return nil
	}
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	var out []string
	for _, m := range s.mail.sent[u.ObjectID] {
		out = append(out, m.subject)
	}
	return out
}

// RevokeAccessTokens makes Graph refuse every access token issued for the
// user so far, as it does once a token is revoked (continuous access
// evaluation) or was never valid: 401 InvalidAuthenticationToken. It returns
// how many tokens it revoked.
// https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-continuous-access-evaluation
func (s *Sim) RevokeAccessTokens(ref string) int {
	u := s.dir.user(ref)
	if u == nil {
		return 0
	}
	var gone []string
	s.access.each(func(tok string, at *accessToken) {
		if at.user == u {
			gone = append(gone, tok)
		}
	})
	for _, tok := range gone {
		s.access.del(tok)
	}
	return len(gone)
}

// enter counts a request against the app's concurrency in a mailbox; ok is
// false when it is over Outlook's limit. leave must follow an ok enter.
func (m *mailState) enter(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inflight == nil {
		m.inflight, m.maxInflight = map[string]int{}, map[string]int{}
	}
	if m.inflight[key] >= mailboxConcurrency {
		return false
	}
	m.inflight[key]++
	m.maxInflight[key] = max(m.maxInflight[key], m.inflight[key])
	return true
}

func (m *mailState) leave(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight[key]--
}

// mailRoute is a parsed Outlook mail path.
type mailRoute struct {
	kind       string       // messages, attachments, sendMail, batch
	g          graphRequest // the mailbox owner (me or a user)
	message    string       // message ID, "" for the list
	attachment string       // attachment ID
	value      bool         // …/$value: the attachment's bytes
}

// parseMailPath recognises the paths this file serves.
func parseMailPath(escaped string) (mailRoute, bool) {
	rest, ok := strings.CutPrefix(escaped, "/v1.0/")
	if !ok {
		return mailRoute{}, false
	}
	if rest == "$batch" {
		return mailRoute{kind: GraphBatch}, true
	}
	var segs []string
	for _, seg := range strings.Split(rest, "/") {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return mailRoute{}, false
		}
		segs = append(segs, v)
	}
	var m mailRoute
	switch {
	case len(segs) >= 1 && strings.EqualFold(segs[0], "me"):
		m.g.me, segs = true, segs[1:]
	case len(segs) >= 1 && strings.HasPrefix(strings.ToLower(segs[0]), "users(") && strings.HasSuffix(segs[0], ")"):
		m.g.ref, segs = strings.Trim(segs[0][len("users("):len(segs[0])-1], "'"), segs[1:]
	case len(segs) >= 2 && strings.EqualFold(segs[0], "users") && segs[1] != "":
		m.g.ref, segs = segs[1], segs[2:]
	default:
		return mailRoute{}, false
	}
	is := func(i int, name string) bool { return len(segs) > i && strings.EqualFold(segs[i], name) }
	switch {
	case len(segs) == 1 && is(0, "sendMail"):
		m.kind = GraphSendMail
	case len(segs) == 1 && is(0, "messages"):
		m.kind = "messages"
	case len(segs) == 2 && is(0, "messages") && segs[1] != "":
		m.kind, m.message = "messages", segs[1]
	case len(segs) >= 3 && len(segs) <= 5 && is(0, "messages") && segs[1] != "" && is(2, "attachments"):
		m.kind, m.message = GraphAttachments, segs[1]
		if len(segs) >= 4 {
			m.attachment = segs[3]
		}
		if len(segs) == 5 {
			if !is(4, "$value") {
				return mailRoute{}, false
			}
			m.value = true
		}
	default:
		return mailRoute{}, false
	}
	return m, true
}

// graphMail serves the mail routes and passes every other request to next.
func (s *Sim) graphMail(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every Graph answer carries request-id and echoes client-request-id
		// (a new one when the client sent none).
		// https://learn.microsoft.com/en-us/graph/best-practices-concept#reliability-and-support
		id, crid := newGUID(), r.Header.Get("client-request-id")
		if crid == "" {
			crid = id
		}
		w.Header().Set("request-id", id)
		w.Header().Set("client-request-id", crid)
		m, ok := parseMailPath(r.URL.EscapedPath())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		s.counts.inc(EndpointGraph, m.kind)
		at, gerr := s.graphToken(r)
		if gerr == nil && m.kind != GraphBatch {
			// The slot is held while the request is served, injected latency
			// included: that is what the limit counts.
			if u := s.target(at, m.g); u != nil {
				key := strings.ToLower(at.app.clientID) + "/" + u.ObjectID
				if !s.mail.enter(key) {
					// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits:
					// 4 concurrent requests per app per mailbox; the answer is 429 with Retry-After.
					w.Header().Set("Retry-After", "1")
					s.writeGraphError(w, r, &graphErr{429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."})
					return
				}
				defer s.mail.leave(key)
			}
		}
		if s.faults.enabled() {
			var clientID string
			var u *user
			if at != nil {
				clientID, u = at.app.clientID, s.target(at, m.g)
			}
			if f, hit := s.faults.match(EndpointGraph, m.kind, clientID, u); hit {
				f.wait(r.Context())
				if f.failing() {
					s.writeGraphFault(w, r, f)
					return
				}
			}
		}
		if gerr != nil {
			s.writeGraphError(w, r, gerr)
			return
		}
		if m.kind == GraphBatch {
			s.graphBatch(w, r)
			return
		}
		s.serveMailbox(w, r, at, m)
	})
}

// serveMailbox checks method and permission, then answers one mail request.
func (s *Sim) serveMailbox(w http.ResponseWriter, r *http.Request, at *accessToken, m mailRoute) {
	wantMethod := http.MethodGet
	if m.kind == GraphSendMail {
		wantMethod = http.MethodPost
	}
	if r.Method != wantMethod {
		// https://learn.microsoft.com/en-us/graph/errors: 405 for a method the resource does not take.
		s.writeGraphError(w, r, &graphErr{405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."})
		return
	}
	if m.g.me && at.user == nil {
		s.writeGraphError(w, r, errGraphMeAppOnly)
		return
	}
	u := s.target(at, m.g)
	if !s.mailAllowed(at, u, m.kind == GraphSendMail) {
		s.writeGraphError(w, r, errGraphMailDeny)
		return
	}
	if u == nil {
		s.writeGraphError(w, r, &graphErr{404, "ResourceNotFound", "Resource could not be discovered."})
		return
	}
	switch m.kind {
	case GraphSendMail:
		s.sendMail(w, r, u)
	case GraphAttachments:
		s.serveAttachment(w, r, u, m)
	default:
		s.serveMessages(w, r, u, m)
	}
}

// mailAllowed: Mail.Read(Write) for one's own mailbox and .Shared for
// another's (delegated), an application role for any mailbox in the tenant;
// sending needs Mail.Send.
// https://learn.microsoft.com/en-us/graph/api/user-list-messages#permissions
// https://learn.microsoft.com/en-us/graph/api/user-sendmail#permissions
func (s *Sim) mailAllowed(at *accessToken, u *user, send bool) bool {
	switch {
	case send && at.user == nil:
		return at.roles.any(mustScopes("Mail.Send"))
	case send && u == at.user:
		return at.scopes.any(mustScopes("Mail.Send"))
	case send:
		return at.scopes.any(mustScopes("Mail.Send.Shared"))
	case at.user == nil:
		return at.roles.any(mailAppRoles)
	case u != nil && u == at.user:
		return at.scopes.any(mailSelf)
	default:
		return at.scopes.any(mailOthers)
	}
}
