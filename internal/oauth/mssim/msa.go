package mssim

// msaUnsupported are the catalog's delegated permissions that personal
// Microsoft accounts cannot have. Microsoft Graph's permissions reference
// lists each permission's "Microsoft account supported"; it is "No" for the
// .Shared permissions (Mail.ReadWrite.Shared, Calendars.ReadWrite.Shared
// and the rest: an outlook.com mailbox has no delegates or shared folders
// in Graph's sense) and for the directory-wide ones, which need a work or
// school directory (https://learn.microsoft.com/graph/permissions-reference;
// shared/reference/microsoft-identity-platform.md, "Personal accounts").
//
// A personal account is never asked for these on the consent page and never
// granted them: the code and token responses' scope leave them out, as the
// platform's do, so an app finds out from the granted scopes, not an error.
var msaUnsupported = mustCatalogSet(
	"Mail.Read.Shared", "Mail.ReadWrite.Shared", "Mail.Send.Shared",
	"Calendars.Read.Shared", "Calendars.ReadWrite.Shared",
	"Contacts.Read.Shared", "Contacts.ReadWrite.Shared",
	"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
)

func mustCatalogSet(names ...string) scopeSet {
	set, err := catalogSet(names, func(p perm) bool { return p.delegated })
	if err != nil {
		panic("mssim: " + err.Error())
	}
	return set
}

// forAccount is what of set an account can be granted at all.
func forAccount(u *user, set scopeSet) scopeSet {
	if u.tenant.personal {
		return set &^ msaUnsupported
	}
	return set
}
