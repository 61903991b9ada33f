package registry

import "errors"

// Sentinels that errors.Is matches on the errors the registry returns.
var (
	// ErrEstateNotFound reports an estate key that no imported catalogue
	// created.
	ErrEstateNotFound = errors.New("estate not found")

	// ErrRepositoryNotFound reports an owner and name with no Silver
	// repository row.
	ErrRepositoryNotFound = errors.New("repository not found")

	// ErrInvalidSlug reports a repository slug that is not of the form
	// "owner/name".
	ErrInvalidSlug = errors.New("invalid repository slug")
)

// detailedError carries a message that names the value and the fix, while
// errors.Is still matches its sentinel.
type detailedError struct {
	message  string
	sentinel error
}

func (e *detailedError) Error() string { return e.message }

func (e *detailedError) Unwrap() error { return e.sentinel }
