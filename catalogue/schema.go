package catalogue

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/invopop/jsonschema"
)

//go:generate go test -run TestSchemaFile -update .

// schemaID is the $id of the catalogue JSON Schema.
const schemaID = "https://ghillie.example/schemas/catalogue.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of a catalogue, as
// JSON indented by two spaces with a final newline. The output is the same
// on every call. The schema checks structure, the version, enums, key and
// repository name patterns and length limits. Only Validate checks
// cross-references, uniqueness and control characters in text.
func JSONSchema() ([]byte, error) {
	reflector := &jsonschema.Reflector{
		// Required fields are set by each type's JSONSchemaExtend method,
		// because every field has a json tag without omitempty.
		RequiredFromJSONSchemaTags: true,
		Anonymous:                  true,
	}
	schema := reflector.Reflect(&Catalogue{})
	schema.ID = schemaID

	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode catalogue JSON Schema: %w", err)
	}
	return append(out, '\n'), nil
}

// JSONSchemaExtend completes the reflected schema of a Catalogue.
func (Catalogue) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "Catalogue",
		"An estate catalogue: the projects, components and repositories that "+
			"Ghillie watches, and the programmes that group projects.",
		"version", "projects")
	version := property(s, "version")
	version.Description = fmt.Sprintf(
		"Catalogue format version; %d is the current version.", CurrentVersion)
	version.Maximum = json.Number(strconv.Itoa(CurrentVersion))
	describe(s, "projects", "The estate's projects.")
	describe(s, "programmes", "Groups of projects.")
	property(s, "programmes").Default = []any{}
}

// JSONSchemaExtend completes the reflected schema of a Programme.
func (Programme) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "Programme", "A named group of projects.", "key", "name")
	keyProperty(s, "key", "Unique programme key.")
	nameProperty(s, "name", "Display name of the programme.")
	nullable(s, "description", "What the programme delivers.")
	describe(s, "projects", "Keys of the projects in the programme; "+
		"a project belongs to at most one programme.")
	property(s, "projects").Default = []any{}
	restrictKey(property(s, "projects").Items)
}

// JSONSchemaExtend completes the reflected schema of a Project.
func (Project) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "Project",
		"A unit of delivery made of components, with the noise filters and "+
			"status preferences applied to it.",
		"key", "name", "components")
	keyProperty(s, "key", "Project key, unique in the catalogue.")
	nameProperty(s, "name", "Display name of the project.")
	nullable(s, "description", "What the project delivers.")
	nullable(s, "programme", "Key of the programme the project belongs to.")
	restrictKey(property(s, "programme").AnyOf[0])
	describe(s, "components", "The project's components; the list may be empty.")
	describe(s, "noise", "Events that ingestion drops for this project.")
	describe(s, "status", "Preferences for this project's status reports.")
	documentationPaths(s, "Paths of the project's roadmaps, design records "+
		"and other documents.")
}

// JSONSchemaExtend completes the reflected schema of a Component.
func (Component) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "Component",
		"A service, library, user interface or other part of a project. A "+
			"component without a repository is planned or non-code work.",
		"key", "name")
	keyProperty(s, "key", "Component key, unique across every project of the catalogue.")
	nameProperty(s, "name", "Display name of the component.")
	describe(s, "type", "What kind of thing the component is.")
	nullable(s, "description", "What the component does.")
	describe(s, "lifecycle", "Delivery stage of the component.")
	nullable(s, "repository", "GitHub repository holding the component's code.")
	linkList(s, string(RelDependsOn), "Components this one needs.")
	linkList(s, string(RelBlockedBy),
		"Components whose work must land before this one can progress.")
	linkList(s, string(RelEmitsEventsTo), "Components that receive events from this one.")
	describe(s, "notes", "Free-form notes about the component.")
	property(s, "notes").Default = []any{}
}

// JSONSchemaExtend completes the reflected schema of a Repository.
func (Repository) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "Repository",
		"The GitHub repository that contains a component's code. Components that "+
			"share a repository must spell it and its default branch the same way.",
		"owner", "name")
	owner := property(s, "owner")
	owner.Description = "GitHub user or organisation that owns the repository."
	owner.Pattern = repositoryOwnerPattern
	owner.MaxLength = limit(maxRepositoryOwnerLength)

	name := property(s, "name")
	name.Description = "Repository name, without the owner."
	name.Pattern = repositoryNamePattern
	name.MaxLength = limit(maxRepositoryNameLength)
	name.Not = &jsonschema.Schema{Enum: []any{".", ".."}}

	branch := property(s, "default_branch")
	branch.Description = "Branch that ingestion follows."
	branch.Default = defaultBranch
	branch.Pattern = `\S`
	branch.MaxLength = limit(maxNameLength)

	documentationPaths(s, "Paths of roadmaps, design records and other "+
		"documents in the repository.")
}

// JSONSchemaExtend completes the reflected schema of a ComponentLink.
func (ComponentLink) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "ComponentLink",
		"A relationship from a component to another component of the catalogue, "+
			"possibly in another project.",
		"component")
	keyProperty(s, "component", "Key of the target component; it must not be the "+
		"component that holds the link.")
	describe(s, "kind", "What the relationship is needed for.")
	nullable(s, "rationale", "Why the relationship exists.")
}

// JSONSchemaExtend completes the reflected schema of NoiseFilters.
func (NoiseFilters) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "NoiseFilters",
		"Events that ingestion drops for a project. Setting enabled to false "+
			"turns every filter off; a false toggle turns one filter off and keeps "+
			"its values.")
	describe(s, "enabled", "Whether any filter applies.")
	property(s, "enabled").Default = true
	describe(s, "toggles", "Switches for the individual filters.")
	for name, description := range map[string]string{
		"ignore_authors":        "Logins whose events are dropped, such as dependabot[bot].",
		"ignore_labels":         "Labels whose pull requests and issues are dropped.",
		"ignore_paths":          "Glob patterns of files whose changes are dropped.",
		"ignore_title_prefixes": "Title prefixes of pull requests and issues that are dropped.",
	} {
		describe(s, name, description)
		property(s, name).Default = []any{}
	}
}

// JSONSchemaExtend completes the reflected schema of NoiseFilterToggles.
func (NoiseFilterToggles) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "NoiseFilterToggles",
		"Switches that turn individual noise filters on or off.")
	for name, description := range map[string]string{
		"ignore_authors":        "Whether ignore_authors applies.",
		"ignore_labels":         "Whether ignore_labels applies.",
		"ignore_paths":          "Whether ignore_paths applies.",
		"ignore_title_prefixes": "Whether ignore_title_prefixes applies.",
	} {
		describe(s, name, description)
		property(s, name).Default = true
	}
}

// JSONSchemaExtend completes the reflected schema of StatusSettings.
func (StatusSettings) JSONSchemaExtend(s *jsonschema.Schema) {
	describeObject(s, "StatusSettings", "A project's preferences for status reports.")
	for name, description := range map[string]string{
		"summarise_dependency_prs": "Whether dependency update pull requests appear in " +
			"summaries; false leaves them out.",
		"emphasise_documentation": "Whether reports give documentation changes prominence.",
		"prefer_long_form":        "Whether reports use the long form.",
	} {
		describe(s, name, description)
		property(s, name).Default = false
	}
}

// JSONSchemaExtend adds the allowed component types and the default.
func (ComponentType) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Enum = enumValues(componentTypes)
	s.Default = string(ComponentService)
}

// JSONSchemaExtend adds the allowed lifecycle stages and the default.
func (Lifecycle) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Enum = enumValues(lifecycles)
	s.Default = string(LifecycleActive)
}

// JSONSchemaExtend adds the allowed link kinds and the default.
func (LinkKind) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Enum = enumValues(linkKinds)
	s.Default = string(LinkRuntime)
}

func describeObject(s *jsonschema.Schema, title, description string, required ...string) {
	s.Title = title
	s.Description = description
	s.Required = required
}

// property returns the schema of a struct field. It panics when the field
// does not exist, which only a change to the Go types can cause.
func property(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties.Get(name)
	if !ok {
		panic(fmt.Sprintf("catalogue: %s has no JSON Schema property %q", s.Title, name))
	}
	return p
}

func describe(s *jsonschema.Schema, name, description string) {
	property(s, name).Description = description
}

func keyProperty(s *jsonschema.Schema, name, description string) {
	p := property(s, name)
	p.Description = description
	restrictKey(p)
}

func restrictKey(s *jsonschema.Schema) {
	s.Pattern = keyPattern
}

// nameProperty rejects display names that are empty, only ASCII white
// space or longer than maxNameLength characters. Validate also rejects
// names made only of other Unicode white space.
func nameProperty(s *jsonschema.Schema, name, description string) {
	p := property(s, name)
	p.Description = description
	p.Pattern = `\S`
	p.MaxLength = limit(maxNameLength)
}

// nullable turns an optional field, which the reflector describes by the
// type it points to, into that type or null, defaulting to null.
func nullable(s *jsonschema.Schema, name, description string) {
	p := property(s, name)
	s.Properties.Set(name, &jsonschema.Schema{
		AnyOf:       []*jsonschema.Schema{p, {Type: "null"}},
		Description: description,
		Default:     json.RawMessage("null"),
	})
}

func documentationPaths(s *jsonschema.Schema, description string) {
	p := property(s, "documentation_paths")
	p.Description = description
	p.Default = []any{}
	p.Items.Pattern = `\S`
	p.Items.MaxLength = limit(maxDocumentationPathLength)
}

func linkList(s *jsonschema.Schema, name, description string) {
	p := property(s, name)
	p.Description = description
	p.Default = []any{}
}

func limit(n int) *uint64 {
	u := uint64(n)
	return &u
}

func enumValues[T ~string](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
