// Package securitytest is the broker's standing security suite: one file per
// class of probe an outside review ran, each test named for the claim it
// proves, so a reader can find the test behind every line of SECURITY.md.
//
//	state_test.go       OAuth state: forged, replayed, from another session, anonymous; no echoed error text
//	crosstenant_test.go another tenant's IDs on every page and API answer 404, change nothing
//	injection_test.go   XSS and SQL payloads come back escaped, reach no SQL text; malformed input is a 400
//	headers_test.go     security headers (pages, API, /metrics), cookie flags, cross-origin posts refused
//	limits_test.go      oversized bodies refused, slow headers and slow bodies cut off
//	secrets_test.go     no known secret in a raw dump of the database or in debug logs
//	fuzztargets_test.go every fuzz target runs under `make fuzz`
//
// Every test runs the whole broker (app.New, as `broker serve` builds it) on
// a real listener, against real Postgres in the least-privilege deployment
// (runtime and cross-tenant logins, README "Production") and the simulated
// Microsoft platform. The package has no non-test code but this comment.
package securitytest
