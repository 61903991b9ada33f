package registry

import (
	"fmt"
	"strings"
)

// ParseSlug splits a repository slug of the form "owner/name". It rejects
// a slug without exactly one "/" or with an empty owner or name, returning
// an error that wraps ErrInvalidSlug. Surrounding spaces are kept as part
// of the owner and name, not trimmed.
func ParseSlug(slug string) (owner, name string, err error) {
	owner, name, found := strings.Cut(slug, "/")
	if !found || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", invalidSlug(slug)
	}
	return owner, name, nil
}

func invalidSlug(slug string) error {
	return &detailedError{
		message: fmt.Sprintf("invalid repository slug %q: expected owner/name, "+
			"with one slash and a non-empty owner and name", slug),
		sentinel: ErrInvalidSlug,
	}
}

// checkOwnerName rejects an owner and name that do not form a valid slug.
func checkOwnerName(owner, name string) error {
	if owner == "" || name == "" || strings.Contains(owner, "/") || strings.Contains(name, "/") {
		return invalidSlug(owner + "/" + name)
	}
	return nil
}

// slugKey is the case-insensitive identity of a repository.
func slugKey(owner, name string) string {
	return strings.ToLower(owner) + "/" + strings.ToLower(name)
}
