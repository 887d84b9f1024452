package connections

import (
	"context"
	"errors"
	"time"

	"github.com/brokerhq/broker/internal/oauth"
)

// tenantCheckTimeout bounds the discovery request made while the person
// waits at the form.
const tenantCheckTimeout = 5 * time.Second

// checkTenant asks Microsoft, through the OpenID discovery document of the
// tenant's authority, whether the Tenant ID/Domain exists, before anything
// is saved and before the browser leaves for Microsoft: an unknown tenant
// would otherwise end on Microsoft's AADSTS90002 page, with no way back.
// A tenant that does not exist is a field error (ErrInvalid); Microsoft not
// answering is a form error, so the person can try again from the form.
func (s *Service) checkTenant(ctx context.Context, f *Form) error {
	r, ok := s.Provider.(TenantResolver)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, tenantCheckTimeout)
	defer cancel()
	_, err := r.ResolveTenant(ctx, f.MSTenant)
	if err == nil {
		return nil
	}
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe) && oe.HTTPStatus >= 400 && oe.HTTPStatus < 500:
		f.Errors.Add(FieldMSTenant, "Microsoft knows no tenant "+f.MSTenant+" ("+oe.AADSTS()+"). Check the Directory (tenant) ID "+
			"or a verified domain such as contoso.onmicrosoft.com, from the Azure portal's Overview page of Microsoft Entra ID.")
	default:
		s.Logger.WarnContext(ctx, "tenant check: discovery failed", "ms_tenant", f.MSTenant, "err", err)
		f.Errors.Add(FieldForm, "The broker could not check the tenant with Microsoft just now. Nothing was saved. Try again in a minute.")
	}
	return ErrInvalid
}
