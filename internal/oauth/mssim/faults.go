package mssim

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault makes matching requests slow or failing. Empty selectors match
// everything; the first matching fault applies.
type Fault struct {
	Endpoint string // Endpoint constant; "" = any
	Grant    string // grant type (token) or Graph resource ("me", "users", …); "" = any
	ClientID string // "" = any
	User     string // UPN or object ID of the user the request is about; "" = any
	Times    int    // the next Times matching requests; 0 = until cleared

	Latency time.Duration // added before answering (real time, not the sim clock)
	// Status and Error shape the failure. Status alone picks a fitting
	// error (429 → temporarily_unavailable with AADSTS90055 and
	// Retry-After, 500 → server_error, 503 → temporarily_unavailable);
	// Error alone picks a fitting status. Neither means latency only.
	Status     int
	Error      string // OAuth error, or Graph error code at EndpointGraph
	Code       int    // AADSTS code; 0 picks one
	Message    string // description; "" picks one
	RetryAfter time.Duration
	Body       string // sent verbatim instead of the usual body (a proxy's error page)
	// ContentType is Body's; default text/html. Entra answers bursts of
	// client-credentials requests with 429, Retry-After and a body that is
	// not always JSON: Status 429 with a text/plain Body plays that
	// (shared/reference/microsoft-identity-platform.md "Throttling";
	// https://learn.microsoft.com/entra/identity-platform/reference-error-codes#handling-error-codes-in-your-application).
	ContentType string
}

type faults struct {
	mu     sync.Mutex
	active atomic.Int32 // fast path: no faults, no lock
	list   []*faultEntry
	nextID int
}

type faultEntry struct {
	id        int
	f         Fault
	remaining int
}

// InjectFault adds a fault and returns its ID for ClearFault.
func (s *Sim) InjectFault(f Fault) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.nextID++
	s.faults.list = append(s.faults.list, &faultEntry{id: s.faults.nextID, f: f, remaining: f.Times})
	s.faults.active.Store(int32(len(s.faults.list)))
	return s.faults.nextID
}

// ClearFault removes one fault.
func (s *Sim) ClearFault(id int) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.remove(id)
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.list = nil
	s.faults.active.Store(0)
}

// Faults lists the faults in force.
func (s *Sim) Faults() map[int]Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make(map[int]Fault, len(s.faults.list))
	for _, e := range s.faults.list {
		f := e.f
		f.Times = e.remaining
		out[e.id] = f
	}
	return out
}

func (fs *faults) remove(id int) {
	for i, e := range fs.list {
		if e.id == id {
			fs.list = append(fs.list[:i:i], fs.list[i+1:]...)
			break
		}
	}
	fs.active.Store(int32(len(fs.list)))
}

func (fs *faults) enabled() bool { return fs.active.Load() != 0 }

// match finds and consumes the first fault for this request.
func (fs *faults) match(ep, grant, clientID string, u *user) (Fault, bool) {
	if !fs.enabled() {
		return Fault{}, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, e := range fs.list {
		f := e.f
		if f.Endpoint != "" && f.Endpoint != ep || f.Grant != "" && f.Grant != grant ||
			f.ClientID != "" && !strings.EqualFold(f.ClientID, clientID) {
			continue
		}
		if f.User != "" && (u == nil || !strings.EqualFold(f.User, u.UPN) && !strings.EqualFold(f.User, u.ObjectID)) {
			continue
		}
		if e.remaining > 0 {
			if e.remaining--; e.remaining == 0 {
				fs.remove(e.id)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// wait sleeps for the fault's latency unless the client goes away.
func (f Fault) wait(ctx context.Context) {
	if f.Latency <= 0 {
		return
	}
	t := time.NewTimer(f.Latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// failing reports whether the fault answers with an error, not just latency.
func (f Fault) failing() bool { return f.Status != 0 || f.Error != "" || f.Body != "" }

// loginError is the fault as an identity platform error.
func (f Fault) loginError() *aadError {
	status, errCode := f.Status, f.Error
	if errCode == "" {
		switch {
		case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
			errCode = "temporarily_unavailable"
		case status >= 500:
			errCode = "server_error"
		default:
			errCode = "invalid_request"
		}
	}
	if status == 0 {
		switch errCode {
		case "temporarily_unavailable":
			status = http.StatusServiceUnavailable
		case "server_error":
			status = http.StatusInternalServerError
		default:
			status = http.StatusBadRequest
		}
	}
	code, msg := f.Code, f.Message
	if code == 0 {
		switch {
		case status == http.StatusTooManyRequests:
			code = 90055
		case errCode == "temporarily_unavailable":
			code = 90006
		case errCode == "server_error":
			code = 50000
		default:
			code = 90100
		}
	}
	if msg == "" {
		switch code {
		case 90055:
			msg = "There are too many incoming requests. Please try again later."
		case 90006:
			msg = "The service is temporarily unavailable."
		case 50000:
			msg = "There was an error issuing a token or an issue with our sign-in service."
		default:
			msg = "The request failed (injected fault)."
		}
	}
	return &aadError{status: status, err: errCode, code: code, desc: msg}
}

// writeRaw answers with the fault's verbatim body, like a proxy would.
func (f Fault) writeRaw(w http.ResponseWriter) {
	status := f.Status
	if status == 0 {
		status = http.StatusBadGateway
	}
	f.setRetryAfter(w, status)
	ct := f.ContentType
	if ct == "" {
		ct = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

func (f Fault) setRetryAfter(w http.ResponseWriter, status int) {
	d := f.RetryAfter
	if d == 0 && status == http.StatusTooManyRequests {
		d = time.Second
	}
	if d > 0 {
		w.Header().Set("Retry-After", retryAfter(d))
	}
}
