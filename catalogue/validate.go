package catalogue

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// keyPattern is the form of programme, project and component keys: 1 to 63
// lowercase ASCII letters, digits and hyphens, starting and ending with a
// letter or digit.
const keyPattern = `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`

// repositorySegmentPattern is the form of a GitHub owner or repository name.
const repositorySegmentPattern = `^[A-Za-z0-9_.-]+$`

// Length limits match the database columns that store the values.
const (
	maxNameLength              = 255
	maxDocumentationPathLength = 512
)

var (
	keyRegexp               = regexp.MustCompile(keyPattern)
	repositorySegmentRegexp = regexp.MustCompile(repositorySegmentPattern)
)

// Allowed enum values, sorted as the messages and the JSON Schema list them.
var (
	componentTypes = []ComponentType{
		ComponentDataPipeline, ComponentJob, ComponentLibrary, ComponentOther,
		ComponentService, ComponentTooling, ComponentUI,
	}
	lifecycles = []Lifecycle{LifecycleActive, LifecycleDeprecated, LifecyclePlanned}
	linkKinds  = []LinkKind{LinkDev, LinkOps, LinkRuntime, LinkTest}
)

// Validate checks the keys, names, cross-references and length limits of a
// catalogue in memory. It fills no defaults, so an empty enum value or
// default branch is an issue, as it would be in the database. It returns a
// *ValidationError listing every issue with its Path set and no position,
// or nil when the catalogue is valid.
func Validate(c *Catalogue) error {
	if c == nil {
		return &ValidationError{Issues: []Issue{{Message: "catalogue is nil"}}}
	}
	if issues := validate(c); len(issues) > 0 {
		return &ValidationError{Issues: issues}
	}
	return nil
}

// validator collects semantic issues. The maps index the first definition
// of every key, so that later duplicates and references can name it.
type validator struct {
	issues []Issue

	programmes   map[string]int
	projects     map[string]int
	components   map[string]componentSite
	repositories map[string]repositorySite

	// listedBy maps a project key to the first programme entry listing it.
	listedBy map[string]programmeEntry
}

type componentSite struct {
	path    string
	project string
}

type repositorySite struct {
	path       string
	repository Repository
}

type programmeEntry struct {
	path      string
	programme string
}

func validate(c *Catalogue) []Issue {
	v := &validator{
		programmes:   map[string]int{},
		projects:     map[string]int{},
		components:   map[string]componentSite{},
		repositories: map[string]repositorySite{},
		listedBy:     map[string]programmeEntry{},
	}
	v.indexKeys(c)

	if c.Version < 1 {
		v.add("version", "version must be at least 1, got %d", c.Version)
	}
	for i := range c.Projects {
		v.checkProject(c, i)
	}
	for i := range c.Programmes {
		v.checkProgramme(c, i)
	}
	return v.issues
}

// indexKeys records the first definition of every key before any check
// runs, because references may point forward in the file.
func (v *validator) indexKeys(c *Catalogue) {
	for i, programme := range c.Programmes {
		if _, ok := v.programmes[programme.Key]; !ok {
			v.programmes[programme.Key] = i
		}
	}

	for i, project := range c.Projects {
		if _, ok := v.projects[project.Key]; !ok {
			v.projects[project.Key] = i
		}
		for j, component := range project.Components {
			if _, ok := v.components[component.Key]; !ok {
				v.components[component.Key] = componentSite{
					path:    indexPath(fieldPath(indexPath("projects", i), "components"), j),
					project: project.Key,
				}
			}
		}
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.issues = append(v.issues, Issue{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) checkKey(path, key string) {
	if !keyRegexp.MatchString(key) {
		v.add(path, "invalid key %q: use a slug of 1 to 63 lowercase letters, digits and "+
			"hyphens that starts and ends with a letter or digit", key)
	}
}

func (v *validator) checkName(path, name string) {
	if strings.TrimSpace(name) == "" {
		v.add(path, "name must not be blank")
		return
	}
	v.checkLength(path, "name", name, maxNameLength)
}

func (v *validator) checkLength(path, what, value string, limit int) {
	if n := utf8.RuneCountInString(value); n > limit {
		v.add(path, "%s is %d characters long; the maximum is %d", what, n, limit)
	}
}

func (v *validator) checkDocumentationPaths(path string, paths []string) {
	for i, p := range paths {
		itemPath := indexPath(path, i)
		if strings.TrimSpace(p) == "" {
			v.add(itemPath, "documentation path must not be blank")
			continue
		}
		v.checkLength(itemPath, "documentation path", p, maxDocumentationPathLength)
	}
}

func (v *validator) checkProject(c *Catalogue, index int) {
	project := &c.Projects[index]
	path := indexPath("projects", index)

	v.checkKey(fieldPath(path, "key"), project.Key)
	if first := v.projects[project.Key]; first != index {
		v.add(fieldPath(path, "key"), "duplicate project key %q; first defined at %s",
			project.Key, indexPath("projects", first))
	}
	v.checkName(fieldPath(path, "name"), project.Name)

	if project.Programme != nil {
		if _, ok := v.programmes[*project.Programme]; !ok {
			v.add(fieldPath(path, "programme"), "unknown programme %q", *project.Programme)
		}
	}

	componentsPath := fieldPath(path, "components")
	for i := range project.Components {
		v.checkComponent(project, indexPath(componentsPath, i), &project.Components[i])
	}

	v.checkDocumentationPaths(fieldPath(path, "documentation_paths"), project.DocumentationPaths)
}

func (v *validator) checkComponent(project *Project, path string, component *Component) {
	keyPath := fieldPath(path, "key")
	v.checkKey(keyPath, component.Key)
	if first := v.components[component.Key]; first.path != path {
		v.add(keyPath, "duplicate component key %q; already used in project %q at %s",
			component.Key, first.project, first.path)
	}
	v.checkName(fieldPath(path, "name"), component.Name)

	if !slices.Contains(componentTypes, component.Type) {
		v.add(fieldPath(path, "type"), "invalid component type %q; allowed values: %s",
			component.Type, joinValues(componentTypes))
	}
	if !slices.Contains(lifecycles, component.Lifecycle) {
		v.add(fieldPath(path, "lifecycle"), "invalid lifecycle %q; allowed values: %s",
			component.Lifecycle, joinValues(lifecycles))
	}

	if component.Repository != nil {
		v.checkRepository(fieldPath(path, "repository"), *component.Repository)
	}

	for _, rel := range Relationships {
		v.checkLinks(path, component, rel)
	}
}

func (v *validator) checkRepository(path string, r Repository) {
	for _, segment := range []struct{ field, value string }{
		{"owner", r.Owner},
		{"name", r.Name},
	} {
		segmentPath := fieldPath(path, segment.field)
		if !repositorySegmentRegexp.MatchString(segment.value) {
			v.add(segmentPath, "invalid repository %s %q: use only letters, digits, dots, "+
				"underscores and hyphens", segment.field, segment.value)
			continue
		}
		v.checkLength(segmentPath, "repository "+segment.field, segment.value, maxNameLength)
	}

	branchPath := fieldPath(path, "default_branch")
	if strings.TrimSpace(r.DefaultBranch) == "" {
		v.add(branchPath, "default_branch must not be blank")
	} else {
		v.checkLength(branchPath, "default_branch", r.DefaultBranch, maxNameLength)
	}

	v.checkDocumentationPaths(fieldPath(path, "documentation_paths"), r.DocumentationPaths)
	v.checkRepositoryConsistency(path, r)
}

// checkRepositoryConsistency compares a repository with the first
// component that uses the same one. GitHub compares owner and name without
// regard to case, so the catalogue must spell them one way, and one
// repository has one default branch. Several components may share a
// repository, as in a monorepo.
func (v *validator) checkRepositoryConsistency(path string, r Repository) {
	slug := strings.ToLower(r.Slug())
	first, seen := v.repositories[slug]
	if !seen {
		v.repositories[slug] = repositorySite{path: path, repository: r}
		return
	}

	if r.Slug() != first.repository.Slug() {
		v.add(path, "repository %q is spelled %q at %s; use one spelling, "+
			"because GitHub ignores case in repository names",
			r.Slug(), first.repository.Slug(), first.path)
	}
	if r.DefaultBranch != first.repository.DefaultBranch {
		v.add(fieldPath(path, "default_branch"),
			"default_branch %q conflicts with %q for the same repository at %s",
			r.DefaultBranch, first.repository.DefaultBranch, first.path)
	}
}

func (v *validator) checkLinks(componentPath string, component *Component, rel Relationship) {
	listPath := fieldPath(componentPath, string(rel))
	firstIndex := map[string]int{}

	for i, link := range component.Links(rel) {
		path := indexPath(listPath, i)
		target := link.Component

		first, duplicate := firstIndex[target]
		switch {
		case target == component.Key:
			v.add(path, "component %q cannot reference itself", target)
		case !v.knownComponent(target):
			v.add(path, "unknown component %q", target)
		case duplicate:
			v.add(path, "duplicate link to component %q; first listed at %s",
				target, indexPath(string(rel), first))
		default:
			firstIndex[target] = i
		}

		if !slices.Contains(linkKinds, link.Kind) {
			v.add(fieldPath(path, "kind"), "invalid link kind %q; allowed values: %s",
				link.Kind, joinValues(linkKinds))
		}
	}
}

func (v *validator) knownComponent(key string) bool {
	_, ok := v.components[key]
	return ok
}

func (v *validator) checkProgramme(c *Catalogue, index int) {
	programme := &c.Programmes[index]
	path := indexPath("programmes", index)

	v.checkKey(fieldPath(path, "key"), programme.Key)
	if first := v.programmes[programme.Key]; first != index {
		v.add(fieldPath(path, "key"), "duplicate programme key %q; first defined at %s",
			programme.Key, indexPath("programmes", first))
	}
	v.checkName(fieldPath(path, "name"), programme.Name)

	projectsPath := fieldPath(path, "projects")
	for i, key := range programme.Projects {
		v.checkProgrammeEntry(c, programme, indexPath(projectsPath, i), key)
	}
}

// checkProgrammeEntry checks one project listed by a programme. A project
// belongs to at most one programme, and a project whose programme field
// is set must name the programme that lists it.
func (v *validator) checkProgrammeEntry(c *Catalogue, programme *Programme, path, key string) {
	projectIndex, ok := v.projects[key]
	if !ok {
		v.add(path, "unknown project %q", key)
		return
	}

	if first, listed := v.listedBy[key]; listed {
		if first.programme == programme.Key {
			v.add(path, "duplicate project %q; first listed at %s", key, first.path)
		} else {
			v.add(path, "project %q is already listed by programme %q at %s",
				key, first.programme, first.path)
		}
		return
	}
	v.listedBy[key] = programmeEntry{path: path, programme: programme.Key}

	own := c.Projects[projectIndex].Programme
	if own != nil && *own != programme.Key {
		v.add(path, "project %q is listed by programme %q but its programme field is %q",
			key, programme.Key, *own)
	}
}

func joinValues[T ~string](values []T) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
