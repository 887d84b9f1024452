package mssim

import (
	"fmt"
	"net/http"
)

// CAPolicy is a Conditional Access outcome the sim applies to a user's
// sign-ins and refreshes, as a tenant's policy would.
type CAPolicy int32

const (
	CAOff CAPolicy = iota
	// CABlock: access blocked by policy, AADSTS53003. Nothing the person
	// can do by signing in again; an administrator must change the policy.
	CABlock
	// CAManagedDevice: the device must be managed (Intune), AADSTS530003.
	CAManagedDevice
)

// CAPolicies names the policies for the control API.
var CAPolicies = map[string]CAPolicy{"off": CAOff, "block": CABlock, "managed_device": CAManagedDevice}

// SetConditionalAccess applies p to every later refresh and sign-in of the
// user, until CAOff. Unlike RevokeUser or RequireMFA, signing in again does
// not clear it: the condition is outside the sign-in (a policy, a device).
//
// On the token endpoint the platform answers invalid_grant with the code in
// error_codes and a suberror classifying it: message_only for 53003
// ("Condition can't be resolved at the moment. Launching interactive
// authentication flow will show a message explaining the condition") and
// additional_action for 530003 ("Condition can be resolved by additional
// remedial interaction with the system, outside of the current application
// flow", here enrolling the device)
// (https://learn.microsoft.com/entra/identity-platform/msal-error-handling-dotnet#msaluirequiredexception,
// https://learn.microsoft.com/entra/identity-platform/reference-error-codes;
// shared/reference/microsoft-identity-platform.md "Conditional Access").
// Interactively, Entra shows the reason on its own page ("You cannot access
// this right now") and does not redirect to the app.
func (s *Sim) SetConditionalAccess(ref string, p CAPolicy) error {
	u, err := s.mustUser(ref)
	if err != nil {
		return err
	}
	if p < CAOff || p > CAManagedDevice {
		return fmt.Errorf("mssim: conditional access: unknown policy %d", p)
	}
	u.ca.Store(int32(p))
	return nil
}

// caError is the user's Conditional Access answer, or nil.
func caError(u *user) *aadError {
	switch CAPolicy(u.ca.Load()) {
	case CABlock:
		return newErr(http.StatusBadRequest, "invalid_grant", 53003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.").withSuberror("message_only")
	case CAManagedDevice:
		return newErr(http.StatusBadRequest, "invalid_grant", 530003, "Your device is required to be managed to access this resource.").withSuberror("additional_action")
	}
	return nil
}
