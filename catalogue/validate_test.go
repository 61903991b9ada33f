package catalogue_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
)

func ptr[T any](v T) *T { return &v }

// validCatalogue returns a small valid catalogue built in memory, with the
// defaults that Parse would fill written out.
func validCatalogue() *catalogue.Catalogue {
	component := func(key, repository string) catalogue.Component {
		c := catalogue.Component{
			Key:       key,
			Name:      strings.ToUpper(key),
			Type:      catalogue.ComponentService,
			Lifecycle: catalogue.LifecycleActive,
		}
		if repository != "" {
			c.Repository = &catalogue.Repository{
				Owner: "example", Name: repository, DefaultBranch: "main",
			}
		}
		return c
	}

	return &catalogue.Catalogue{
		Version: 1,
		Programmes: []catalogue.Programme{
			{Key: "retail", Name: "Retail", Projects: []string{"shop"}},
		},
		Projects: []catalogue.Project{
			{
				Key:       "shop",
				Name:      "Shop",
				Programme: ptr("retail"),
				Components: []catalogue.Component{
					component("shop-api", "shop"),
					component("shop-worker", "shop-worker"),
				},
			},
			{
				Key:        "billing",
				Name:       "Billing",
				Components: []catalogue.Component{component("billing-api", "billing")},
			},
		},
	}
}

func TestValidateValid(t *testing.T) {
	is := is.New(t)

	is.NoErr(catalogue.Validate(validCatalogue()))
	is.NoErr(catalogue.Validate(loadWildside(t)))
}

func TestValidateAllowed(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *catalogue.Catalogue)
	}{
		{"shared repository", func(c *catalogue.Catalogue) {
			// Components of a monorepo share one repository.
			c.Projects[1].Components[0].Repository.Name = "shop"
		}},
		{"cross-project link", func(c *catalogue.Catalogue) {
			c.Projects[1].Components[0].DependsOn = []catalogue.ComponentLink{
				{Component: "shop-api", Kind: catalogue.LinkRuntime},
			}
		}},
		{"same target in two relationships", func(c *catalogue.Catalogue) {
			link := catalogue.ComponentLink{Component: "shop-worker", Kind: catalogue.LinkDev}
			c.Projects[0].Components[0].DependsOn = []catalogue.ComponentLink{link}
			c.Projects[0].Components[0].BlockedBy = []catalogue.ComponentLink{link}
		}},
		{"programme key equal to a project key", func(c *catalogue.Catalogue) {
			c.Programmes[0].Key = "shop"
			c.Projects[0].Programme = ptr("shop")
		}},
		{"longest key", func(c *catalogue.Catalogue) {
			c.Projects[0].Key = strings.Repeat("a", 63)
			c.Programmes[0].Projects[0] = c.Projects[0].Key
		}},
		{"single-character key with inner double hyphen", func(c *catalogue.Catalogue) {
			c.Projects[0].Key = "a"
			c.Projects[1].Key = "b--c"
			c.Programmes[0].Projects[0] = "a"
		}},
		{"name of 255 characters", func(c *catalogue.Catalogue) {
			c.Projects[0].Name = strings.Repeat("é", 255)
		}},
		{"programme listing a project without a programme field", func(c *catalogue.Catalogue) {
			c.Programmes[0].Projects = append(c.Programmes[0].Projects, "billing")
		}},
		{"repository segments with dots and underscores", func(c *catalogue.Catalogue) {
			c.Projects[1].Components[0].Repository.Owner = "Example_Org"
			c.Projects[1].Components[0].Repository.Name = "billing.api-v2"
		}},
		{"longest repository owner and name", func(c *catalogue.Catalogue) {
			c.Projects[1].Components[0].Repository.Owner = "_" + strings.Repeat("o", 38)
			c.Projects[1].Components[0].Repository.Name = strings.Repeat("n", 100)
		}},
		{"repository names starting with dots", func(c *catalogue.Catalogue) {
			c.Projects[0].Components[0].Repository.Name = ".github"
			c.Projects[1].Components[0].Repository.Name = "..."
		}},
		{"tabs and line breaks where text allows them", func(c *catalogue.Catalogue) {
			c.Projects[0].Name = "Shop\tfront"
			c.Projects[0].Description = ptr("First line\r\nsecond line\tend")
			c.Projects[0].Components[0].Notes = []string{"one\ntwo\n"}
			c.Projects[0].Components[0].DependsOn = []catalogue.ComponentLink{{
				Component: "shop-worker", Kind: catalogue.LinkRuntime, Rationale: ptr("a\nb"),
			}}
			c.Programmes[0].Description = ptr("Retail\n\nprogramme")
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			c := validCatalogue()
			tt.modify(c)

			is.NoErr(catalogue.Validate(c))
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	const slugRule = ": use a slug of 1 to 63 lowercase letters, digits and hyphens that " +
		"starts and ends with a letter or digit"
	const ownerRule = ": use 1 to 39 letters, digits, hyphens and underscores, " +
		"not starting with a hyphen"

	link := func(target string) catalogue.ComponentLink {
		return catalogue.ComponentLink{Component: target, Kind: catalogue.LinkRuntime}
	}

	tests := []struct {
		name   string
		modify func(c *catalogue.Catalogue)
		want   []string
	}{
		{
			name:   "version zero",
			modify: func(c *catalogue.Catalogue) { c.Version = 0 },
			want:   []string{"version: version must be at least 1, got 0"},
		},
		{
			name:   "version above the current one",
			modify: func(c *catalogue.Catalogue) { c.Version = catalogue.CurrentVersion + 1 },
			want: []string{
				"version: unsupported catalogue version 2: this ghillie reads version 1; " +
					"upgrade ghillie to read newer versions",
			},
		},
		{
			name: "invalid path patterns",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Noise.IgnorePaths = []string{"docs/generated/**", "docs/[abc"}
				c.Projects[0].DocumentationPaths = []string{"docs/a**b"}
			},
			want: []string{
				`projects[0].noise.ignore_paths[1]: invalid path pattern "docs/[abc": ` +
					`character class "[abc" is not closed with ]`,
				`projects[0].documentation_paths[0]: invalid path pattern "docs/a**b": ` +
					`"**" must be a whole segment, as in docs/**/*.md`,
			},
		},
		{
			name:   "uppercase key",
			modify: func(c *catalogue.Catalogue) { c.Projects[1].Key = "Billing" },
			want:   []string{`projects[1].key: invalid key "Billing"` + slugRule},
		},
		{
			name:   "key with a trailing newline",
			modify: func(c *catalogue.Catalogue) { c.Projects[1].Key = "billing\n" },
			want:   []string{`projects[1].key: invalid key "billing\n"` + slugRule},
		},
		{
			name:   "key of 64 characters",
			modify: func(c *catalogue.Catalogue) { c.Projects[1].Key = strings.Repeat("b", 64) },
			want:   []string{`projects[1].key: invalid key "` + strings.Repeat("b", 64) + `"` + slugRule},
		},
		{
			name: "key with leading hyphen and empty key",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Components[0].Key = "-api"
				c.Programmes[0].Key = ""
			},
			want: []string{
				`projects[0].programme: unknown programme "retail"`,
				`projects[0].components[0].key: invalid key "-api"` + slugRule,
				`programmes[0].key: invalid key ""` + slugRule,
				`programmes[0].projects[0]: project "shop" is listed by programme "" ` +
					`but its programme field is "retail"`,
			},
		},
		{
			name: "blank names",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Name = " \t"
				c.Projects[0].Components[1].Name = ""
				c.Programmes[0].Name = "\n"
			},
			want: []string{
				"projects[0].name: name must not be blank",
				"projects[0].components[1].name: name must not be blank",
				"programmes[0].name: name must not be blank",
			},
		},
		{
			name: "name of 256 characters",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Components[0].Name = strings.Repeat("é", 256)
			},
			want: []string{
				"projects[0].components[0].name: name is 256 characters long; the maximum is 255",
			},
		},
		{
			name: "empty enum values",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Components[0].Type = ""
				c.Projects[1].Components[0].Lifecycle = ""
				c.Projects[1].Components[0].DependsOn = []catalogue.ComponentLink{
					{Component: "shop-api"},
				}
			},
			want: []string{
				`projects[1].components[0].type: invalid component type ""; allowed values: ` +
					"data-pipeline, job, library, other, service, tooling, ui",
				`projects[1].components[0].lifecycle: invalid lifecycle ""; allowed values: ` +
					"active, deprecated, planned",
				`projects[1].components[0].depends_on[0].kind: invalid link kind ""; ` +
					"allowed values: dev, ops, runtime, test",
			},
		},
		{
			name: "self link is reported once",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Components[1].BlockedBy = []catalogue.ComponentLink{link("shop-worker")}
			},
			want: []string{
				`projects[0].components[1].blocked_by[0]: component "shop-worker" ` +
					"cannot reference itself",
			},
		},
		{
			name: "unknown and duplicate links in relationship order",
			modify: func(c *catalogue.Catalogue) {
				api := &c.Projects[0].Components[0]
				api.EmitsEventsTo = []catalogue.ComponentLink{link("billing-api"), link("billing-api")}
				api.DependsOn = []catalogue.ComponentLink{link("billing-apl")}
			},
			want: []string{
				`projects[0].components[0].depends_on[0]: unknown component "billing-apl"; ` +
					`did you mean "billing-api"?`,
				`projects[0].components[0].emits_events_to[1]: duplicate link to component ` +
					`"billing-api"; first listed at emits_events_to[0]`,
			},
		},
		{
			name: "duplicate keys",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Key = "shop"
				c.Projects[1].Components[0].Key = "shop-worker"
				c.Programmes = append(c.Programmes, catalogue.Programme{Key: "retail", Name: "Again"})
			},
			want: []string{
				`projects[1].key: duplicate project key "shop"; first defined at projects[0]`,
				`projects[1].components[0].key: duplicate component key "shop-worker"; ` +
					`already used in project "shop" at projects[0].components[1]`,
				`programmes[1].key: duplicate programme key "retail"; first defined at programmes[0]`,
			},
		},
		{
			name: "invalid repository",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Components[0].Repository = &catalogue.Repository{
					Owner:              "example org",
					Name:               strings.Repeat("r", 101),
					DefaultBranch:      " ",
					DocumentationPaths: []string{"", "docs/" + strings.Repeat("x", 508)},
				}
			},
			want: []string{
				`projects[1].components[0].repository.owner: invalid repository owner ` +
					`"example org"` + ownerRule,
				"projects[1].components[0].repository.name: " +
					"repository name is 101 characters long; the maximum is 100",
				"projects[1].components[0].repository.default_branch: " +
					"default_branch must not be blank",
				"projects[1].components[0].repository.documentation_paths[0]: " +
					"documentation path must not be blank",
				"projects[1].components[0].repository.documentation_paths[1]: " +
					"documentation path is 513 characters long; the maximum is 512",
			},
		},
		{
			name: "repository owners against GitHub's rules",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Components[0].Repository.Owner = "-example"
				c.Projects[0].Components[1].Repository.Owner = "example.org"
				c.Projects[1].Components[0].Repository.Owner = strings.Repeat("o", 40)
			},
			want: []string{
				`projects[0].components[0].repository.owner: invalid repository owner ` +
					`"-example"` + ownerRule,
				`projects[0].components[1].repository.owner: invalid repository owner ` +
					`"example.org"` + ownerRule,
				"projects[1].components[0].repository.owner: " +
					"repository owner is 40 characters long; the maximum is 39",
			},
		},
		{
			name: "repository names against GitHub's rules",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].Components[0].Repository.Name = "."
				c.Projects[0].Components[1].Repository.Name = ".."
				c.Projects[1].Components[0].Repository.Name = ""
			},
			want: []string{
				`projects[0].components[0].repository.name: invalid repository name ".": ` +
					"GitHub does not allow . or .. as a repository name",
				`projects[0].components[1].repository.name: invalid repository name "..": ` +
					"GitHub does not allow . or .. as a repository name",
				`projects[1].components[0].repository.name: invalid repository name "": ` +
					"use 1 to 100 letters, digits, dots, underscores and hyphens",
			},
		},
		{
			name: "control characters",
			modify: func(c *catalogue.Catalogue) {
				shop := &c.Projects[0]
				shop.Name = "Sh\x00op"
				shop.Description = ptr("\x1b[1mShop")
				shop.Noise.IgnoreAuthors = []string{"bot", "bot\u009b"}
				shop.Components[0].Notes = []string{"ok", "bell\a"}
				shop.Components[0].DependsOn = []catalogue.ComponentLink{{
					Component: "shop-worker", Kind: catalogue.LinkRuntime, Rationale: ptr("\x7f"),
				}}
				c.Programmes[0].Description = ptr("\x00")
			},
			want: []string{
				`projects[0].name: name "Sh\x00op" contains control character U+0000 ` +
					"at character 3; remove it",
				`projects[0].description: description "\x1b[1mShop" contains control ` +
					"character U+001B at character 1; remove it",
				"projects[0].components[0].depends_on[0].rationale: " +
					`rationale "\x7f" contains control character U+007F at character 1; remove it`,
				`projects[0].components[0].notes[1]: note "bell\a" contains control ` +
					"character U+0007 at character 5; remove it",
				`projects[0].noise.ignore_authors[1]: ignored author "bot\u009b" contains ` +
					"control character U+009B at character 4; remove it",
				`programmes[0].description: description "\x00" contains control ` +
					"character U+0000 at character 1; remove it",
			},
		},
		{
			name: "line breaks in single-line values",
			modify: func(c *catalogue.Catalogue) {
				shop := &c.Projects[0]
				shop.Name = "Shop\r\nfront"
				shop.DocumentationPaths = []string{"docs/\nroadmap.md"}
				shop.Noise.IgnoreLabels = []string{"chore\n"}
				shop.Noise.IgnorePaths = []string{"a\u2028b"}
				shop.Noise.IgnoreTitlePrefixes = []string{"\rchore:"}
				shop.Components[0].Repository.DefaultBranch = "main\n"
				shop.Components[1].Repository.DocumentationPaths = []string{"docs\u2029"}
			},
			want: []string{
				`projects[0].name: name "Shop\r\nfront" contains a line break at character 5; ` +
					"write it on one line",
				"projects[0].components[0].repository.default_branch: " +
					`default_branch "main\n" contains a line break at character 5; ` +
					"write it on one line",
				"projects[0].components[1].repository.documentation_paths[0]: " +
					`documentation path "docs\u2029" contains a line break at character 5; ` +
					"write it on one line",
				`projects[0].noise.ignore_labels[0]: ignored label "chore\n" contains a ` +
					"line break at character 6; write it on one line",
				`projects[0].noise.ignore_paths[0]: ignored path "a\u2028b" contains a ` +
					"line break at character 2; write it on one line",
				`projects[0].noise.ignore_title_prefixes[0]: ignored title prefix ` +
					`"\rchore:" contains a line break at character 1; write it on one line`,
				`projects[0].documentation_paths[0]: documentation path "docs/\nroadmap.md" ` +
					"contains a line break at character 6; write it on one line",
			},
		},
		{
			name: "unknown references close to known keys",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Programme = ptr("retial")
				c.Programmes[0].Projects = append(c.Programmes[0].Projects, "biling", "payroll")
			},
			want: []string{
				`projects[1].programme: unknown programme "retial"; did you mean "retail"?`,
				`programmes[0].projects[1]: unknown project "biling"; did you mean "billing"?`,
				`programmes[0].projects[2]: unknown project "payroll"`,
			},
		},
		{
			name: "repository spelt two ways with two branches",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Components[0].Repository = &catalogue.Repository{
					Owner: "Example", Name: "Shop", DefaultBranch: "develop",
				}
			},
			want: []string{
				`projects[1].components[0].repository: repository "Example/Shop" is spelled ` +
					`"example/shop" at projects[0].components[0].repository; use one ` +
					"spelling, because GitHub ignores case in repository names",
				"projects[1].components[0].repository.default_branch: default_branch " +
					`"develop" conflicts with "main" for the same repository at ` +
					"projects[0].components[0].repository",
			},
		},
		{
			name: "programme references",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[1].Programme = ptr("finance")
				c.Programmes = append(c.Programmes, catalogue.Programme{
					Key: "online", Name: "Online", Projects: []string{"shop", "billing", "web"},
				})
			},
			want: []string{
				`projects[1].programme: unknown programme "finance"`,
				`programmes[1].projects[0]: project "shop" is already listed by programme ` +
					`"retail" at programmes[0].projects[0]`,
				`programmes[1].projects[1]: project "billing" is listed by programme ` +
					`"online" but its programme field is "finance"`,
				`programmes[1].projects[2]: unknown project "web"`,
			},
		},
		{
			name: "blank project documentation path",
			modify: func(c *catalogue.Catalogue) {
				c.Projects[0].DocumentationPaths = []string{"docs/roadmap.md", "   "}
			},
			want: []string{
				"projects[0].documentation_paths[1]: documentation path must not be blank",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCatalogue()
			tt.modify(c)

			assertIssues(t, issueStrings(t, catalogue.Validate(c)), tt.want)
		})
	}
}

func TestValidateNil(t *testing.T) {
	is := is.New(t)

	err := catalogue.Validate(nil)

	var validationErr *catalogue.ValidationError
	is.True(errors.As(err, &validationErr))
	is.Equal(err.Error(), "catalogue is nil")
}

func TestValidateIssuesHaveNoPosition(t *testing.T) {
	is := is.New(t)
	c := validCatalogue()
	c.Version = 0

	issues := issueStrings(t, catalogue.Validate(c))

	is.Equal(issues, []string{"version: version must be at least 1, got 0"})
}

func TestIssueString(t *testing.T) {
	tests := []struct {
		name  string
		issue catalogue.Issue
		want  string
	}{
		{
			name: "full",
			issue: catalogue.Issue{
				File: "wildside.yaml", Line: 42, Column: 11,
				Path:    "projects[0].components[2].depends_on[1]",
				Message: `unknown component "ortho-confg"`,
			},
			want: `wildside.yaml:42:11: projects[0].components[2].depends_on[1]: ` +
				`unknown component "ortho-confg"`,
		},
		{
			name:  "file level",
			issue: catalogue.Issue{File: "empty.yaml", Message: "catalogue file is empty"},
			want:  "empty.yaml: catalogue file is empty",
		},
		{
			name:  "no column",
			issue: catalogue.Issue{File: "a.yaml", Line: 3, Path: "version", Message: "m"},
			want:  "a.yaml:3: version: m",
		},
		{
			name:  "no file",
			issue: catalogue.Issue{Line: 3, Column: 1, Message: "m"},
			want:  "3:1: m",
		},
		{
			name:  "path only",
			issue: catalogue.Issue{Path: "projects[1].key", Message: "m"},
			want:  "projects[1].key: m",
		},
		{
			name:  "message only",
			issue: catalogue.Issue{Message: "catalogue is nil"},
			want:  "catalogue is nil",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			is.Equal(tt.issue.String(), tt.want)
		})
	}
}

func TestValidationErrorJoinsIssues(t *testing.T) {
	is := is.New(t)
	err := &catalogue.ValidationError{Issues: []catalogue.Issue{
		{File: "a.yaml", Line: 1, Column: 1, Message: "first"},
		{File: "a.yaml", Line: 2, Column: 3, Path: "projects", Message: "second"},
	}}

	is.Equal(err.Error(), "a.yaml:1:1: first\na.yaml:2:3: projects: second")
}

// TestValidateSuggestionBudget checks that suggestions for unknown
// references stop once their work budget is spent, so that thousands of
// unknown references among thousands of keys validate quickly.
func TestValidateSuggestionBudget(t *testing.T) {
	is := is.New(t)
	const count = 3000

	project := catalogue.Project{Key: "estate", Name: "Estate"}
	for i := range count {
		project.Components = append(project.Components, catalogue.Component{
			Key:       fmt.Sprintf("component-%010d", i),
			Name:      "Component",
			Type:      catalogue.ComponentService,
			Lifecycle: catalogue.LifecycleActive,
			DependsOn: []catalogue.ComponentLink{{
				Component: fmt.Sprintf("component-%010dx", i), Kind: catalogue.LinkRuntime,
			}},
		})
	}
	c := &catalogue.Catalogue{Version: 1, Projects: []catalogue.Project{project}}

	issues := issueStrings(t, catalogue.Validate(c))

	is.Equal(len(issues), count)
	suggested := 0
	for _, issue := range issues {
		if strings.Contains(issue, "did you mean") {
			suggested++
		}
	}
	is.True(suggested > 0)     // the first unknown references get a suggestion
	is.True(suggested < count) // the later ones do not
	is.True(strings.HasSuffix(issues[0],
		`unknown component "component-0000000000x"; did you mean "component-0000000000"?`))
}
