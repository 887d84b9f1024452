package store

// ConnectionStamp is what a replica compares its cached copy of a connection
// against: any write through UpdateConnection bumps Version.
type ConnectionStamp struct {
	ID      string
	Version int64
	Status  string
}
