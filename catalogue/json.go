package catalogue

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes c to w as JSON indented by two spaces, with the field
// names of the YAML file, every field present and nil slices written as
// []. It validates c first and returns Validate's *ValidationError,
// without writing anything, when c is invalid. The output matches the
// schema that JSONSchema returns.
func WriteJSON(w io.Writer, c *Catalogue) error {
	if err := Validate(c); err != nil {
		return err
	}

	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(withEmptySlices(*c)); err != nil {
		return fmt.Errorf("write catalogue JSON: %w", err)
	}
	return nil
}

// withEmptySlices returns a copy of c in which every nil slice is empty,
// leaving the caller's catalogue untouched.
func withEmptySlices(c Catalogue) Catalogue {
	c.Projects = cloneEach(c.Projects, func(p Project) Project {
		p.Components = cloneEach(p.Components, func(component Component) Component {
			if component.Repository != nil {
				r := *component.Repository
				r.DocumentationPaths = emptyIfNil(r.DocumentationPaths)
				component.Repository = &r
			}
			component.DependsOn = emptyIfNil(component.DependsOn)
			component.BlockedBy = emptyIfNil(component.BlockedBy)
			component.EmitsEventsTo = emptyIfNil(component.EmitsEventsTo)
			component.Notes = emptyIfNil(component.Notes)
			return component
		})
		p.Noise.IgnoreAuthors = emptyIfNil(p.Noise.IgnoreAuthors)
		p.Noise.IgnoreLabels = emptyIfNil(p.Noise.IgnoreLabels)
		p.Noise.IgnorePaths = emptyIfNil(p.Noise.IgnorePaths)
		p.Noise.IgnoreTitlePrefixes = emptyIfNil(p.Noise.IgnoreTitlePrefixes)
		p.DocumentationPaths = emptyIfNil(p.DocumentationPaths)
		return p
	})
	c.Programmes = cloneEach(c.Programmes, func(p Programme) Programme {
		p.Projects = emptyIfNil(p.Projects)
		return p
	})
	return c
}

// cloneEach returns a new non-nil slice with fix applied to each value.
func cloneEach[T any](values []T, fix func(T) T) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = fix(v)
	}
	return out
}

func emptyIfNil[T any](values []T) []T {
	if values == nil {
		return []T{}
	}
	return values
}
