package bronze

import "errors"

// ErrNotFound reports a raw event id that is not stored.
var ErrNotFound = errors.New("raw event not found")
