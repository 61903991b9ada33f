package catalogue_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
)

const wildsideCatalogue = "../examples/wildside-catalogue.yaml"

func loadWildside(t *testing.T) *catalogue.Catalogue {
	t.Helper()

	c, err := catalogue.LoadFile(wildsideCatalogue)
	if err != nil {
		t.Fatalf("load example catalogue: %v", err)
	}
	return c
}

func mustParse(t *testing.T, yaml string) *catalogue.Catalogue {
	t.Helper()

	c, err := catalogue.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse catalogue: %v", err)
	}
	return c
}

// issueStrings returns the issues that err lists, failing the test when
// err is not a *catalogue.ValidationError.
func issueStrings(t *testing.T, err error) []string {
	t.Helper()

	var validationErr *catalogue.ValidationError
	if !errors.As(err, &validationErr) {
		t.Fatalf("error is %T, want *catalogue.ValidationError: %v", err, err)
	}
	lines := make([]string, len(validationErr.Issues))
	for i, issue := range validationErr.Issues {
		lines[i] = issue.String()
	}
	return lines
}

func assertIssues(t *testing.T, got, want []string) {
	t.Helper()

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issues mismatch (-want +got):\n%s", diff)
	}
}

func findProject(t *testing.T, c *catalogue.Catalogue, key string) *catalogue.Project {
	t.Helper()

	for i := range c.Projects {
		if c.Projects[i].Key == key {
			return &c.Projects[i]
		}
	}
	t.Fatalf("project %q not found", key)
	return nil
}

func findComponent(t *testing.T, c *catalogue.Catalogue, key string) *catalogue.Component {
	t.Helper()

	for i := range c.Projects {
		for j := range c.Projects[i].Components {
			if component := &c.Projects[i].Components[j]; component.Key == key {
				return component
			}
		}
	}
	t.Fatalf("component %q not found", key)
	return nil
}

func linkTargets(links []catalogue.ComponentLink) []string {
	targets := make([]string, len(links))
	for i, link := range links {
		targets[i] = link.Component
	}
	return targets
}

func TestLoadFileExample(t *testing.T) {
	is := is.New(t)
	c := loadWildside(t)

	is.Equal(c.Version, 1)
	is.Equal(len(c.Projects), 2)
	is.Equal(c.Projects[0].Key, "wildside")
	is.Equal(c.Projects[1].Key, "df12-foundations")
	is.Equal(len(c.Programmes), 1)
	is.Equal(c.Programmes[0].Projects, []string{"wildside", "df12-foundations"})

	components, edges := 0, 0
	repositories := map[string]bool{}
	for _, p := range c.Projects {
		is.Equal(*p.Programme, "df12") // every project names its programme
		for _, component := range p.Components {
			components++
			for _, rel := range catalogue.Relationships {
				edges += len(component.Links(rel))
			}
			if component.Repository != nil {
				repositories[component.Repository.Slug()] = true
				is.Equal(component.Repository.DefaultBranch, "main")
			}
		}
	}
	is.Equal(components, 7)
	is.Equal(len(repositories), 6)
	is.Equal(edges, 6)

	ingestion := findComponent(t, c, "wildside-ingestion")
	is.Equal(ingestion.Lifecycle, catalogue.LifecyclePlanned)
	is.Equal(ingestion.Type, catalogue.ComponentDataPipeline)
	is.True(ingestion.Repository == nil) // planned work has no repository

	core := findComponent(t, c, "wildside-core")
	is.Equal(linkTargets(core.DependsOn),
		[]string{"wildside-engine", "ortho-config", "pg-embedded-setup-unpriv", "rstest-bdd"})
	is.Equal(core.DependsOn[3].Kind, catalogue.LinkTest)
	is.Equal(linkTargets(core.EmitsEventsTo), []string{"wildside-mockup"})
	is.Equal(core.Repository.Slug(), "leynos/wildside")
	is.Equal(core.Repository.DocumentationPaths, []string{"docs/roadmap.md", "docs/adr/"})

	engine := findComponent(t, c, "wildside-engine")
	is.Equal(linkTargets(engine.BlockedBy), []string{"ortho-config"})
	is.Equal(engine.Repository.DocumentationPaths, []string{}) // absent paths load as []
	is.Equal(findComponent(t, c, "wildside-mockup").Type, catalogue.ComponentUI)
	is.Equal(findComponent(t, c, "rstest-bdd").Type, catalogue.ComponentLibrary)

	wildside := findProject(t, c, "wildside")
	is.Equal(wildside.Noise.IgnoreAuthors, []string{"dependabot[bot]", "renovate[bot]"})
	is.Equal(wildside.Noise.IgnoreLabels, []string{"chore/deps"})
	is.Equal(wildside.Noise.IgnorePaths, []string{"docs/generated/**"})
	is.Equal(wildside.Noise.IgnoreTitlePrefixes, []string{"chore(deps):"})
	is.Equal(wildside.DocumentationPaths, []string{"docs/roadmap.md"})
	is.Equal(wildside.Status.SummariseDependencyPRs, false)
	is.Equal(wildside.Status.EmphasiseDocumentation, true)
}

func TestLoadFileMissing(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "absent.yaml")

	c, err := catalogue.LoadFile(path)

	is.True(c == nil)
	is.True(errors.Is(err, fs.ErrNotExist))      // the read error is wrapped
	is.True(strings.Contains(err.Error(), path)) // the message names the file
	var validationErr *catalogue.ValidationError
	is.True(!errors.As(err, &validationErr)) // a read error is not a content problem
}

func TestParseDefaults(t *testing.T) {
	is := is.New(t)
	c := mustParse(t, `
version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: alpha-api
        name: Alpha API
        repository: {owner: example, name: alpha-api}
        depends_on:
          - component: alpha-worker
      - key: alpha-worker
        name: Alpha worker
`)

	is.Equal(c.Programmes, []catalogue.Programme{})
	project := c.Projects[0]
	is.True(project.Description == nil)
	is.True(project.Programme == nil)
	is.Equal(project.DocumentationPaths, []string{})
	is.Equal(project.Status, catalogue.StatusSettings{})
	is.Equal(project.Noise, catalogue.NoiseFilters{
		Enabled: true,
		Toggles: catalogue.NoiseFilterToggles{
			IgnoreAuthors: true, IgnoreLabels: true, IgnorePaths: true, IgnoreTitlePrefixes: true,
		},
		IgnoreAuthors:       []string{},
		IgnoreLabels:        []string{},
		IgnorePaths:         []string{},
		IgnoreTitlePrefixes: []string{},
	})

	api := project.Components[0]
	is.Equal(api.Type, catalogue.ComponentService)
	is.Equal(api.Lifecycle, catalogue.LifecycleActive)
	is.True(api.Description == nil)
	is.Equal(api.Notes, []string{})
	is.Equal(api.BlockedBy, []catalogue.ComponentLink{})
	is.Equal(api.EmitsEventsTo, []catalogue.ComponentLink{})
	is.Equal(*api.Repository, catalogue.Repository{
		Owner: "example", Name: "alpha-api", DefaultBranch: "main", DocumentationPaths: []string{},
	})
	is.Equal(api.DependsOn, []catalogue.ComponentLink{
		{Component: "alpha-worker", Kind: catalogue.LinkRuntime},
	})

	worker := project.Components[1]
	is.True(worker.Repository == nil)
	is.Equal(worker.DependsOn, []catalogue.ComponentLink{})
}

func TestParseEmptyComponentsAndProjects(t *testing.T) {
	is := is.New(t)

	c := mustParse(t, "version: 1\nprojects: []\n")
	is.Equal(c.Projects, []catalogue.Project{})

	c = mustParse(t, "version: 1\nprojects:\n  - {key: alpha, name: Alpha, components: []}\n")
	is.Equal(c.Projects[0].Components, []catalogue.Component{})
}

func TestParseYAML12Scalars(t *testing.T) {
	is := is.New(t)

	c, err := catalogue.LoadFile("testdata/yaml12-scalars.yaml")
	is.NoErr(err)

	project := c.Projects[0]
	is.Equal(project.Name, "yes")
	is.Equal(*project.Description, "off")
	is.Equal(project.Components[0].Name, "on")
	is.Equal(project.Components[0].Repository.DefaultBranch, "on") // unquoted on stays a string
	is.Equal(project.Noise.Enabled, false)                         // FALSE is a boolean
	is.Equal(project.Noise.IgnoreLabels, []string{"chore/deps", "y", "n", "No"})
	is.Equal(project.Status.PreferLongForm, true) // True is a boolean
}

func TestParseScalarForms(t *testing.T) {
	is := is.New(t)
	c := mustParse(t, `
version: 1
projects:
  - key: alpha
    name: 'Alpha ''quoted'''
    description: |
      Line one.
      Line two.
    programme: ~
    components:
      - key: alpha-api
        name: !!str 2024
        description: null
        notes: [plain, "double", 'single']
`)

	project := c.Projects[0]
	is.Equal(project.Name, "Alpha 'quoted'")
	is.Equal(*project.Description, "Line one.\nLine two.\n")
	is.True(project.Programme == nil) // ~ is null
	is.Equal(project.Components[0].Name, "2024")
	is.True(project.Components[0].Description == nil)
	is.Equal(project.Components[0].Notes, []string{"plain", "double", "single"})
}

func TestParseAnchorsAndAliases(t *testing.T) {
	is := is.New(t)
	c := mustParse(t, `
version: 1
projects:
  - key: alpha
    name: Alpha
    noise: &bots
      ignore_authors: ["dependabot[bot]"]
    documentation_paths: &docs [docs/roadmap.md]
    components: []
  - key: beta
    name: Beta
    noise: *bots
    documentation_paths: *docs
    components: []
`)

	is.Equal(c.Projects[1].Noise.IgnoreAuthors, []string{"dependabot[bot]"})
	is.Equal(c.Projects[1].DocumentationPaths, []string{"docs/roadmap.md"})
	is.Equal(c.Projects[1].Noise.Enabled, true)
}

func TestParseAliasExpansionLimit(t *testing.T) {
	is := is.New(t)

	// Each alias of the component expands to 1,000 links, and the project
	// lists the alias 1,000 times: a million links from a file of 60 KB.
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n  - key: alpha\n    name: Alpha\n    components:\n")
	b.WriteString("      - &c\n        key: alpha-api\n        name: Alpha API\n        depends_on:\n")
	b.WriteString("          - &l {component: alpha-api}\n")
	for range 999 {
		b.WriteString("          - *l\n")
	}
	for range 1000 {
		b.WriteString("      - *c\n")
	}

	c, err := catalogue.Parse("bomb.yaml", []byte(b.String()))

	is.True(c == nil)
	issues := issueStrings(t, err)
	is.Equal(len(issues), 1)
	is.True(strings.HasSuffix(issues[0],
		": catalogue expands to more than 1000000 values through aliases"))
}

func TestParseInvalidFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"multiple-errors.yaml", []string{
			"testdata/multiple-errors.yaml:2:10: version: version must be at least 1, got 0",
			`testdata/multiple-errors.yaml:4:10: projects[0].key: invalid key "Alpha": use a ` +
				"slug of 1 to 63 lowercase letters, digits and hyphens that starts and ends " +
				"with a letter or digit",
			"testdata/multiple-errors.yaml:9:20: projects[0].components[0].lifecycle: " +
				`invalid lifecycle "retired"; allowed values: active, deprecated, planned`,
			"testdata/multiple-errors.yaml:12:13: projects[0].components[0].depends_on[1]: " +
				`unknown component "alpha-wrker"; did you mean "alpha-worker"?`,
			"testdata/multiple-errors.yaml:14:15: projects[0].components[1].name: " +
				"expected a string, found integer 42 (quote it to make it a string)",
			"testdata/multiple-errors.yaml:16:18: projects[0].components[1].repository.owner: " +
				`invalid repository owner "example org": use 1 to 39 letters, digits, hyphens ` +
				"and underscores, not starting with a hyphen",
		}},
		{"unknown-field.yaml", []string{
			"testdata/unknown-field.yaml:10:9: projects[0].components[1].depnds_on: " +
				`unknown field "depnds_on"; did you mean "depends_on"?`,
		}},
		{"duplicate-key.yaml", []string{
			"testdata/duplicate-key.yaml:6:5: projects[0].name: " +
				`duplicate key "name"; first defined at line 4, column 5`,
		}},
		{"type-mismatch.yaml", []string{
			`testdata/type-mismatch.yaml:1:10: version: expected an integer, found string "1"`,
			"testdata/type-mismatch.yaml:4:11: projects[0].name: " +
				"expected a string, found integer 123 (quote it to make it a string)",
			"testdata/type-mismatch.yaml:7:16: projects[0].noise.enabled: " +
				`expected a boolean (true or false), found string "yes"`,
		}},
		{"invalid-enum.yaml", []string{
			"testdata/invalid-enum.yaml:8:15: projects[0].components[0].type: " +
				`invalid component type "database"; allowed values: data-pipeline, job, ` +
				"library, other, service, tooling, ui",
		}},
		{"missing-field.yaml", []string{
			`testdata/missing-field.yaml:3:5: projects[0]: missing required field "components"`,
			`testdata/missing-field.yaml:5:5: projects[1]: missing required field "key"`,
			"testdata/missing-field.yaml:7:9: projects[1].components[0]: " +
				`missing required field "name"`,
			"testdata/missing-field.yaml:9:11: projects[1].components[0].repository: " +
				`missing required field "owner"`,
		}},
		{"self-link.yaml", []string{
			"testdata/self-link.yaml:9:13: projects[0].components[0].blocked_by[0]: " +
				`component "alpha-api" cannot reference itself`,
		}},
		{"missing-component.yaml", []string{
			"testdata/missing-component.yaml:9:13: projects[0].components[0].depends_on[0]: " +
				`unknown component "missing-component"`,
		}},
		{"invalid-slug.yaml", []string{
			`testdata/invalid-slug.yaml:3:10: projects[0].key: invalid key "BADSlug": use a ` +
				"slug of 1 to 63 lowercase letters, digits and hyphens that starts and ends " +
				"with a letter or digit",
		}},
		{"repository-branch.yaml", []string{
			"testdata/repository-branch.yaml:16:27: " +
				"projects[0].components[1].repository.default_branch: " +
				`default_branch "develop" conflicts with "main" for the same repository at ` +
				"projects[0].components[0].repository",
		}},
		{"repository-case.yaml", []string{
			"testdata/repository-case.yaml:14:21: projects[1].components[0].repository: " +
				`repository "Example/Shop" is spelled "example/shop" at ` +
				"projects[0].components[0].repository; use one spelling, because GitHub " +
				"ignores case in repository names",
		}},
		{"programme-mismatch.yaml", []string{
			"testdata/programme-mismatch.yaml:8:16: programmes[1].projects[0]: " +
				`project "shop" is already listed by programme "retail" at programmes[0].projects[0]`,
			"testdata/programme-mismatch.yaml:8:22: programmes[1].projects[1]: " +
				`project "billing" is listed by programme "finance" but its programme field is "retail"`,
		}},
		{"long-name.yaml", []string{
			"testdata/long-name.yaml:4:11: projects[0].name: " +
				"name is 256 characters long; the maximum is 255",
		}},
		{"duplicate-component.yaml", []string{
			"testdata/duplicate-component.yaml:8:14: projects[0].components[1].key: " +
				`duplicate component key "beta-api"; already used in project "beta" at ` +
				"projects[0].components[0]",
		}},
		{"unknown-programme.yaml", []string{
			"testdata/unknown-programme.yaml:5:16: projects[0].programme: " +
				`unknown programme "missing-programme"`,
		}},
		{"syntax-error.yaml", []string{
			"testdata/syntax-error.yaml:8:7: invalid YAML: non-map value is specified",
		}},
		{"empty.yaml", []string{
			"testdata/empty.yaml: catalogue file is empty",
		}},
	}

	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			is := is.New(t)

			c, err := catalogue.LoadFile(filepath.Join("testdata", tt.file))

			is.True(c == nil) // no catalogue comes with an error
			assertIssues(t, issueStrings(t, err), tt.want)
		})
	}
}

func TestParseInvalidInline(t *testing.T) {
	const header = "version: 1\nprojects:\n"
	const alpha = header + "  - key: alpha\n    name: Alpha\n    components:\n"

	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "only comments",
			yaml: "# nothing yet\n\n# still nothing\n",
			want: []string{"c.yaml: catalogue file is empty"},
		},
		{
			name: "bare document marker",
			yaml: "---\n",
			want: []string{"c.yaml: catalogue file is empty"},
		},
		{
			name: "null document",
			yaml: "# placeholder\n~\n",
			want: []string{"c.yaml: catalogue file is empty"},
		},
		{
			name: "directive only",
			yaml: "%YAML 1.2\n---\n",
			want: []string{"c.yaml: catalogue file is empty"},
		},
		{
			name: "yaml 1.1 directive",
			yaml: "%YAML 1.1\n---\nversion: 1\nprojects: []\n",
			want: []string{
				`c.yaml:1:1: unsupported YAML version "1.1"; catalogues are read as YAML 1.2`,
			},
		},
		{
			name: "two documents",
			yaml: "version: 1\nprojects: []\n---\nversion: 2\nprojects: []\n",
			want: []string{
				"c.yaml:3:1: catalogue file must contain one YAML document, " +
					"but a second one starts here",
			},
		},
		{
			name: "invalid utf-8",
			yaml: "version: 1\nprojects: []\n# caf\xe9\n",
			want: []string{
				"c.yaml:3:6: invalid UTF-8: byte 0xe9 does not start a valid character; " +
					"save the file as UTF-8",
			},
		},
		{
			name: "unclosed flow sequence",
			yaml: "version: 1\nprojects: [\n",
			want: []string{"c.yaml:2:11: invalid YAML: sequence end token ']' not found"},
		},
		{
			name: "top-level sequence",
			yaml: "- version: 1\n",
			want: []string{"c.yaml:1:1: expected the catalogue to be a mapping, found a sequence"},
		},
		{
			name: "top-level scalar",
			yaml: "catalogue\n",
			want: []string{
				`c.yaml:1:1: expected the catalogue to be a mapping, found string "catalogue"`,
			},
		},
		{
			name: "missing version and projects",
			yaml: "programmes: []\n",
			want: []string{
				`c.yaml:1:1: missing required field "version"`,
				`c.yaml:1:1: missing required field "projects"`,
			},
		},
		{
			name: "version zero",
			yaml: "version: 0\nprojects: []\n",
			want: []string{"c.yaml:1:10: version: version must be at least 1, got 0"},
		},
		{
			name: "version float",
			yaml: "version: 1.0\nprojects: []\n",
			want: []string{"c.yaml:1:10: version: expected an integer, found number 1.0"},
		},
		{
			name: "version out of range",
			yaml: "version: 99999999999999999999\nprojects: []\n",
			want: []string{"c.yaml:1:10: version: integer 99999999999999999999 is out of range"},
		},
		{
			name: "projects null",
			yaml: "version: 1\nprojects:\n",
			want: []string{
				"c.yaml:2:1: projects: expected a sequence, found null (write [] for an empty list)",
			},
		},
		{
			name: "project not a mapping",
			yaml: header + "  - alpha\n",
			want: []string{`c.yaml:3:5: projects[0]: expected a mapping, found string "alpha"`},
		},
		{
			name: "unknown top-level field",
			yaml: "version: 1\nprojects: []\nestate: demo\n",
			want: []string{`c.yaml:3:1: estate: unknown field "estate"`},
		},
		{
			name: "unknown field far from any known one",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n        owner: team-a\n",
			want: []string{`c.yaml:8:9: projects[0].components[0].owner: unknown field "owner"`},
		},
		{
			name: "misspelt noise field",
			yaml: alpha + "      []\n    noise:\n      ignore_label: [wip]\n",
			want: []string{
				"c.yaml:8:7: projects[0].noise.ignore_label: " +
					`unknown field "ignore_label"; did you mean "ignore_labels"?`,
			},
		},
		{
			name: "duplicate key in flow mapping",
			yaml: header + "  - {key: alpha, name: Alpha, key: beta, components: []}\n",
			want: []string{
				`c.yaml:3:31: projects[0].key: duplicate key "key"; first defined at line 3, column 6`,
			},
		},
		{
			name: "description not a string",
			yaml: alpha + "      []\n    description: 5\n",
			want: []string{
				"c.yaml:7:18: projects[0].description: expected a string or null, " +
					"found integer 5 (quote it to make it a string)",
			},
		},
		{
			name: "key with a space",
			yaml: header + "  - key: bad slug!\n    name: Bad\n    components: []\n",
			want: []string{
				`c.yaml:3:10: projects[0].key: invalid key "bad slug!": use a slug of 1 to 63 ` +
					"lowercase letters, digits and hyphens that starts and ends with a letter or digit",
			},
		},
		{
			name: "key not a string",
			yaml: header + "  - key: 2024\n    name: Alpha\n    components: []\n",
			want: []string{
				"c.yaml:3:10: projects[0].key: expected a string, found integer 2024 " +
					"(quote it to make it a string)",
			},
		},
		{
			name: "boolean written as yes",
			yaml: alpha + "      []\n    status:\n      prefer_long_form: on\n",
			want: []string{
				"c.yaml:8:25: projects[0].status.prefer_long_form: " +
					`expected a boolean (true or false), found string "on"`,
			},
		},
		{
			name: "repository as a list",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n        repository: []\n",
			want: []string{
				"c.yaml:8:21: projects[0].components[0].repository: " +
					"expected a mapping, found a sequence",
			},
		},
		{
			name: "link as a string",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n" +
				"        depends_on: [alpha-worker]\n",
			want: []string{
				"c.yaml:8:22: projects[0].components[0].depends_on[0]: " +
					`expected a mapping, found string "alpha-worker"`,
			},
		},
		{
			name: "invalid link kind",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n" +
				"      - key: alpha-worker\n        name: Alpha worker\n" +
				"        depends_on: [{component: alpha-api, kind: build}]\n",
			want: []string{
				"c.yaml:10:51: projects[0].components[1].depends_on[0].kind: " +
					`invalid link kind "build"; allowed values: dev, ops, runtime, test`,
			},
		},
		{
			name: "self link and duplicate link",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n" +
				"      - key: alpha-worker\n        name: Alpha worker\n" +
				"        emits_events_to:\n" +
				"          - component: alpha-worker\n" +
				"          - component: alpha-api\n" +
				"          - component: alpha-api\n" +
				"            kind: ops\n",
			want: []string{
				"c.yaml:11:13: projects[0].components[1].emits_events_to[0]: " +
					`component "alpha-worker" cannot reference itself`,
				"c.yaml:13:13: projects[0].components[1].emits_events_to[2]: " +
					`duplicate link to component "alpha-api"; first listed at emits_events_to[1]`,
			},
		},
		{
			name: "explicit empty default branch",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n" +
				"        repository: {owner: example, name: alpha, default_branch: \"\"}\n",
			want: []string{
				"c.yaml:8:67: projects[0].components[0].repository.default_branch: " +
					"default_branch must not be blank",
			},
		},
		{
			name: "repository name with a slash",
			yaml: alpha + "      - key: alpha-api\n        name: Alpha API\n" +
				"        repository: {owner: example, name: alpha/api}\n",
			want: []string{
				"c.yaml:8:44: projects[0].components[0].repository.name: " +
					`invalid repository name "alpha/api": use 1 to 100 letters, digits, dots, ` +
					"underscores and hyphens",
			},
		},
		{
			name: "blank documentation path",
			yaml: alpha + "      []\n    documentation_paths: [docs/roadmap.md, \" \"]\n",
			want: []string{
				"c.yaml:7:44: projects[0].documentation_paths[1]: " +
					"documentation path must not be blank",
			},
		},
		{
			name: "documentation path too long",
			yaml: alpha + "      []\n    documentation_paths:\n      - " +
				strings.Repeat("d/", 257) + "\n",
			want: []string{
				"c.yaml:8:9: projects[0].documentation_paths[0]: " +
					"documentation path is 514 characters long; the maximum is 512",
			},
		},
		{
			name: "blank programme name",
			yaml: "version: 1\nprojects: []\nprogrammes:\n  - key: df12\n    name: \"\"\n",
			want: []string{`c.yaml:5:11: programmes[0].name: name must not be blank`},
		},
		{
			name: "duplicate programme and project keys",
			yaml: "version: 1\nprogrammes:\n  - {key: df12, name: One}\n  - {key: df12, name: Two}\n" +
				"projects:\n  - {key: alpha, name: One, components: []}\n" +
				"  - {key: alpha, name: Two, components: []}\n",
			want: []string{
				`c.yaml:4:11: programmes[1].key: duplicate programme key "df12"; ` +
					"first defined at programmes[0]",
				`c.yaml:7:11: projects[1].key: duplicate project key "alpha"; ` +
					"first defined at projects[0]",
			},
		},
		{
			name: "programme lists unknown and repeated projects",
			yaml: "version: 1\nprojects:\n  - {key: alpha, name: Alpha, components: []}\n" +
				"programmes:\n  - key: df12\n    name: df12\n    projects: [alpha, beta, alpha]\n",
			want: []string{
				`c.yaml:7:23: programmes[0].projects[1]: unknown project "beta"`,
				`c.yaml:7:29: programmes[0].projects[2]: duplicate project "alpha"; ` +
					"first listed at programmes[0].projects[0]",
			},
		},
		{
			name: "undefined alias",
			yaml: alpha + "      []\n    noise: *defaults\n",
			want: []string{`c.yaml:7:12: projects[0].noise: undefined alias "defaults"`},
		},
		{
			name: "merge key",
			yaml: alpha + "      []\n    noise:\n      <<: {enabled: false}\n",
			want: []string{
				`c.yaml:8:7: projects[0].noise: merge keys ("<<") are not supported; ` +
					"write the fields out in full",
			},
		},
		{
			name: "unsupported tag",
			yaml: alpha + "      []\n    description: !!binary QWxwaGE=\n",
			want: []string{
				`c.yaml:7:18: projects[0].description: unsupported tag "!!binary"; only !!str is allowed`,
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			c, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			is.True(c == nil) // no catalogue comes with an error
			assertIssues(t, issueStrings(t, err), tt.want)
		})
	}
}

func TestParseByteOrderMark(t *testing.T) {
	_, err := catalogue.Parse("bom.yaml", []byte("\uFEFFversion: 1\nprojects: []\nbogus: 1\n"))

	// The mark is skipped, so the first key is known and columns start at 1.
	assertIssues(t, issueStrings(t, err), []string{`bom.yaml:3:1: bogus: unknown field "bogus"`})
}

func TestParseTrailingEmptyDocument(t *testing.T) {
	is := is.New(t)

	c, err := catalogue.Parse("c.yaml", []byte("---\nversion: 1\nprojects: []\n---\n"))

	is.NoErr(err)
	is.Equal(c.Version, 1)
}

func TestParseWithoutFilename(t *testing.T) {
	_, err := catalogue.Parse("", []byte("version: 1\nprojects: []\nbogus: 1\n"))

	assertIssues(t, issueStrings(t, err), []string{`3:1: bogus: unknown field "bogus"`})
}

// TestParseTruncatedExample parses every prefix of the example, which
// cuts through keys, strings and flow collections, and checks that each
// either loads or fails with issues that all carry a position.
func TestParseTruncatedExample(t *testing.T) {
	data, err := os.ReadFile(wildsideCatalogue)
	if err != nil {
		t.Fatalf("read example: %v", err)
	}

	for n := range len(data) + 1 {
		c, err := catalogue.Parse("example.yaml", data[:n])
		if err == nil {
			if c == nil {
				t.Fatalf("prefix of %d bytes: no catalogue and no error", n)
			}
			continue
		}

		var validationErr *catalogue.ValidationError
		if !errors.As(err, &validationErr) {
			t.Fatalf("prefix of %d bytes: error is %T: %v", n, err, err)
		}
		for _, issue := range validationErr.Issues {
			if issue.Line == 0 && issue.Message != "catalogue file is empty" {
				t.Fatalf("prefix of %d bytes: issue without a position: %s", n, issue)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatalf("list seeds: %v", err)
	}
	seeds = append(seeds, wildsideCatalogue)
	for _, seed := range seeds {
		data, err := os.ReadFile(seed)
		if err != nil {
			f.Fatalf("read seed: %v", err)
		}
		f.Add(data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalogue.Parse("fuzz.yaml", data)
		if err == nil {
			if c == nil {
				t.Fatal("no catalogue and no error")
			}
			if err := catalogue.Validate(c); err != nil {
				t.Fatalf("Parse accepted a catalogue that Validate rejects: %v", err)
			}
			return
		}

		var validationErr *catalogue.ValidationError
		if !errors.As(err, &validationErr) || len(validationErr.Issues) == 0 {
			t.Fatalf("error is not a ValidationError with issues: %v", err)
		}
	})
}

func TestParseFileSizeLimit(t *testing.T) {
	is := is.New(t)
	const valid = "version: 1\nprojects: []\n# "

	padded := valid + strings.Repeat("x", catalogue.MaxFileSize-len(valid))
	c, err := catalogue.Parse("c.yaml", []byte(padded))
	is.NoErr(err) // a file of exactly MaxFileSize bytes loads
	is.Equal(c.Version, 1)

	_, err = catalogue.Parse("c.yaml", []byte(padded+"x"))
	assertIssues(t, issueStrings(t, err), []string{
		"c.yaml: catalogue file is larger than the maximum size of 1048576 bytes (1 MiB)",
	})
}

func TestLoadFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "large.yaml")
	content := "version: 1\nprojects: []\n# " + strings.Repeat("x", catalogue.MaxFileSize)
	writeTestFile(t, path, content)

	_, err := catalogue.LoadFile(path)

	assertIssues(t, issueStrings(t, err), []string{
		path + ": catalogue file is larger than the maximum size of 1048576 bytes (1 MiB)",
	})
}

// TestLoadFileDevice reads a device that never ends, which stat reports
// as empty, so only the read limit stops it.
func TestLoadFileDevice(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero: %v", err)
	}

	_, err := catalogue.LoadFile("/dev/zero")

	assertIssues(t, issueStrings(t, err), []string{
		"/dev/zero: catalogue file is larger than the maximum size of 1048576 bytes (1 MiB)",
	})
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()

	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// nestedFlow returns a catalogue whose projects value is depth flow
// sequences nested in one another, so that with the root mapping the
// file nests depth+1 levels.
func nestedFlow(depth int) string {
	brackets := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	return "version: 1\nprojects: " + brackets + "\n"
}

// nestedBlock returns a catalogue whose projects value is depth block
// sequences nested in one another on one line, as in "- - - x".
func nestedBlock(depth int) string {
	return "version: 1\nprojects:\n" + strings.Repeat("- ", depth) + "x\n"
}

// nestedIndented returns a catalogue whose projects value is depth block
// mappings, each indented one column deeper than the one holding it.
func nestedIndented(depth int) string {
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n")
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i+1) + "a:\n")
	}
	return b.String()
}

func TestParseNestingLimit(t *testing.T) {
	const limitMessage = ": mappings and sequences nest deeper than the maximum of 64 levels; " +
		"a catalogue needs at most 7"

	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"flow sequences", nestedFlow(catalogue.MaxNestingDepth), "c.yaml:2:74" + limitMessage},
		{
			"flow mappings",
			"version: 1\nprojects: " + strings.Repeat("{a: ", 64) + "b" + strings.Repeat("}", 64),
			"c.yaml:2:263" + limitMessage,
		},
		{"block sequences", nestedBlock(catalogue.MaxNestingDepth), "c.yaml:3:127" + limitMessage},
		{
			"indented mappings",
			nestedIndented(catalogue.MaxNestingDepth),
			"c.yaml:66:65" + limitMessage,
		},
		{
			"flow inside block",
			"version: 1\nprojects:\n" + strings.Repeat("- ", 32) + strings.Repeat("[", 32) +
				strings.Repeat("]", 32) + "\n",
			"c.yaml:3:96" + limitMessage,
		},
		{"deep flow sequences", nestedFlow(10_000), "c.yaml:2:74" + limitMessage},
		{"deep block sequences", nestedBlock(100_000), "c.yaml:3:127" + limitMessage},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			assertIssues(t, issueStrings(t, err), []string{tt.want})
		})
	}
}

func TestParseNestingAtLimit(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"flow sequences", nestedFlow(catalogue.MaxNestingDepth - 1)},
		{"block sequences", nestedBlock(catalogue.MaxNestingDepth - 1)},
		{"indented mappings", nestedIndented(catalogue.MaxNestingDepth - 1)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			_, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			// The file parses, so the issues are about its content.
			issues := issueStrings(t, err)
			is.True(len(issues) > 0)
			is.True(!strings.Contains(issues[0], "nest deeper"))
			is.True(!strings.Contains(issues[0], "invalid YAML"))
		})
	}
}

// TestParseBracketsInText checks that brackets in quoted scalars, block
// scalars, plain scalars and comments do not count as nesting.
func TestParseBracketsInText(t *testing.T) {
	is := is.New(t)
	brackets := strings.Repeat("[{", 100)
	c := mustParse(t, `
version: 1 # `+brackets+`
projects:
  - key: alpha
    name: "`+brackets+`"
    description: |
      `+brackets+`
    components:
      - key: alpha-api
        name: '`+brackets+`'
        notes: ["`+brackets+`"]
        description: plain`+brackets+`
`)

	is.Equal(c.Projects[0].Name, brackets)
	is.Equal(*c.Projects[0].Description, brackets+"\n")
	is.Equal(*c.Projects[0].Components[0].Description, "plain"+brackets)
	is.Equal(c.Projects[0].Components[0].Notes, []string{brackets})
}

func TestParseStructureLimits(t *testing.T) {
	entries := func(n int) string {
		var b strings.Builder
		b.WriteString("version: 1\nprojects:\n  - key: alpha\n")
		for i := range n - 1 {
			fmt.Fprintf(&b, "    k%d: v\n", i)
		}
		return b.String()
	}
	emptyEntries := func(n int) string {
		return "version: 1\nprojects:\n" + strings.Repeat("  -\n", n)
	}
	emptyFlowValues := func(n int) string {
		return "version: 1\nprojects: [{" + strings.Repeat("a, ", n-1) + "a}]\n"
	}
	documents := func(n int) string {
		return "version: 1\nprojects: []\n" + strings.Repeat("---\n", n)
	}

	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			"mapping entries",
			entries(1001),
			"c.yaml:1003:5: mapping has more than the maximum of 1000 entries; " +
				"a catalogue mapping has at most 10 fields",
		},
		{
			"empty sequence entries",
			emptyEntries(1001),
			"c.yaml:1003:3: catalogue has more than the maximum of 1000 empty values; " +
				"write null for an empty value or leave the key out",
		},
		{
			"keys without values in a flow mapping",
			emptyFlowValues(1001),
			"c.yaml:2:3013: catalogue has more than the maximum of 1000 empty values; " +
				"write null for an empty value or leave the key out",
		},
		{
			"documents",
			documents(101),
			"c.yaml:103:1: catalogue file has more than the maximum of 100 documents; " +
				"a catalogue is one YAML document",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			assertIssues(t, issueStrings(t, err), []string{tt.want})
		})
	}
}

func TestParseStructureAtLimits(t *testing.T) {
	is := is.New(t)

	// A mapping of 1000 entries is decoded, and each of its 997 unknown
	// fields is reported.
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n  - key: alpha\n    name: Alpha\n    components: []\n")
	for i := range 997 {
		fmt.Fprintf(&b, "    unknown%d: v\n", i)
	}
	_, err := catalogue.Parse("c.yaml", []byte(b.String()))
	is.Equal(len(issueStrings(t, err)), 997)

	// 1000 empty values are reported as the wrong type.
	emptyEntries := "version: 1\nprojects:\n" + strings.Repeat("  -\n", 1000)
	_, err = catalogue.Parse("c.yaml", []byte(emptyEntries))
	issues := issueStrings(t, err)
	is.Equal(len(issues), 1000)
	is.Equal(issues[0], "c.yaml:3:3: projects[0]: expected a mapping, found null")

	// 100 empty documents are allowed.
	c, err := catalogue.Parse("c.yaml", []byte("version: 1\nprojects: []\n"+
		strings.Repeat("---\n# nothing\n", 100)))
	is.NoErr(err)
	is.Equal(c.Version, 1)
}

func BenchmarkParseNestingAtLimit(b *testing.B) {
	inputs := map[string]string{
		"flow":     nestedFlow(catalogue.MaxNestingDepth - 1),
		"block":    nestedBlock(catalogue.MaxNestingDepth - 1),
		"indented": nestedIndented(catalogue.MaxNestingDepth - 1),
	}
	for name, yaml := range inputs {
		b.Run(name, func(b *testing.B) {
			data := []byte(yaml)
			for b.Loop() {
				_, _ = catalogue.Parse("c.yaml", data)
			}
		})
	}
}

func TestParseControlCharacters(t *testing.T) {
	const project = "version: 1\nprojects:\n  - key: alpha\n    components:\n" +
		"      - key: alpha-api\n        name: Alpha API\n"

	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "NUL escape in a name",
			yaml: project + `    name: "P\0one"` + "\n",
			want: `c.yaml:7:11: projects[0].name: name "P\x00one" contains control ` +
				"character U+0000 at character 2; remove it",
		},
		{
			name: "escape character in a description",
			yaml: project + `    name: Alpha` + "\n" + `    description: "colour \e[31m"` + "\n",
			want: `c.yaml:8:18: projects[0].description: description "colour \x1b[31m" ` +
				"contains control character U+001B at character 8; remove it",
		},
		{
			name: "hexadecimal escape in a note",
			yaml: project + `        notes: ["one", "two\x1b"]` + "\n    name: Alpha\n",
			want: `c.yaml:7:24: projects[0].components[0].notes[1]: note "two\x1b" ` +
				"contains control character U+001B at character 4; remove it",
		},
		{
			name: "DEL escape in a rationale",
			yaml: project + "        depends_on:\n          - component: alpha-worker\n" +
				`            rationale: "x\x7f"` + "\n" +
				"      - key: alpha-worker\n        name: Alpha worker\n    name: Alpha\n",
			want: "c.yaml:9:24: projects[0].components[0].depends_on[0].rationale: " +
				`rationale "x\x7f" contains control character U+007F at character 2; remove it`,
		},
		{
			name: "C1 escape in a default branch",
			yaml: project + `        repository: {owner: o, name: n, default_branch: "main\x85"}` +
				"\n    name: Alpha\n",
			want: "c.yaml:7:57: projects[0].components[0].repository.default_branch: " +
				`default_branch "main\u0085" contains control character U+0085 at character 5; ` +
				"remove it",
		},
		{
			name: "line break in a name",
			yaml: project + `    name: "Alpha\nBeta"` + "\n",
			want: `c.yaml:7:11: projects[0].name: name "Alpha\nBeta" contains a line break ` +
				"at character 6; write it on one line",
		},
		{
			name: "carriage return in a documentation path",
			yaml: project + "    name: Alpha\n" + `    documentation_paths: ["docs\r"]` + "\n",
			want: "c.yaml:8:27: projects[0].documentation_paths[0]: " +
				`documentation path "docs\r" contains a line break at character 5; ` +
				"write it on one line",
		},
		{
			name: "line break in a noise filter",
			yaml: project + "    name: Alpha\n    noise:\n      ignore_labels:\n" +
				"        - |\n          two\n          lines\n",
			want: "c.yaml:10:11: projects[0].noise.ignore_labels[0]: " +
				`ignored label "two\nlines\n" contains a line break at character 4; ` +
				"write it on one line",
		},
		{
			name: "raw NUL byte",
			yaml: project + "    name: \"P\x00one\"\n",
			want: "c.yaml:7:13: invalid YAML: non-printable character U+0000 is not allowed; " +
				"remove it",
		},
		{
			name: "raw escape character in a comment",
			yaml: project + "    name: Alpha # \x1b\n",
			want: "c.yaml:7:19: invalid YAML: non-printable character U+001B is not allowed; " +
				"remove it",
		},
		{
			name: "raw DEL",
			yaml: project + "    name: Alpha\x7f\n",
			want: "c.yaml:7:16: invalid YAML: non-printable character U+007F is not allowed; " +
				"remove it",
		},
		{
			name: "raw C1 control",
			yaml: project + "    name: \u0086Alpha\n",
			want: "c.yaml:7:11: invalid YAML: non-printable character U+0086 is not allowed; " +
				"remove it",
		},
		{
			name: "raw NEL in a name",
			yaml: project + "    name: Alpha\u0085\n",
			want: `c.yaml:7:11: projects[0].name: name "Alpha\u0085" contains control ` +
				"character U+0085 at character 6; remove it",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			c, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			is.True(c == nil) // no catalogue comes with an error
			assertIssues(t, issueStrings(t, err), []string{tt.want})
		})
	}
}

func TestParseAllowedWhitespace(t *testing.T) {
	is := is.New(t)
	c := mustParse(t, `
version: 1
projects:
  - key: alpha
    name: "Alpha\tAPI"
    description: "First line\r\nsecond line"
    components:
      - key: alpha-api
        name: Alpha API
        notes:
          - |
            Line one.
            Line two.
`)

	is.Equal(c.Projects[0].Name, "Alpha\tAPI")
	is.Equal(*c.Projects[0].Description, "First line\r\nsecond line")
	is.Equal(c.Projects[0].Components[0].Notes, []string{"Line one.\nLine two.\n"})
}

// crlfCatalogue has double- and single-quoted scalars that span lines,
// followed by an unknown field whose position must not depend on the
// line breaks.
const crlfCatalogue = `version: 1
projects:
  - key: alpha
    name: "Alpha
      double"
    description: 'Alpha
      single'
    components: []
    bogus: 1
`

func TestParseLineBreakStyles(t *testing.T) {
	styles := map[string]string{
		"LF":      crlfCatalogue,
		"CRLF":    strings.ReplaceAll(crlfCatalogue, "\n", "\r\n"),
		"lone CR": strings.ReplaceAll(crlfCatalogue, "\n", "\r"),
	}

	for name, yaml := range styles {
		t.Run(name, func(t *testing.T) {
			is := is.New(t)

			_, err := catalogue.Parse("c.yaml", []byte(yaml))
			assertIssues(t, issueStrings(t, err), []string{
				`c.yaml:9:5: projects[0].bogus: unknown field "bogus"`,
			})

			valid := strings.Replace(yaml, "    bogus: 1", "", 1)
			c, err := catalogue.Parse("c.yaml", []byte(valid))
			is.NoErr(err)
			is.Equal(c.Projects[0].Name, "Alpha double")
			is.Equal(*c.Projects[0].Description, "Alpha single")
		})
	}
}

func TestParseFutureVersion(t *testing.T) {
	// A newer catalogue may use fields that this version does not know,
	// so only the version is reported.
	_, err := catalogue.Parse("c.yaml", []byte("version: 99\nprojects: []\nestate: demo\n"))

	assertIssues(t, issueStrings(t, err), []string{
		"c.yaml:1:10: version: unsupported catalogue version 99: this ghillie reads version 1; " +
			"upgrade ghillie to read newer versions",
	})
}

func TestParseAnchorsOnKeys(t *testing.T) {
	const message = "anchors and aliases on keys are not supported; write the key out"

	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "anchor on a top-level key",
			yaml: "&a version: 1\nprojects: []\n",
			want: []string{"c.yaml:1:1: version: " + message},
		},
		{
			name: "anchor and alias on project keys",
			yaml: "version: 1\nprojects:\n" +
				"  - &k key: alpha\n    name: Alpha\n    components: []\n" +
				"  - {*k : beta, name: Beta, components: []}\n",
			want: []string{
				"c.yaml:3:5: projects[0].key: " + message,
				"c.yaml:6:6: projects[1].key: " + message,
			},
		},
		{
			name: "alias without an anchor",
			yaml: "version: 1\nprojects: [{*k : beta}]\n",
			want: []string{
				`c.yaml:2:12: projects[0]: missing required field "key"`,
				`c.yaml:2:12: projects[0]: missing required field "name"`,
				`c.yaml:2:12: projects[0]: missing required field "components"`,
				"c.yaml:2:13: projects[0]: " + message,
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := catalogue.Parse("c.yaml", []byte(tt.yaml))

			assertIssues(t, issueStrings(t, err), tt.want)
		})
	}
}

func TestParseTabInDoubleQuotes(t *testing.T) {
	// goccy/go-yaml rejects this valid YAML, so the issue message shows how to
	// write it instead and points at the tab.
	yaml := "version: 1\nprojects:\n  - key: alpha\n    name: \"Alpha\tAPI\"\n" +
		"    components: []\n"

	_, err := catalogue.Parse("c.yaml", []byte(yaml))

	assertIssues(t, issueStrings(t, err), []string{
		"c.yaml:4:17: invalid YAML: value is not allowed in this context. " +
			`map key-value is pre-defined; write the tab as \t`,
	})
}

func TestParseUnknownReferenceSuggestions(t *testing.T) {
	_, err := catalogue.Parse("c.yaml", []byte(`version: 1
programmes:
  - key: retail
    name: Retail
    projects: [shop, shops, payroll]
projects:
  - key: shop
    name: Shop
    components:
      - key: ortho-config
        name: Ortho config
      - key: shop-api
        name: Shop API
        depends_on:
          - component: ortho-confg
          - component: billing
  - key: billing
    name: Billing
    programme: retial
    components: []
`))

	assertIssues(t, issueStrings(t, err), []string{
		`c.yaml:5:22: programmes[0].projects[1]: unknown project "shops"; did you mean "shop"?`,
		`c.yaml:5:29: programmes[0].projects[2]: unknown project "payroll"`,
		"c.yaml:15:13: projects[0].components[1].depends_on[0]: " +
			`unknown component "ortho-confg"; did you mean "ortho-config"?`,
		`c.yaml:16:13: projects[0].components[1].depends_on[1]: unknown component "billing"`,
		`c.yaml:19:16: projects[1].programme: unknown programme "retial"; did you mean "retail"?`,
	})
}
