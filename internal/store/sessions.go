package store

import (
	"time"
)

// Session is a signed-in browser. IDHash is the SHA-256 of the cookie's ID.
type Session struct {
	IDHash          []byte
	TenantID        string // empty for operators
	UserID          string
	OperatorID      string
	CreatedAt       time.Time
	AuthenticatedAt time.Time
	LastSeenAt      time.Time
	ExpiresAt       time.Time
	AuthMethod      string // AuthPassword or AuthMicrosoft: how re-authentication asks again
}

// How a session signed in.
const (
	AuthPassword  = "password"
	AuthMicrosoft = "microsoft"
)
