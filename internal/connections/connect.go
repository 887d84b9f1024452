package connections

// Helpers for connect links (internal/connect), which validate a session's
// allowed scopes against the same catalog the New connection form offers.

// CanonicalScope returns the offered delegated or fixed scope's canonical
// spelling, or "" when the form does not offer it.
func CanonicalScope(name string) string { return canonicalScope(name) }
