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

// CurrentVersion is the catalogue format version that this package reads.
// Parse and Validate reject a catalogue with a higher version.
const CurrentVersion = 1

// repositoryOwnerPattern and repositoryNamePattern are the characters that
// GitHub allows in an owner and a repository name. An owner cannot start
// with a hyphen. Underscores appear in the owners of enterprise managed
// users. A repository name cannot be "." or "..".
const (
	repositoryOwnerPattern = `^[A-Za-z0-9_][A-Za-z0-9_-]*$`
	repositoryNamePattern  = `^[A-Za-z0-9._-]+$`
)

// Length limits of repository owners and names are GitHub's. The others
// match the database columns that store the values.
const (
	maxNameLength              = 255
	maxDocumentationPathLength = 512
	maxRepositoryOwnerLength   = 39
	maxRepositoryNameLength    = 100
)

var (
	keyRegexp             = regexp.MustCompile(keyPattern)
	repositoryOwnerRegexp = regexp.MustCompile(repositoryOwnerPattern)
	repositoryNameRegexp  = regexp.MustCompile(repositoryNamePattern)
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

// Validate checks the version, keys, names, cross-references, characters
// and length limits of a catalogue in memory. Text must not contain
// control characters other than tab, and only descriptions, rationales
// and notes may contain line breaks. Validate fills no defaults, so an
// empty enum value or default branch is an issue, as it would be in the
// database. It returns a *ValidationError listing every issue with its
// Path set and no position, or nil when the catalogue is valid.
func Validate(c *Catalogue) error {
	if c == nil {
		return &ValidationError{Issues: []Issue{{Message: "catalogue is nil"}}}
	}
	if issues := validate(c); len(issues) > 0 {
		return &ValidationError{Issues: issues}
	}
	return nil
}

// maxSuggestionWork bounds the pairs of characters that the suggestions
// for unknown references compare in one catalogue, about 0.15 seconds of
// work on a 2-core AMD EPYC virtual machine. It covers 200 unknown
// references among 1,000 keys of 15 characters, and keeps a file with
// thousands of unknown references among thousands of keys from taking
// minutes. References reported after the budget runs out get no
// suggestion.
const maxSuggestionWork = 50_000_000

// validator collects semantic issues. The maps index the first definition
// of every key, so that later duplicates and references can name it.
type validator struct {
	issues []Issue

	programmes   map[string]int
	projects     map[string]int
	components   map[string]componentSite
	repositories map[string]repositorySite

	// The keys of the maps above in file order, from which unknown
	// references take their suggestions.
	programmeKeys []string
	projectKeys   []string
	componentKeys []string

	// suggestionBudget is the edit distance work left for suggestions,
	// in pairs of characters compared.
	suggestionBudget int

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

		suggestionBudget: maxSuggestionWork,
	}
	v.indexKeys(c)

	if c.Version < 1 {
		v.add("version", "version must be at least 1, got %d", c.Version)
	} else if c.Version > CurrentVersion {
		v.issues = append(v.issues, versionIssue(c.Version))
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
			v.programmeKeys = append(v.programmeKeys, programme.Key)
		}
	}

	for i, project := range c.Projects {
		if _, ok := v.projects[project.Key]; !ok {
			v.projects[project.Key] = i
			v.projectKeys = append(v.projectKeys, project.Key)
		}
		for j, component := range project.Components {
			if _, ok := v.components[component.Key]; !ok {
				v.components[component.Key] = componentSite{
					path:    indexPath(fieldPath(indexPath("projects", i), "components"), j),
					project: project.Key,
				}
				v.componentKeys = append(v.componentKeys, component.Key)
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

// versionIssue reports a version newer than CurrentVersion.
func versionIssue(version int) Issue {
	return Issue{
		Path: "version",
		Message: fmt.Sprintf("unsupported catalogue version %d: this ghillie reads version %d; "+
			"upgrade ghillie to read newer versions", version, CurrentVersion),
	}
}

func (v *validator) checkName(path, name string) {
	if strings.TrimSpace(name) == "" {
		v.add(path, "name must not be blank")
		return
	}
	v.checkLine(path, "name", name)
	v.checkLength(path, "name", name, maxNameLength)
}

// checkLine reports a control character or a line break in a value that
// must fit on one line. Tabs are allowed.
func (v *validator) checkLine(path, valueName, value string) {
	v.checkCharacters(path, valueName, value, false)
}

// checkText reports a control character in free text, which may contain
// tabs and line breaks.
func (v *validator) checkText(path, valueName, value string) {
	v.checkCharacters(path, valueName, value, true)
}

// checkCharacters reports the first line break in value unless multiLine
// is true, and the first control character other than tab, line feed and
// carriage return. Messages call the value valueName. PostgreSQL rejects
// NUL in text, and the other controls corrupt the terminals and pages that
// show the values.
func (v *validator) checkCharacters(path, valueName, value string, multiLine bool) {
	position := 0
	for _, r := range value {
		position++
		switch {
		case isLineBreak(r):
			if !multiLine {
				v.add(path, "%s %s contains a line break at character %d; "+
					"write it on one line", valueName, quoteShort(value), position)
				return
			}
		case r != '\t' && isControl(r):
			v.add(path, "%s %s contains control character %U at character %d; remove it",
				valueName, quoteShort(value), r, position)
			return
		}
	}
}

// isLineBreak reports whether r ends a line: line feed, carriage return,
// U+2028 LINE SEPARATOR or U+2029 PARAGRAPH SEPARATOR.
func isLineBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029'
}

// isControl reports whether r is a C0 control character, DEL or a C1
// control character.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7F && r <= 0x9F)
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
		v.checkLine(itemPath, "documentation path", p)
		v.checkLength(itemPath, "documentation path", p, maxDocumentationPathLength)
		v.checkPattern(itemPath, p)
	}
}

// checkPattern checks that a path is a valid glob (see Glob).
func (v *validator) checkPattern(path, pattern string) {
	if strings.TrimSpace(pattern) == "" {
		return
	}
	if _, err := CompileGlob(pattern); err != nil {
		v.add(path, "%s", err.Error())
	}
}

// checkOptionalText checks a description or rationale when it is set.
func (v *validator) checkOptionalText(path, valueName string, value *string) {
	if value != nil {
		v.checkText(path, valueName, *value)
	}
}

// checkNoise checks the values of a project's noise filters, which must
// each fit on one line.
func (v *validator) checkNoise(path string, noise NoiseFilters) {
	for _, list := range []struct {
		field, valueName string
		values           []string
	}{
		{"ignore_authors", "ignored author", noise.IgnoreAuthors},
		{"ignore_labels", "ignored label", noise.IgnoreLabels},
		{"ignore_paths", "ignored path", noise.IgnorePaths},
		{"ignore_title_prefixes", "ignored title prefix", noise.IgnoreTitlePrefixes},
	} {
		listPath := fieldPath(path, list.field)
		for i, value := range list.values {
			v.checkLine(indexPath(listPath, i), list.valueName, value)
			if list.field == "ignore_paths" {
				v.checkPattern(indexPath(listPath, i), value)
			}
		}
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
	v.checkOptionalText(fieldPath(path, "description"), "description", project.Description)

	if project.Programme != nil {
		if _, ok := v.programmes[*project.Programme]; !ok {
			v.add(fieldPath(path, "programme"), "unknown programme %q%s",
				*project.Programme, v.suggest(*project.Programme, v.programmeKeys))
		}
	}

	componentsPath := fieldPath(path, "components")
	for i := range project.Components {
		v.checkComponent(project, indexPath(componentsPath, i), &project.Components[i])
	}

	v.checkNoise(fieldPath(path, "noise"), project.Noise)
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
	v.checkOptionalText(fieldPath(path, "description"), "description", component.Description)

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

	notesPath := fieldPath(path, "notes")
	for i, note := range component.Notes {
		v.checkText(indexPath(notesPath, i), "note", note)
	}
}

func (v *validator) checkRepository(path string, r Repository) {
	v.checkRepositoryOwner(fieldPath(path, "owner"), r.Owner)
	v.checkRepositoryName(fieldPath(path, "name"), r.Name)

	branchPath := fieldPath(path, "default_branch")
	if strings.TrimSpace(r.DefaultBranch) == "" {
		v.add(branchPath, "default_branch must not be blank")
	} else {
		v.checkLine(branchPath, "default_branch", r.DefaultBranch)
		v.checkLength(branchPath, "default_branch", r.DefaultBranch, maxNameLength)
	}

	v.checkDocumentationPaths(fieldPath(path, "documentation_paths"), r.DocumentationPaths)
	v.checkRepositoryConsistency(path, r)
}

// checkRepositoryOwner checks owner against GitHub's rules for user and
// organisation names.
func (v *validator) checkRepositoryOwner(path, owner string) {
	if !repositoryOwnerRegexp.MatchString(owner) {
		v.add(path, "invalid repository owner %q: use 1 to %d letters, digits, hyphens and "+
			"underscores, not starting with a hyphen", owner, maxRepositoryOwnerLength)
		return
	}
	v.checkLength(path, "repository owner", owner, maxRepositoryOwnerLength)
}

// checkRepositoryName checks name against GitHub's rules for repository
// names.
func (v *validator) checkRepositoryName(path, name string) {
	switch {
	case !repositoryNameRegexp.MatchString(name):
		v.add(path, "invalid repository name %q: use 1 to %d letters, digits, dots, "+
			"underscores and hyphens", name, maxRepositoryNameLength)
	case name == "." || name == "..":
		v.add(path, "invalid repository name %q: GitHub does not allow . or .. "+
			"as a repository name", name)
	default:
		v.checkLength(path, "repository name", name, maxRepositoryNameLength)
	}
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
			v.add(path, "unknown component %q%s", target, v.suggest(target, v.componentKeys))
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
		v.checkOptionalText(fieldPath(path, "rationale"), "rationale", link.Rationale)
	}
}

// suggest returns the suggestion for an unknown reference to one of keys,
// while the suggestion budget lasts.
func (v *validator) suggest(name string, keys []string) string {
	return didYouMean(name, keys, &v.suggestionBudget)
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
	v.checkOptionalText(fieldPath(path, "description"), "description", programme.Description)

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
		v.add(path, "unknown project %q%s", key, v.suggest(key, v.projectKeys))
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
