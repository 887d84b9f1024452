package mssim

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Permissions that let a caller read a user. Delegated User.Read covers the
// signed-in user only; the .All ones cover everyone in the tenant.
var (
	readSelf      = mustScopes("User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
	readOthers    = mustScopes("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
	mailSelf      = mustScopes("Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite", "Mail.Read.Shared", "Mail.ReadWrite.Shared")
	mailOthers    = mustScopes("Mail.Read.Shared", "Mail.ReadWrite.Shared")
	mailAppRoles  = mustScopes("Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite")
	usersAppRoles = readOthers
)

// target resolves the user a Graph path names, within the token's tenant.
func (s *Sim) target(at *accessToken, g graphRequest) *user {
	if g.me {
		return at.user
	}
	u := s.dir.user(g.ref)
	if u == nil || u.tenant != at.tenant {
		return nil
	}
	return u
}

// graphUser is GET /me and GET /users/{id|upn}.
func (s *Sim) graphUser(w http.ResponseWriter, r *http.Request, at *accessToken, g graphRequest) {
	u := s.target(at, g)
	var allowed bool
	switch {
	case at.user == nil:
		allowed = at.roles.any(usersAppRoles)
	case u != nil && u == at.user:
		allowed = at.scopes.any(readSelf)
	default:
		allowed = at.scopes.any(readOthers)
	}
	switch {
	case !allowed:
		s.writeGraphError(w, r, errGraphDenied)
	case u == nil:
		s.writeGraphError(w, r, &graphErr{404, "Request_ResourceNotFound", "Resource '" + g.ref + "' does not exist or one of its queried reference-property objects are not present."})
	default:
		writeGraphJSON(w, http.StatusOK, graphUserBody(s.graphBase(r), u))
	}
}

// graphMailbox is …/mailFolders/inbox and …/messages: Mail.Read(Write) for
// one's own mailbox, .Shared scopes for someone else's, or an application
// role for any mailbox in the tenant.
func (s *Sim) graphMailbox(w http.ResponseWriter, r *http.Request, at *accessToken, g graphRequest) {
	u := s.target(at, g)
	var allowed bool
	switch {
	case at.user == nil:
		allowed = at.roles.any(mailAppRoles)
	case u != nil && u == at.user:
		allowed = at.scopes.any(mailSelf)
	default:
		allowed = at.scopes.any(mailOthers)
	}
	switch {
	case !allowed:
		s.writeGraphError(w, r, errGraphMailDeny)
	case u == nil:
		s.writeGraphError(w, r, &graphErr{404, "ResourceNotFound", "Resource could not be discovered."})
	case g.kind == "mailFolders":
		writeGraphJSON(w, http.StatusOK, inboxBody(s.graphBase(r), u))
	default:
		writeGraphJSON(w, http.StatusOK, messagesBody(s.graphBase(r), u, s.Now()))
	}
}

func graphUserBody(base string, u *user) map[string]any {
	return map[string]any{
		"@odata.context":    base + "/v1.0/$metadata#users/$entity",
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         nullable(u.GivenName),
		"jobTitle":          nil,
		"mail":              nullable(u.Mail),
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": "en-US",
		"surname":           nullable(u.Surname),
		"userPrincipalName": u.UPN,
		"id":                u.ObjectID,
	}
}

// mailboxID derives a stable, Exchange-looking ID from the user and a name.
func mailboxID(u *user, name string) string {
	sum := sha256.Sum256([]byte(u.ObjectID + "/" + name))
	return "AAMkA" + base64.URLEncoding.EncodeToString(sum[:])
}

func inboxBody(base string, u *user) map[string]any {
	return map[string]any{
		"@odata.context":   base + "/v1.0/$metadata#users('" + u.ObjectID + "')/mailFolders/$entity",
		"id":               mailboxID(u, "inbox"),
		"displayName":      "Inbox",
		"parentFolderId":   mailboxID(u, "root"),
		"childFolderCount": 0,
		"unreadItemCount":  1,
		"totalItemCount":   1,
		"sizeInBytes":      4096,
		"isHidden":         false,
	}
}

func messagesBody(base string, u *user, now time.Time) map[string]any {
	return map[string]any{
		"@odata.context": base + "/v1.0/$metadata#users('" + u.ObjectID + "')/messages",
		"value": []map[string]any{{
			"id":               mailboxID(u, "welcome"),
			"subject":          "Welcome to your simulated mailbox",
			"receivedDateTime": now.UTC().Truncate(24 * time.Hour).Format(time.RFC3339),
			"isRead":           false,
		}},
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
