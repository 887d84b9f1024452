package connections

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// ProblemKind says what went wrong at the callback, and so what the page
// offers next.
type ProblemKind string

const (
	ProblemState        ProblemKind = "state"         // tampered, replayed, expired or another browser's: start again
	ProblemSession      ProblemKind = "session"       // not signed in to the broker any more
	ProblemCancelled    ProblemKind = "cancelled"     // the person cancelled at Microsoft: try again
	ProblemConsent      ProblemKind = "consent"       // an administrator must consent
	ProblemAccount      ProblemKind = "account"       // wrong tenant or account type: pick another account
	ProblemOtherAccount ProblemKind = "other_account" // a reconnect signed in as someone else
	ProblemRestart      ProblemKind = "restart"       // the code is spent: sign in again
	ProblemMicrosoft    ProblemKind = "microsoft"     // Microsoft refused or failed, with its codes
	ProblemVerify       ProblemKind = "verify"        // Microsoft's answer did not check out
	ProblemGraph        ProblemKind = "graph"         // signed in, but Graph refused the token
	ProblemGone         ProblemKind = "gone"          // the connection was deleted meanwhile
	ProblemAdmin        ProblemKind = "admin"         // the organisation's policy blocks it: an administrator must act
)

// Problem is a callback that did not end in a working connection. Every
// field is safe to show: codes, IDs and Microsoft's one-line summaries, never
// a token or a raw response.
type Problem struct {
	Kind        ProblemKind
	Connection  *store.Connection // nil when the state was not one of ours
	Title       string
	Message     string // what happened and what to do
	Code        string // AADSTS code, else the OAuth or Graph error code
	Summary     string // Microsoft's own one-line description
	TraceID     string
	Correlation string
	// AdminConsentLink is a link to forward to an administrator, for
	// consent problems of connections that have one.
	AdminConsentLink string
	// CanAdminConsent says the connection's account type has an admin to ask.
	CanAdminConsent bool

	cause error // for the log only
}

func (p *Problem) Error() string {
	s := "connections: callback: " + string(p.Kind)
	if p.Code != "" {
		s += " (" + p.Code + ")"
	}
	if p.cause != nil {
		s += ": " + p.cause.Error()
	}
	return s
}

func (p *Problem) Unwrap() error { return p.cause }

// withMicrosoft copies the codes of a Microsoft error onto the problem.
func (p *Problem) withMicrosoft(e *oauth.Error) *Problem {
	p.Code = e.AADSTS()
	if p.Code == "" {
		p.Code = e.Code
	}
	p.Summary, p.TraceID, p.Correlation = e.Summary(), e.TraceID, e.CorrelationID
	return p
}

// Account problems: the platform's codes for "this account does not belong
// here" (AADSTS50020 and friends).
var accountCodes = map[int]bool{50020: true, 50034: true, 500208: true, 50194: true, 9002332: true}

// leadingAADSTS reads the code an authorize redirect's error_description
// starts with ("AADSTS65001: …"). The redirect carries no error_codes, and
// the code is a fixed prefix, not prose; the wording after it is never used.
var leadingAADSTS = regexp.MustCompile(`^AADSTS(\d{4,8})\b`)

func aadstsPrefix(description string) int {
	m := leadingAADSTS.FindStringSubmatch(description)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// asMicrosoft returns err's *oauth.Error, if it is one.
func asMicrosoft(err error) (*oauth.Error, bool) {
	var e *oauth.Error
	ok := errors.As(err, &e)
	return e, ok
}

// unsaved says truly what a sign-in that did not succeed left behind: a new
// connection stays Pending for another try and is removed after PendingTTL
// (housekeeping); a reconnect changes nothing.
func unsaved(c store.Connection) string {
	if c.Status == "pending" {
		return "Nothing was signed in: the new connection stays Pending so you can try again, and is removed an hour after it was created unless a sign-in succeeds."
	}
	return "Nothing was changed: the connection keeps its previous sign-in."
}

// accountAdvice says which account to pick for a connection's account type.
func accountAdvice(c store.Connection) string {
	switch AccountType(c.AccountType) {
	case AccountTenant:
		return "This connection is for the organization " + c.MSTenant + ". Sign in with an account of that organization."
	case AccountConsumers:
		return "This is a Consumer connection: sign in with a personal Microsoft account (outlook.com, hotmail.com, live.com), not a work or school account."
	case AccountOrganizations:
		return "This is an Organization connection: sign in with a work or school account, not a personal Microsoft account."
	}
	return "Sign in with the account whose mailbox this connection is for."
}

// problem starts a Problem for connection c with the generic wording of kind.
func (s *Service) problem(c store.Connection, kind ProblemKind, cause error) *Problem {
	p := &Problem{Kind: kind, Connection: &c, cause: cause}
	at := AccountType(c.AccountType)
	p.CanAdminConsent = AdminConsentAuthority(at, c.MSTenant) != ""
	switch kind {
	case ProblemVerify:
		p.Title = "Microsoft's answer could not be verified"
		p.Message = "The sign-in response did not pass the broker's checks, so it was not used. " + unsaved(c) +
			" Try again; if it keeps happening, contact support."
	case ProblemMicrosoft:
		p.Title = "Microsoft did not complete the sign-in"
		p.Message = unsaved(c) + " Try again; if it keeps failing, give support the code and trace ID below."
	case ProblemRestart:
		p.Title = "This sign-in has already been used"
		p.Message = "Microsoft's one-time code was already redeemed. " + unsaved(c) + " Sign in again."
	case ProblemCancelled:
		p.Title = "Sign-in cancelled"
		p.Message = "You cancelled at Microsoft. " + unsaved(c) + " Try again below, or delete it from its page."
	case ProblemConsent:
		p.Title = "An administrator must approve this app"
		p.Message = "Your organization requires an administrator to consent to the permissions this connection asks for. " +
			"Ask an administrator of your Microsoft Entra tenant to grant consent, then sign in again."
		p.AdminConsentLink = s.AdminConsentLink(c)
		if p.AdminConsentLink == "" {
			p.Message = "Microsoft requires consent that you cannot give yourself. For a personal account, sign in and accept the permissions; " +
				"for a work or school account, use an Organization or Tenant-specific connection so an administrator can consent."
		}
	case ProblemAdmin:
		p.Title = "Your organization's policy blocked this sign-in"
		p.Message = "A Conditional Access or device policy of the account's organization does not allow this app; signing in again will not help. " +
			"Give an administrator of that organization the code and trace ID below: they must change the policy or register the device. " + unsaved(c)
	case ProblemAccount:
		p.Title = "That account cannot be used for this connection"
		p.Message = accountAdvice(c) + " " + unsaved(c) + " Try again and pick another account."
	}
	return p
}

func (s *Service) accountProblem(c store.Connection, cause error) *Problem {
	return s.problem(c, ProblemAccount, cause)
}

func (s *Service) otherAccountProblem(c store.Connection, username string) *Problem {
	p := s.problem(c, ProblemOtherAccount, errors.New("reconnect as another account"))
	p.Title = "You signed in as a different account"
	p.Message = "This connection belongs to " + c.AccountUsername + ", but you signed in as " + username +
		". Its API consumers expect the same mailbox, so nothing was changed. Sign in again as " + c.AccountUsername +
		", or create a new connection for the other account."
	return p
}

// authorizeProblem reads an error Microsoft redirected back with.
func (s *Service) authorizeProblem(c store.Connection, p CallbackParams) *Problem {
	code := aadstsPrefix(p.ErrorDescription)
	var prob *Problem
	switch {
	case code == 65001 || code == 90094 || p.Error == "consent_required":
		prob = s.problem(c, ProblemConsent, nil)
	case accountCodes[code]:
		prob = s.problem(c, ProblemAccount, nil)
	case (&oauth.Error{ErrorCodes: []int{code}}).Class() == oauth.ClassAdmin:
		prob = s.problem(c, ProblemAdmin, nil)
	case p.Error == "access_denied":
		prob = s.problem(c, ProblemCancelled, nil)
	default:
		prob = s.problem(c, ProblemMicrosoft, nil)
	}
	prob.cause = errors.New("authorize error " + p.Error)
	prob.Code = p.Error
	if code != 0 {
		prob.Code = fmt.Sprintf("AADSTS%d", code)
	}
	summary := (&oauth.Error{Description: p.ErrorDescription}).Summary()
	if len(summary) > 300 {
		summary = summary[:300] + "…"
	}
	prob.Summary = summary
	return prob
}

// tokenProblem reads a failed code redemption.
func (s *Service) tokenProblem(c store.Connection, err error) *Problem {
	e, ok := asMicrosoft(err)
	if !ok {
		return s.problem(c, ProblemMicrosoft, err)
	}
	var prob *Problem
	switch {
	case len(e.ErrorCodes) > 0 && accountCodes[e.ErrorCodes[0]]:
		prob = s.problem(c, ProblemAccount, err)
	case e.Class() == oauth.ClassConsent:
		prob = s.problem(c, ProblemConsent, err)
	case e.Class() == oauth.ClassRestart:
		prob = s.problem(c, ProblemRestart, err)
	case e.Class() == oauth.ClassAdmin:
		prob = s.problem(c, ProblemAdmin, err)
	default:
		prob = s.problem(c, ProblemMicrosoft, err)
		if e.Transient() {
			prob.Message = "Microsoft did not answer in time or is busy. " + unsaved(c) + " Try again in a minute."
		}
	}
	return prob.withMicrosoft(e)
}

// idTokenProblem explains a rejected id_token. The token is not trusted, so
// its tid is only peeked at to word the message: a wrong-tenant or
// wrong-account-type sign-in gets advice on which account to pick.
func (s *Service) idTokenProblem(c store.Connection, raw string, err error) *Problem {
	if e, ok := asMicrosoft(err); ok {
		return s.problem(c, ProblemMicrosoft, err).withMicrosoft(e)
	}
	tid := unverifiedTenant(raw)
	at := AccountType(c.AccountType)
	wrongTenant := at == AccountTenant && oauth.IsGUID(c.MSTenant) && tid != "" && !strings.EqualFold(tid, c.MSTenant)
	if wrongTenant || (tid != "" && !accountFits(at, "", tid)) {
		return s.accountProblem(c, err)
	}
	return s.problem(c, ProblemVerify, err)
}

// unverifiedTenant reads the tid claim of a JWT without checking it. Only
// for choosing the words of an error page.
func unverifiedTenant(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return claims.TID
}

// graphProblem explains a failed /me after a good sign-in.
func (s *Service) graphProblem(c store.Connection, err error) *Problem {
	p := s.problem(c, ProblemGraph, err)
	p.Title = "Signed in, but Microsoft Graph refused the connection"
	p.Message = "The account signed in, but reading its profile (GET /me) failed, so the connection would not work. " + unsaved(c)
	if e, ok := asMicrosoft(err); ok {
		p.withMicrosoft(e)
		if e.Transient() {
			p.Message = "The account signed in, but Microsoft Graph did not answer in time. " + unsaved(c) + " Try again in a minute."
		}
	}
	return p
}
