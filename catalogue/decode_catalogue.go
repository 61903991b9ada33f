package catalogue

import "github.com/goccy/go-yaml/ast"

// Each decoder below starts from a value holding every default, so that a
// field that is absent, or that fails to decode, keeps its default.

func (d *decoder) catalogue(n ast.Node) *Catalogue {
	c := &Catalogue{Projects: []Project{}, Programmes: []Programme{}}
	d.decodeMapping(n, "", []field{
		{name: "version", required: true, decode: d.intInto(&c.Version)},
		{name: "projects", required: true, decode: func(n ast.Node, path string) {
			c.Projects = decodeList(d, n, path, d.project)
		}},
		{name: "programmes", decode: func(n ast.Node, path string) {
			c.Programmes = decodeList(d, n, path, d.programme)
		}},
	})
	return c
}

func (d *decoder) programme(n ast.Node, path string) Programme {
	p := Programme{Projects: []string{}}
	d.decodeMapping(n, path, []field{
		{name: "key", required: true, decode: d.stringInto(&p.Key)},
		{name: "name", required: true, decode: d.stringInto(&p.Name)},
		{name: "description", decode: d.optionalStringInto(&p.Description)},
		{name: "projects", decode: d.stringsInto(&p.Projects)},
	})
	return p
}

func (d *decoder) project(n ast.Node, path string) Project {
	p := Project{
		Components:         []Component{},
		Noise:              defaultNoiseFilters(),
		DocumentationPaths: []string{},
	}
	d.decodeMapping(n, path, []field{
		{name: "key", required: true, decode: d.stringInto(&p.Key)},
		{name: "name", required: true, decode: d.stringInto(&p.Name)},
		{name: "description", decode: d.optionalStringInto(&p.Description)},
		{name: "programme", decode: d.optionalStringInto(&p.Programme)},
		{name: "components", required: true, decode: func(n ast.Node, path string) {
			p.Components = decodeList(d, n, path, d.component)
		}},
		{name: "noise", decode: func(n ast.Node, path string) {
			p.Noise = d.noiseFilters(n, path)
		}},
		{name: "status", decode: func(n ast.Node, path string) {
			p.Status = d.statusSettings(n, path)
		}},
		{name: "documentation_paths", decode: d.stringsInto(&p.DocumentationPaths)},
	})
	return p
}

func (d *decoder) component(n ast.Node, path string) Component {
	c := Component{
		Type:          ComponentService,
		Lifecycle:     LifecycleActive,
		DependsOn:     []ComponentLink{},
		BlockedBy:     []ComponentLink{},
		EmitsEventsTo: []ComponentLink{},
		Notes:         []string{},
	}
	links := func(dst *[]ComponentLink) func(ast.Node, string) {
		return func(n ast.Node, path string) {
			*dst = decodeList(d, n, path, d.componentLink)
		}
	}
	d.decodeMapping(n, path, []field{
		{name: "key", required: true, decode: d.stringInto(&c.Key)},
		{name: "name", required: true, decode: d.stringInto(&c.Name)},
		{name: "type", decode: d.stringInto((*string)(&c.Type))},
		{name: "description", decode: d.optionalStringInto(&c.Description)},
		{name: "lifecycle", decode: d.stringInto((*string)(&c.Lifecycle))},
		{name: "repository", decode: func(n ast.Node, path string) {
			n, ok := d.enter(n, path)
			if !ok || isNull(n) {
				return
			}
			repository := d.repository(n, path)
			c.Repository = &repository
		}},
		{name: string(RelDependsOn), decode: links(&c.DependsOn)},
		{name: string(RelBlockedBy), decode: links(&c.BlockedBy)},
		{name: string(RelEmitsEventsTo), decode: links(&c.EmitsEventsTo)},
		{name: "notes", decode: d.stringsInto(&c.Notes)},
	})
	return c
}

func (d *decoder) repository(n ast.Node, path string) Repository {
	r := Repository{DefaultBranch: defaultBranch, DocumentationPaths: []string{}}
	d.decodeMapping(n, path, []field{
		{name: "owner", required: true, decode: d.stringInto(&r.Owner)},
		{name: "name", required: true, decode: d.stringInto(&r.Name)},
		{name: "default_branch", decode: d.stringInto(&r.DefaultBranch)},
		{name: "documentation_paths", decode: d.stringsInto(&r.DocumentationPaths)},
	})
	return r
}

func (d *decoder) componentLink(n ast.Node, path string) ComponentLink {
	l := ComponentLink{Kind: LinkRuntime}
	d.decodeMapping(n, path, []field{
		{name: "component", required: true, decode: d.stringInto(&l.Component)},
		{name: "kind", decode: d.stringInto((*string)(&l.Kind))},
		{name: "rationale", decode: d.optionalStringInto(&l.Rationale)},
	})
	return l
}

func (d *decoder) noiseFilters(n ast.Node, path string) NoiseFilters {
	f := defaultNoiseFilters()
	d.decodeMapping(n, path, []field{
		{name: "enabled", decode: d.boolInto(&f.Enabled)},
		{name: "toggles", decode: func(n ast.Node, path string) {
			f.Toggles = d.noiseFilterToggles(n, path)
		}},
		{name: "ignore_authors", decode: d.stringsInto(&f.IgnoreAuthors)},
		{name: "ignore_labels", decode: d.stringsInto(&f.IgnoreLabels)},
		{name: "ignore_paths", decode: d.stringsInto(&f.IgnorePaths)},
		{name: "ignore_title_prefixes", decode: d.stringsInto(&f.IgnoreTitlePrefixes)},
	})
	return f
}

func (d *decoder) noiseFilterToggles(n ast.Node, path string) NoiseFilterToggles {
	t := defaultNoiseFilters().Toggles
	d.decodeMapping(n, path, []field{
		{name: "ignore_authors", decode: d.boolInto(&t.IgnoreAuthors)},
		{name: "ignore_labels", decode: d.boolInto(&t.IgnoreLabels)},
		{name: "ignore_paths", decode: d.boolInto(&t.IgnorePaths)},
		{name: "ignore_title_prefixes", decode: d.boolInto(&t.IgnoreTitlePrefixes)},
	})
	return t
}

func (d *decoder) statusSettings(n ast.Node, path string) StatusSettings {
	var s StatusSettings
	d.decodeMapping(n, path, []field{
		{name: "summarise_dependency_prs", decode: d.boolInto(&s.SummariseDependencyPRs)},
		{name: "emphasise_documentation", decode: d.boolInto(&s.EmphasiseDocumentation)},
		{name: "prefer_long_form", decode: d.boolInto(&s.PreferLongForm)},
	})
	return s
}

// defaultBranch is the repository branch assumed when a catalogue omits it.
const defaultBranch = "main"

func defaultNoiseFilters() NoiseFilters {
	return NoiseFilters{
		Enabled: true,
		Toggles: NoiseFilterToggles{
			IgnoreAuthors:       true,
			IgnoreLabels:        true,
			IgnorePaths:         true,
			IgnoreTitlePrefixes: true,
		},
		IgnoreAuthors:       []string{},
		IgnoreLabels:        []string{},
		IgnorePaths:         []string{},
		IgnoreTitlePrefixes: []string{},
	}
}
