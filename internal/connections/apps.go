package connections

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/brokerhq/broker/internal/oauth"
	"github.com/brokerhq/broker/internal/store"
)

// A tenant's own app registrations (internal/tenantapps): a project names
// the one its new authorization-code connections use by default, and the
// form may choose another, or the broker's own. The connection keeps the
// app it was made with for its whole life.

// FieldApp is the form's app registration choice.
const FieldApp = "app"

// AppBroker is the form's value for the broker's own app registration.
const AppBroker = "broker"

// resolveApp turns the form's choice into the app ID to store ("" the
// broker's), refusing an app that is not the tenant's or whose supported
// account types cannot sign in the chosen account type (Microsoft would
// answer AADSTS50194 or AADSTS700016 at the sign-in).
func (s *Service) resolveApp(ctx context.Context, a Actor, f *Form, projects []Project) error {
	f.appID = ""
	if f.AuthType != AuthCode {
		f.App = ""
		return nil
	}
	id := f.App
	switch f.App {
	case "":
		if i := slices.IndexFunc(projects, func(p Project) bool { return p.ID == f.ProjectID }); i >= 0 {
			id = projects[i].AppID
		}
	case AppBroker:
		id = ""
	}
	if id == "" {
		return nil
	}
	if !oauth.IsGUID(id) {
		f.Errors.Add(FieldApp, "Choose an app registration from the list.")
		return nil
	}
	app, err := s.Store.AppRegistration(ctx, a.TenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		f.Errors.Add(FieldApp, "Choose an app registration from the list.")
		return nil
	}
	if err != nil {
		return fmt.Errorf("connections: app registration: %w", err)
	}
	if msg := audienceProblem(app, f); msg != "" {
		f.Errors.Add(FieldApp, msg)
		return nil
	}
	f.appID = app.ID
	return nil
}

// audienceProblem says why app cannot sign in the form's account type, or "".
func audienceProblem(app store.AppRegistration, f *Form) string {
	name := "“" + app.Label() + "”"
	switch app.Audience {
	case store.AudienceSingle:
		if f.AccountType != AccountTenant {
			return name + " accepts accounts of its own directory only: choose the Tenant-specific account type with its Directory (tenant) ID " + app.HomeTenantID + "."
		}
		if oauth.IsGUID(f.MSTenant) && f.MSTenant != app.HomeTenantID {
			return name + " accepts accounts of its own directory only (" + app.HomeTenantID + "), not of this tenant."
		}
	case store.AudienceMultipleOrgs:
		if f.AccountType == AccountConsumers || f.AccountType == AccountCommon {
			return name + " accepts work and school accounts only: choose Organizations or Tenant-specific, or another app."
		}
	}
	return ""
}
