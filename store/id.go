package store

import "github.com/google/uuid"

// NewID returns a new primary key: a UUIDv7 in canonical lower-case text,
// 36 characters long. Keys created later sort after earlier ones to the
// millisecond, which keeps B-tree inserts local.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}
