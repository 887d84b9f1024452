package adminweb

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/brokerhq/broker/internal/admin"
	"github.com/brokerhq/broker/internal/store"
)

// Sections is the data of the "admin_connection" template: the admin
// sections of a connection's page. Its Connection is read with the viewer's
// scope, so a page may use it as its own (operators included).
type Sections struct {
	admin.Detail
	StatusLabel  string
	Alert        bool // broken: someone must act
	TokenExpires When
	TokenExpired bool
	LastRefresh  When
	LastUsed     When
	Secret       When // client secret expiry
	SecretState  string
	History      []historyRow
	Callers      []callerRow
	CallersSince When
	Audit        []eventRow
	AuditHref    string
	Actions      []actionLink
	MenuActions  bool // some actions sit under More
	CanRotate    bool
	Operator     bool
	Events       []connEventRow // the connection's events (webhook_events.go); nil without webhooks
}

type historyRow struct {
	When                              When
	Status, StatusLabel, Reason       string
	ErrorCode, TraceID, CorrelationID string
	Alert                             bool
}

type callerRow struct {
	store.CallerUsage
	Name  string
	First When
	Last  When
}

type actionLink struct {
	Action admin.Action
	Label  string
	Href   string
	Danger bool
	Class  string // the button's look: primary, outlined or red
	Menu   bool   // under More: destructive and rarely wanted
}

// actionLinkOf places an action in the page's button hierarchy: the one a
// state calls for (approve, enable) solid, everyday ones outlined, and only
// the destructive ones red, disable and delete folded under More.
func actionLinkOf(id string, a admin.Action) actionLink {
	l := actionLink{Action: a, Label: a.Label(), Href: connectionHref(id) + "/confirm/" + string(a), Danger: Dangerous(a),
		Class: "button-quiet"}
	switch {
	case a == admin.ActApprove || a == admin.ActEnable:
		l.Class = "button-primary"
	case l.Danger:
		l.Class, l.Menu = "button-danger-quiet", a != admin.ActReject
	}
	return l
}

// Dangerous tells whether an action is styled red: it loses something
// (disable, delete, reject). Rotating a secret asks for a password like
// them but destroys nothing, so it is an ordinary button.
func Dangerous(a admin.Action) bool {
	return a == admin.ActDisable || a == admin.ActDelete || a == admin.ActReject
}

// Sections loads the admin sections of connection id for the request's
// viewer. A connection the viewer may not see is an *admin.Error with
// CodeNotFound, exactly as one that does not exist.
func (h *Handler) Sections(r *http.Request, id string) (*Sections, error) {
	v, _, ok := viewerOf(r)
	if !ok {
		return nil, errNoViewer
	}
	d, err := h.Service.Detail(r.Context(), v, id)
	if err != nil {
		return nil, err
	}
	s := SectionsOf(d, h.Service.Now())
	if s.Events, err = h.connectionEvents(r, d.Connection); err != nil {
		return nil, err
	}
	return s, nil
}

// SectionsOf formats a detail the caller loaded with admin.Service.Detail.
func SectionsOf(d admin.Detail, now time.Time) *Sections {
	c := d.Connection
	s := &Sections{Detail: d, StatusLabel: admin.StatusLabel(c.Status), Alert: admin.Broken(c.Status),
		TokenExpires: whenPtr(c.AccessTokenExpiresAt, now), LastRefresh: whenPtr(c.LastRefreshAt, now),
		LastUsed: whenPtr(c.LastUsedAt, now), Secret: whenPtr(c.ClientSecretExpiresAt, now),
		CallersSince: when(d.CallersSince, now), Operator: d.Viewer.Operator(),
		AuditHref: "/audit?connection=" + url.QueryEscape(c.ID)}
	s.TokenExpired = c.AccessTokenExpiresAt != nil && !c.AccessTokenExpiresAt.After(now)
	if exp := c.ClientSecretExpiresAt; exp != nil {
		switch left := exp.Sub(now); {
		case left <= 0:
			s.SecretState = "expired"
		case left < 30*24*time.Hour:
			s.SecretState = fmt.Sprintf("expires in %d days", int(left.Hours()/24)+1)
		}
	}
	for _, e := range d.History {
		s.History = append(s.History, historyRow{When: when(e.At, now), Status: e.Status, StatusLabel: admin.StatusLabel(e.Status),
			Reason: e.Reason, ErrorCode: e.ErrorCode, TraceID: e.TraceID, CorrelationID: e.CorrelationID,
			Alert: admin.Broken(e.Status)})
	}
	for _, u := range d.Callers {
		row := callerRow{CallerUsage: u, Name: u.KeyName, First: when(u.FirstAt, now), Last: when(u.LastAt, now)}
		if row.Name == "" {
			row.Name = "Deleted key " + shortID(u.APIKeyID)
		}
		s.Callers = append(s.Callers, row)
	}
	names := map[string]string{c.ID: c.Name}
	for _, e := range d.Audit {
		fe := store.FeedEntry{Source: store.SourceAudit, TenantID: e.TenantID, At: e.At, ActorType: e.ActorType,
			ActorID: e.ActorID, ActorLabel: e.ActorLabel, Action: e.Action, ConnectionID: e.ConnectionID,
			Reason: e.Reason, Details: e.Details, RequestID: e.RequestID}
		s.Audit = append(s.Audit, eventRowOf(fe, names, nil, now))
	}
	for _, a := range d.Actions {
		l := actionLinkOf(c.ID, a)
		s.MenuActions = s.MenuActions || l.Menu
		s.CanRotate = s.CanRotate || a == admin.ActRotate
		s.Actions = append(s.Actions, l)
	}
	return s
}
