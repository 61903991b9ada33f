package catalogue_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
)

func writeJSON(t *testing.T, c *catalogue.Catalogue) []byte {
	t.Helper()

	var buf bytes.Buffer
	if err := catalogue.WriteJSON(&buf, c); err != nil {
		t.Fatalf("write catalogue JSON: %v", err)
	}
	return buf.Bytes()
}

func TestWriteJSONRoundTrip(t *testing.T) {
	is := is.New(t)
	original := loadWildside(t)

	var decoded catalogue.Catalogue
	is.NoErr(json.Unmarshal(writeJSON(t, original), &decoded))

	if diff := cmp.Diff(original, &decoded); diff != "" {
		t.Errorf("catalogue changed in a JSON round trip (-before +after):\n%s", diff)
	}
	core := findComponent(t, &decoded, "wildside-core")
	is.Equal(core.Repository.DocumentationPaths, []string{"docs/roadmap.md", "docs/adr/"})
	is.Equal(core.DependsOn[0].Component, "wildside-engine")
}

func TestWriteJSONFieldNamesAndDefaults(t *testing.T) {
	is := is.New(t)
	c := mustParse(t, "version: 1\nprojects:\n  - key: alpha\n    name: Alpha\n"+
		"    components:\n      - {key: alpha-api, name: Alpha API}\n")

	out := string(writeJSON(t, c))

	is.True(strings.HasPrefix(out, "{\n  \"version\": 1,\n  \"projects\": [\n")) // two-space indent
	is.True(strings.HasSuffix(out, "\n}\n"))
	for _, want := range []string{
		`"programmes": []`,
		`"description": null`,
		`"programme": null`,
		`"type": "service"`,
		`"lifecycle": "active"`,
		`"repository": null`,
		`"depends_on": []`,
		`"emits_events_to": []`,
		`"summarise_dependency_prs": false`,
		`"ignore_title_prefixes": true`,
		`"documentation_paths": []`,
	} {
		is.True(strings.Contains(out, want)) // every field is written with its default
	}
}

func TestWriteJSONNilSlices(t *testing.T) {
	is := is.New(t)
	c := &catalogue.Catalogue{
		Version: 1,
		Projects: []catalogue.Project{{
			Key:  "alpha",
			Name: "Alpha",
			Components: []catalogue.Component{{
				Key:        "alpha-api",
				Name:       "Alpha API",
				Type:       catalogue.ComponentJob,
				Lifecycle:  catalogue.LifecycleDeprecated,
				Repository: &catalogue.Repository{Owner: "o", Name: "n", DefaultBranch: "trunk"},
			}},
		}},
	}

	var decoded any
	is.NoErr(json.Unmarshal(writeJSON(t, c), &decoded))

	nullable := map[string]bool{
		"description": true, "programme": true, "rationale": true, "repository": true,
	}
	for _, field := range nullFields(decoded) {
		is.True(nullable[field]) // only optional strings and the repository may be null
	}
	is.True(c.Programmes == nil) // the caller's catalogue is untouched
	is.True(c.Projects[0].Components[0].Repository.DocumentationPaths == nil)
}

// nullFields returns the names of the object fields holding null anywhere
// in a decoded JSON value.
func nullFields(value any) []string {
	var names []string
	switch v := value.(type) {
	case map[string]any:
		for name, field := range v {
			if field == nil {
				names = append(names, name)
			}
			names = append(names, nullFields(field)...)
		}
	case []any:
		for _, item := range v {
			names = append(names, nullFields(item)...)
		}
	}
	return names
}

func TestWriteJSONInvalid(t *testing.T) {
	is := is.New(t)
	var buf bytes.Buffer

	err := catalogue.WriteJSON(&buf, &catalogue.Catalogue{Version: 0})

	var validationErr *catalogue.ValidationError
	is.True(errors.As(err, &validationErr))
	is.Equal(buf.Len(), 0) // nothing is written for an invalid catalogue
}
