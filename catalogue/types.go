package catalogue

// Catalogue is the root of an estate catalogue file. The estate's key and
// name are not part of the file: the caller of the importer supplies them.
type Catalogue struct {
	// Version is the catalogue format version, from 1 to CurrentVersion.
	Version int `json:"version" yaml:"version" jsonschema:"minimum=1"`

	// Projects lists the estate's projects in file order.
	Projects []Project `json:"projects" yaml:"projects"`

	// Programmes groups projects; programmes are validated but not stored.
	Programmes []Programme `json:"programmes" yaml:"programmes"`
}

// Programme is a named group of projects.
type Programme struct {
	Key         string   `json:"key" yaml:"key"`
	Name        string   `json:"name" yaml:"name"`
	Description *string  `json:"description" yaml:"description"`
	Projects    []string `json:"projects" yaml:"projects"`
}

// Project is a unit of delivery made of components, with the noise filters
// and status preferences that ingestion and reporting apply to it.
type Project struct {
	Key                string         `json:"key" yaml:"key"`
	Name               string         `json:"name" yaml:"name"`
	Description        *string        `json:"description" yaml:"description"`
	Programme          *string        `json:"programme" yaml:"programme"`
	Components         []Component    `json:"components" yaml:"components"`
	Noise              NoiseFilters   `json:"noise" yaml:"noise"`
	Status             StatusSettings `json:"status" yaml:"status"`
	DocumentationPaths []string       `json:"documentation_paths" yaml:"documentation_paths"`
}

// Component is a service, library, UI or other part of a project. A
// component without a repository represents planned or non-code work.
type Component struct {
	Key           string          `json:"key" yaml:"key"`
	Name          string          `json:"name" yaml:"name"`
	Type          ComponentType   `json:"type" yaml:"type"`
	Description   *string         `json:"description" yaml:"description"`
	Lifecycle     Lifecycle       `json:"lifecycle" yaml:"lifecycle"`
	Repository    *Repository     `json:"repository" yaml:"repository"`
	DependsOn     []ComponentLink `json:"depends_on" yaml:"depends_on"`
	BlockedBy     []ComponentLink `json:"blocked_by" yaml:"blocked_by"`
	EmitsEventsTo []ComponentLink `json:"emits_events_to" yaml:"emits_events_to"`
	Notes         []string        `json:"notes" yaml:"notes"`
}

// Repository is the GitHub repository that contains a component's code.
type Repository struct {
	Owner              string   `json:"owner" yaml:"owner"`
	Name               string   `json:"name" yaml:"name"`
	DefaultBranch      string   `json:"default_branch" yaml:"default_branch"`
	DocumentationPaths []string `json:"documentation_paths" yaml:"documentation_paths"`
}

// Slug returns the repository's "owner/name" form.
func (r Repository) Slug() string {
	return r.Owner + "/" + r.Name
}

// ComponentLink is one relationship from a component to another component
// of the same estate, possibly in another project.
type ComponentLink struct {
	Component string   `json:"component" yaml:"component"`
	Kind      LinkKind `json:"kind" yaml:"kind"`
	Rationale *string  `json:"rationale" yaml:"rationale"`
}

// NoiseFilters lists the events that ingestion drops for a project.
// Enabled false turns every filter off; a false toggle turns one filter off
// while keeping its configured values.
type NoiseFilters struct {
	Enabled             bool               `json:"enabled" yaml:"enabled"`
	Toggles             NoiseFilterToggles `json:"toggles" yaml:"toggles"`
	IgnoreAuthors       []string           `json:"ignore_authors" yaml:"ignore_authors"`
	IgnoreLabels        []string           `json:"ignore_labels" yaml:"ignore_labels"`
	IgnorePaths         []string           `json:"ignore_paths" yaml:"ignore_paths"`
	IgnoreTitlePrefixes []string           `json:"ignore_title_prefixes" yaml:"ignore_title_prefixes"`
}

// NoiseFilterToggles switches individual noise filters on or off.
type NoiseFilterToggles struct {
	IgnoreAuthors       bool `json:"ignore_authors" yaml:"ignore_authors"`
	IgnoreLabels        bool `json:"ignore_labels" yaml:"ignore_labels"`
	IgnorePaths         bool `json:"ignore_paths" yaml:"ignore_paths"`
	IgnoreTitlePrefixes bool `json:"ignore_title_prefixes" yaml:"ignore_title_prefixes"`
}

// StatusSettings is a project's preferences for status reports.
type StatusSettings struct {
	// SummariseDependencyPRs false means dependency update pull requests
	// are left out of summaries.
	SummariseDependencyPRs bool `json:"summarise_dependency_prs" yaml:"summarise_dependency_prs"`
	EmphasiseDocumentation bool `json:"emphasise_documentation" yaml:"emphasise_documentation"`
	PreferLongForm         bool `json:"prefer_long_form" yaml:"prefer_long_form"`
}

// ComponentType is the kind of thing a component is.
type ComponentType string

// Component types. The default is ComponentService.
const (
	ComponentService      ComponentType = "service"
	ComponentUI           ComponentType = "ui"
	ComponentLibrary      ComponentType = "library"
	ComponentDataPipeline ComponentType = "data-pipeline"
	ComponentJob          ComponentType = "job"
	ComponentTooling      ComponentType = "tooling"
	ComponentOther        ComponentType = "other"
)

// Lifecycle is the delivery stage of a component.
type Lifecycle string

// Lifecycle stages. The default is LifecycleActive.
const (
	LifecyclePlanned    Lifecycle = "planned"
	LifecycleActive     Lifecycle = "active"
	LifecycleDeprecated Lifecycle = "deprecated"
)

// LinkKind is the purpose of a relationship between components.
type LinkKind string

// Link kinds. The default is LinkRuntime.
const (
	LinkRuntime LinkKind = "runtime"
	LinkDev     LinkKind = "dev"
	LinkTest    LinkKind = "test"
	LinkOps     LinkKind = "ops"
)

// Relationship names a component link list; the importer stores it in
// component_edges.relationship.
type Relationship string

// Relationships, in the order validation and import visit them.
const (
	RelDependsOn     Relationship = "depends_on"
	RelBlockedBy     Relationship = "blocked_by"
	RelEmitsEventsTo Relationship = "emits_events_to"
)

// Links returns the component's links of one relationship.
func (c *Component) Links(rel Relationship) []ComponentLink {
	switch rel {
	case RelDependsOn:
		return c.DependsOn
	case RelBlockedBy:
		return c.BlockedBy
	case RelEmitsEventsTo:
		return c.EmitsEventsTo
	}
	return nil
}

// Relationships lists every relationship in validation and import order.
var Relationships = []Relationship{RelDependsOn, RelBlockedBy, RelEmitsEventsTo}
