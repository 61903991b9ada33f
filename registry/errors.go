package registry

import (
	"errors"
	"fmt"
)

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

	// ErrIngestionDisabled reports a request to ingest a repository whose
	// ingestion is disabled.
	ErrIngestionDisabled = errors.New("ingestion is disabled")
)

// DisabledError returns the error for a request to ingest repo, whose
// ingestion is disabled, with the command that enables it. It matches
// ErrIngestionDisabled.
func DisabledError(repo Repository) error {
	return &detailedError{sentinel: ErrIngestionDisabled, message: fmt.Sprintf(
		"ingestion of %s/%s is disabled: enable it with "+
			"'ghillie estate repo set --owner %s --name %s --ingestion-enabled'",
		repo.Owner, repo.Name, repo.Owner, repo.Name)}
}

// detailedError carries a message that names the value and the fix, while
// errors.Is still matches its sentinel.
type detailedError struct {
	message  string
	sentinel error
}

func (e *detailedError) Error() string { return e.message }

func (e *detailedError) Unwrap() error { return e.sentinel }
