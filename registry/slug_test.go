package registry_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/registry"
)

func TestParseSlugAccepts(t *testing.T) {
	tests := []struct {
		slug, owner, name string
	}{
		{"leynos/ghillie", "leynos", "ghillie"},
		{"Owner-Org/Repo_Name", "Owner-Org", "Repo_Name"},
		{" a/b ", " a", "b "}, // spaces are part of the owner and name
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			is := is.New(t)

			owner, name, err := registry.ParseSlug(tt.slug)
			is.NoErr(err)
			is.Equal(owner, tt.owner)
			is.Equal(name, tt.name)
		})
	}
}

func TestParseSlugRejects(t *testing.T) {
	for _, slug := range []string{
		"", "   ", "/", "invalid", "owner/name/extra", `owner\name`, "owner/", "/name", "owner//name",
	} {
		t.Run(strconv.Quote(slug), func(t *testing.T) {
			is := is.New(t)

			_, _, err := registry.ParseSlug(slug)
			is.True(errors.Is(err, registry.ErrInvalidSlug))
			is.True(strings.Contains(err.Error(), "invalid repository slug "+strconv.Quote(slug)))
		})
	}
}
