// Package mssim is the project's stand-in for the Microsoft identity platform
// (login.microsoftonline.com, v2.0 endpoints) and the slice of Microsoft Graph
// v1.0 the broker touches. Tests, benchmarks and the demo run against it
// because the real hosts are unreachable from our machines; wherever it
// differs from shared/reference/microsoft-identity-platform.md our tests lie,
// so it follows that reference literally.
//
// One http.Handler (Sim.Handler) serves:
//
//	/{tenant}/oauth2/v2.0/authorize          sign-in page, consent page, code redirect
//	/{tenant}/oauth2/v2.0/token              authorization_code, refresh_token, client_credentials
//	/{tenant}/v2.0/adminconsent              admin consent (never on common or consumers)
//	/{tenant}/v2.0/.well-known/openid-configuration
//	/{tenant}/discovery/v2.0/keys            JWKS for id_token signatures (RS256, kid)
//	/v1.0/…                                  Graph: /me, /users/{id|upn}, …/mailFolders/inbox, …/messages
//	/_sim/…                                  JSON control API (see admin.go)
//
// and, as on the real platform, two more hosts (MSAHandler, IdPHandler; see
// hosts.go): the Microsoft account host where personal accounts sign in
// (/oauth20_authorize.srf, /ppsecure/…, login.live.com's part) and a
// federated organisation's identity provider (/adfs/ls/, an AD FS).
// StartServers and Start put each on its own origin. Options.Cloud picks
// the national cloud whose Graph resource scopes must name (cloud.go);
// SaveState/LoadState keep grants and tokens across a restart (state.go).
//
// Choices made where the documentation leaves room, so callers know what to
// rely on:
//
//   - Scopes without a resource ("Mail.Read") mean Graph. The token response
//     "scope" lists the granted Graph permissions fully qualified and in
//     canonical case ("https://graph.microsoft.com/Mail.Read"), then the
//     OpenID Connect scopes that were asked for and granted ("openid profile
//     offline_access"), as Entra does for Graph tokens. Order is the package's
//     catalog order, not the request order: treat the value as a set, and tell
//     whether offline_access was granted by the presence of refresh_token.
//   - Access tokens are opaque strings (as Graph's are meant to be to clients);
//     the simulated Graph looks them up in memory. id_tokens are real RS256
//     JWTs with a kid; iss is {base}/{tid}/v2.0 where {base} is Options.BaseURL
//     or, when unset, the scheme and host the request arrived on.
//   - Errors Entra shows on its own pages (unknown tenant, unknown client,
//     redirect URI mismatch, wrong account for the authority: AADSTS90002,
//     700016, 50011, 50020, 500208, 50034) are rendered as an HTML page with
//     an element id="error" data-code="…", never redirected; SignIn returns
//     them as *PageError. Everything else is redirected to redirect_uri with
//     error and error_description, state passed back untouched.
//   - id_tokens carry name and preferred_username only with the profile
//     scope and email only with email, as Entra documents; oid, tid and a
//     pairwise sub always.
//   - The sign-in page asks for no password and sign-in satisfies MFA. There
//     is no single sign-on except for prompt=none, which uses a session cookie
//     set by an earlier sign-in in the same cookie jar.
//   - response_mode=query only; no certificate (client_assertion) auth, no
//     SPA redirect URIs (24-hour refresh tokens), no userinfo endpoint.
//
// Time comes from Options.Now plus whatever Advance added, so a test can age
// codes, access tokens and refresh tokens (90 days of inactivity) without
// waiting. Every request is counted by endpoint and grant (Count, Counts,
// ResetCounts) with atomic counters, and faults (latency, 429 with
// Retry-After, 5xx, temporarily_unavailable) can be injected per endpoint,
// grant, client or user.
package mssim
