package catalogue_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

const examplePath = "../examples/wildside-catalogue.yaml"

var catalogueTables = []string{
	"estates", "projects", "catalogue_repositories", "components", "component_edges", "catalogue_imports",
}

func parse(t *testing.T, yaml string) *catalogue.Catalogue {
	t.Helper()

	c, err := catalogue.Parse("test.yaml", []byte(strings.TrimLeft(yaml, "\n")))
	if err != nil {
		t.Fatalf("parse catalogue: %v", err)
	}
	return c
}

func importFile(t *testing.T, db *store.DB, estate, path, sha string) catalogue.ImportResult {
	t.Helper()

	res, err := catalogue.NewImporter(db, nil).ImportFile(context.Background(),
		catalogue.Estate{Key: estate}, path, sha)
	if err != nil {
		t.Fatalf("import %s into %s: %v", path, estate, err)
	}
	return res
}

func importCatalogue(t *testing.T, db *store.DB, estate string, c *catalogue.Catalogue,
	sha string,
) catalogue.ImportResult {
	t.Helper()

	res, err := catalogue.NewImporter(db, nil).Import(context.Background(), catalogue.Estate{Key: estate}, c, sha)
	if err != nil {
		t.Fatalf("import into %s: %v", estate, err)
	}
	return res
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()

	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// snapshot renders every row of every catalogue table, so a test can
// assert that an operation changed nothing at all.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()

	var b strings.Builder
	for _, table := range catalogueTables {
		rows, err := db.Queryx("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		var lines []string
		for rows.Next() {
			row := map[string]any{}
			if err := rows.MapScan(row); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			keys := make([]string, 0, len(row))
			for k := range row {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var fields []string
			for _, k := range keys {
				v := row[k]
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fields = append(fields, fmt.Sprintf("%s=%v", k, v))
			}
			lines = append(lines, strings.Join(fields, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s:\n%s\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}

func repoBranch(t *testing.T, db *store.DB, owner, name string) string {
	t.Helper()

	var branch string
	err := db.Get(&branch, db.Rebind("SELECT default_branch FROM catalogue_repositories WHERE owner = ? AND name = ?"),
		owner, name)
	if err != nil {
		t.Fatalf("read repository %s/%s: %v", owner, name, err)
	}
	return branch
}

func repoDocPaths(t *testing.T, db *store.DB, owner, name string) []string {
	t.Helper()

	var paths store.JSON[[]string]
	err := db.Get(&paths, db.Rebind(
		"SELECT documentation_paths FROM catalogue_repositories WHERE owner = ? AND name = ?"), owner, name)
	if err != nil {
		t.Fatalf("read repository %s/%s: %v", owner, name, err)
	}
	return paths.V
}

func TestImportExample(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		res := importFile(t, db, "demo", examplePath, "abc123")
		is.Equal(res.EstateKey, "demo")
		is.Equal(res.CommitSHA, "abc123")
		is.True(!res.Skipped)
		is.Equal(res.Projects, catalogue.Counts{Created: 2})
		is.Equal(res.Components, catalogue.Counts{Created: 7})
		is.Equal(res.Repositories, catalogue.Counts{Created: 6})
		is.Equal(res.Edges, catalogue.Counts{Created: 6})

		is.Equal(count(t, db, "estates"), 1)
		is.Equal(count(t, db, "projects"), 2)
		is.Equal(count(t, db, "components"), 7)
		is.Equal(count(t, db, "catalogue_repositories"), 6)
		is.Equal(count(t, db, "component_edges"), 6)
		is.Equal(count(t, db, "catalogue_imports"), 1)

		is.Equal(repoBranch(t, db, "leynos", "wildside"), "main")
		is.Equal(repoDocPaths(t, db, "leynos", "wildside"), []string{"docs/roadmap.md", "docs/adr/"})
		is.Equal(repoDocPaths(t, db, "leynos", "wildside-engine"), []string{})

		var planned struct {
			Lifecycle    string  `db:"lifecycle"`
			RepositoryID *string `db:"repository_id"`
		}
		is.NoErr(db.Get(&planned, "SELECT lifecycle, repository_id FROM components WHERE key = 'wildside-ingestion'"))
		is.Equal(planned.Lifecycle, "planned")
		is.True(planned.RepositoryID == nil)

		var relationship string
		is.NoErr(db.Get(&relationship, `
			SELECT e.relationship FROM component_edges e
			JOIN components f ON f.id = e.from_component_id
			JOIN components t ON t.id = e.to_component_id
			WHERE f.key = 'wildside-core' AND t.key = 'wildside-engine'`))
		is.Equal(relationship, "depends_on")

		var project struct {
			Noise    store.JSON[catalogue.NoiseFilters]   `db:"noise"`
			Status   store.JSON[catalogue.StatusSettings] `db:"status_preferences"`
			DocPaths store.JSON[[]string]                 `db:"documentation_paths"`
		}
		is.NoErr(db.Get(&project,
			"SELECT noise, status_preferences, documentation_paths FROM projects WHERE key = 'wildside'"))
		is.True(contains(project.Noise.V.IgnoreLabels, "chore/deps"))
		is.True(contains(project.DocPaths.V, "docs/roadmap.md"))
		is.True(!project.Status.V.SummariseDependencyPRs)
	})
}

func TestImportSameCommitSkipped(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importFile(t, db, "demo", examplePath, "abc123")
		before := snapshot(t, db)

		res := importFile(t, db, "demo", examplePath, "abc123")
		is.True(res.Skipped)
		is.Equal(res.Projects, catalogue.Counts{})
		is.Equal(res.Components, catalogue.Counts{})
		is.Equal(res.Repositories, catalogue.Counts{})
		is.Equal(res.Edges, catalogue.Counts{})
		is.Equal(snapshot(t, db), before) // nothing changed
	})
}

func TestImportUnchangedNewCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importFile(t, db, "demo", examplePath, "abc123")
		res := importFile(t, db, "demo", examplePath, "def456")
		is.True(!res.Skipped)
		is.Equal(res.Projects, catalogue.Counts{})
		is.Equal(res.Components, catalogue.Counts{})
		is.Equal(res.Repositories, catalogue.Counts{})
		is.Equal(res.Edges, catalogue.Counts{})
		is.Equal(count(t, db, "catalogue_imports"), 2)
	})
}

func TestImportSameCommitTwoEstates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		alpha := importFile(t, db, "alpha", examplePath, "abc123")
		beta := importFile(t, db, "beta", examplePath, "abc123")
		is.True(!alpha.Skipped)
		is.True(!beta.Skipped)
		is.Equal(beta.Repositories, catalogue.Counts{}) // repositories are shared
		is.Equal(count(t, db, "catalogue_imports"), 2)
		is.Equal(count(t, db, "catalogue_repositories"), 6)
		is.Equal(count(t, db, "components"), 14)
		is.Equal(count(t, db, "component_edges"), 12)
	})
}

func TestImportWithoutCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importFile(t, db, "demo", examplePath, "")
		res := importFile(t, db, "demo", examplePath, "")
		is.True(!res.Skipped)
		is.Equal(count(t, db, "catalogue_imports"), 0)
	})
}

func TestImportInvalidChangesNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		importFile(t, db, "demo", examplePath, "abc123")
		before := snapshot(t, db)
		counts := map[string]int{}
		for _, table := range catalogueTables {
			counts[table] = count(t, db, table)
		}

		bad := &catalogue.Catalogue{Version: 1, Projects: []catalogue.Project{{Key: "bad slug!", Name: "Bad"}}}
		_, err := catalogue.NewImporter(db, nil).Import(ctx, catalogue.Estate{Key: "demo"}, bad, "bad1")
		var invalid *catalogue.ValidationError
		is.True(errors.As(err, &invalid))
		is.True(strings.Contains(err.Error(), "bad slug!"))

		for _, table := range catalogueTables {
			is.Equal(count(t, db, table), counts[table]) // row count changed
		}
		is.Equal(snapshot(t, db), before)
	})
}

func TestImportInvalidFileChangesNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		path := t.TempDir() + "/bad.yaml"
		writeFile(t, path, "version: 1\nprojects:\n  - key: alpha\n    name: Alpha\n    components:\n"+
			"      - key: alpha-api\n        name: API\n        depends_on:\n          - component: nope\n")

		_, err := catalogue.NewImporter(db, nil).ImportFile(context.Background(),
			catalogue.Estate{Key: "demo"}, path, "abc")
		var invalid *catalogue.ValidationError
		is.True(errors.As(err, &invalid))
		for _, table := range catalogueTables {
			is.Equal(count(t, db, table), 0) // nothing written, not even the estate
		}
	})
}

func TestImportInvalidEstateKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		_, err := catalogue.NewImporter(db, nil).ImportFile(context.Background(),
			catalogue.Estate{Key: "Bad Key"}, examplePath, "abc")
		is.True(err != nil)
		is.True(strings.Contains(err.Error(), `invalid estate key "Bad Key"`))
		is.Equal(count(t, db, "estates"), 0)
	})
}

const alphaV1 = `
version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: alpha-api
        name: API
        repository: {owner: org, name: alpha-api, default_branch: main}
        depends_on:
          - component: alpha-worker
      - key: alpha-worker
        name: Worker
        repository: {owner: org, name: alpha-worker}
`

const alphaV2 = `
version: 1
projects:
  - key: alpha
    name: Alpha v2
    components:
      - key: alpha-api
        name: API
        repository: {owner: org, name: alpha-api, default_branch: develop}
`

func TestImportEditedCatalogue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		first := importCatalogue(t, db, "demo", parse(t, alphaV1), "v1")
		is.Equal(first.Edges, catalogue.Counts{Created: 1})

		res := importCatalogue(t, db, "demo", parse(t, alphaV2), "v2")
		is.Equal(res.Projects, catalogue.Counts{Updated: 1})
		is.Equal(res.Components, catalogue.Counts{Deleted: 1})
		is.Equal(res.Repositories, catalogue.Counts{Updated: 1, Deleted: 1})
		is.Equal(res.Edges, catalogue.Counts{Deleted: 1})

		is.Equal(count(t, db, "projects"), 1)
		is.Equal(count(t, db, "components"), 1)
		is.Equal(count(t, db, "component_edges"), 0)
		is.Equal(count(t, db, "catalogue_repositories"), 1)
		is.Equal(repoBranch(t, db, "org", "alpha-api"), "develop")

		var name string
		is.NoErr(db.Get(&name, "SELECT name FROM projects WHERE key = 'alpha'"))
		is.Equal(name, "Alpha v2")
	})
}

func TestImportDeletedProject(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importFile(t, db, "demo", examplePath, "v1")
		c := parse(t, alphaV1)
		res := importCatalogue(t, db, "demo", c, "v2")
		is.Equal(res.Projects, catalogue.Counts{Created: 1, Deleted: 2})
		is.Equal(res.Components, catalogue.Counts{Created: 2, Deleted: 7})
		is.Equal(res.Repositories, catalogue.Counts{Created: 2, Deleted: 6})
		is.Equal(res.Edges, catalogue.Counts{Created: 1, Deleted: 6})
		is.Equal(count(t, db, "components"), 2)
		is.Equal(count(t, db, "catalogue_repositories"), 2)
	})
}

func TestImportNoiseFilters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		readNoise := func() catalogue.NoiseFilters {
			var noise store.JSON[catalogue.NoiseFilters]
			is.NoErr(db.Get(&noise, "SELECT noise FROM projects WHERE key = 'alpha'"))
			return noise.V
		}
		const template = `
version: 1
projects:
  - key: alpha
    name: Alpha
    components: []
    noise:
      enabled: %v
      toggles: {ignore_authors: %v, ignore_labels: %v, ignore_paths: %v, ignore_title_prefixes: %v}
      ignore_authors: ["dependabot[bot]"]
      ignore_labels: [chore/deps]
      ignore_paths: ["docs/generated/**"]
      ignore_title_prefixes: ["chore:"]
`
		importCatalogue(t, db, "demo", parse(t, fmt.Sprintf(template, false, false, true, false, true)), "v1")
		want := catalogue.NoiseFilters{
			Enabled:       false,
			Toggles:       catalogue.NoiseFilterToggles{IgnoreLabels: true, IgnoreTitlePrefixes: true},
			IgnoreAuthors: []string{"dependabot[bot]"}, IgnoreLabels: []string{"chore/deps"},
			IgnorePaths: []string{"docs/generated/**"}, IgnoreTitlePrefixes: []string{"chore:"},
		}
		is.Equal(readNoise(), want)

		res := importCatalogue(t, db, "demo", parse(t, fmt.Sprintf(template, true, true, false, true, false)), "v2")
		is.Equal(res.Projects, catalogue.Counts{Updated: 1})
		want.Enabled = true
		want.Toggles = catalogue.NoiseFilterToggles{IgnoreAuthors: true, IgnorePaths: true}
		is.Equal(readNoise(), want)

		// The stored document keeps every key, so other readers of the
		// table see the same shape whatever the YAML left out.
		var raw string
		is.NoErr(db.Get(&raw, "SELECT CAST(noise AS TEXT) FROM projects WHERE key = 'alpha'"))
		for _, key := range []string{"enabled", "toggles", "ignore_authors", "ignore_labels",
			"ignore_paths", "ignore_title_prefixes"} {
			is.True(strings.Contains(raw, `"`+key+`"`))
		}
	})
}

func TestImportDocumentationPaths(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		const template = `
version: 1
projects:
  - key: alpha
    name: Alpha
    documentation_paths: [docs/roadmap.md, docs/roadmap.md]
    components:
      - key: alpha-api
        name: API
        repository:
          owner: org
          name: alpha-api
          documentation_paths: %s
`
		first := importCatalogue(t, db, "demo", parse(t, fmt.Sprintf(template, "[docs/adr/, docs/adr/]")), "v1")
		is.Equal(first.Repositories, catalogue.Counts{Created: 1})
		is.Equal(repoDocPaths(t, db, "org", "alpha-api"), []string{"docs/adr/"}) // duplicates dropped

		second := importCatalogue(t, db, "demo",
			parse(t, fmt.Sprintf(template, "[docs/roadmap.md, docs/adr/]")), "v2")
		is.Equal(second.Repositories, catalogue.Counts{Updated: 1})
		is.Equal(repoDocPaths(t, db, "org", "alpha-api"), []string{"docs/roadmap.md", "docs/adr/"})

		var paths store.JSON[[]string]
		is.NoErr(db.Get(&paths, "SELECT documentation_paths FROM projects WHERE key = 'alpha'"))
		is.Equal(paths.V, []string{"docs/roadmap.md"})
	})
}

func TestImportSharedRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		const shared = `
version: 1
projects:
  - key: %[1]s
    name: Project
    components:
      - key: %[1]s-api
        name: API
        repository: {owner: org, name: shared-repo}
`
		const planned = `
version: 1
projects:
  - key: alpha
    name: Project
    components:
      - key: alpha-api
        name: API
        lifecycle: planned
`
		importCatalogue(t, db, "alpha", parse(t, fmt.Sprintf(shared, "alpha")), "v1")
		importCatalogue(t, db, "beta", parse(t, fmt.Sprintf(shared, "beta")), "v1")
		res := importCatalogue(t, db, "alpha", parse(t, planned), "v2")

		is.Equal(res.Repositories, catalogue.Counts{}) // beta still links it
		is.Equal(count(t, db, "catalogue_repositories"), 1)

		var linked int
		is.NoErr(db.Get(&linked, "SELECT count(*) FROM components WHERE repository_id IS NOT NULL"))
		is.Equal(linked, 1)
	})
}

func TestImportKeepsUnrelatedRepository(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		_, err := db.Exec(db.Rebind(`INSERT INTO catalogue_repositories (id, owner, name, default_branch)
			VALUES (?, 'other', 'unlinked', 'main')`), store.NewID())
		is.NoErr(err)

		res := importCatalogue(t, db, "demo", parse(t, alphaV1), "v1")
		is.Equal(res.Repositories, catalogue.Counts{Created: 2})
		is.Equal(count(t, db, "catalogue_repositories"), 3) // never linked here, so not pruned
	})
}

func TestImportRepositorySlugIgnoresCase(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importCatalogue(t, db, "demo", parse(t, alphaV1), "v1")
		upper := strings.Replace(alphaV1, "owner: org, name: alpha-api", "owner: Org, name: Alpha-API", 1)
		res := importCatalogue(t, db, "demo", parse(t, upper), "v2")

		is.Equal(res.Repositories, catalogue.Counts{Updated: 1}) // spelling updated in place
		is.Equal(count(t, db, "catalogue_repositories"), 2)
		is.Equal(repoBranch(t, db, "Org", "Alpha-API"), "main")
	})
}

func TestImportMovedComponentKeepsID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		const before = `
version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: shared-lib
        name: Shared
      - key: alpha-api
        name: API
        depends_on: [{component: shared-lib}]
  - key: beta
    name: Beta
    components: []
`
		const after = `
version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: alpha-api
        name: API
        depends_on: [{component: shared-lib}]
  - key: beta
    name: Beta
    components:
      - key: shared-lib
        name: Shared
`
		importCatalogue(t, db, "demo", parse(t, before), "v1")
		var id string
		is.NoErr(db.Get(&id, "SELECT id FROM components WHERE key = 'shared-lib'"))

		res := importCatalogue(t, db, "demo", parse(t, after), "v2")
		is.Equal(res.Components, catalogue.Counts{Updated: 1})
		is.Equal(res.Edges, catalogue.Counts{})

		var moved struct {
			ID      string `db:"id"`
			Project string `db:"key"`
		}
		is.NoErr(db.Get(&moved, `SELECT c.id, p.key FROM components c
			JOIN projects p ON p.id = c.project_id WHERE c.key = 'shared-lib'`))
		is.Equal(moved.ID, id)
		is.Equal(moved.Project, "beta")
		is.Equal(count(t, db, "component_edges"), 1)
	})
}

func TestImportEdgeKindUpdated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importCatalogue(t, db, "demo", parse(t, alphaV1), "v1")
		edited := strings.Replace(alphaV1, "- component: alpha-worker",
			"- component: alpha-worker\n            kind: ops\n            rationale: deploys together", 1)
		res := importCatalogue(t, db, "demo", parse(t, edited), "v2")
		is.Equal(res.Edges, catalogue.Counts{Updated: 1})

		var edge struct {
			Kind      string  `db:"kind"`
			Rationale *string `db:"rationale"`
		}
		is.NoErr(db.Get(&edge, "SELECT kind, rationale FROM component_edges"))
		is.Equal(edge.Kind, "ops")
		is.Equal(*edge.Rationale, "deploys together")
	})
}

func TestImportEstateName(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		im := catalogue.NewImporter(db, nil)
		c := parse(t, alphaV1)
		name := func() (name string, description *string) {
			var row struct {
				Name        string  `db:"name"`
				Description *string `db:"description"`
			}
			is.NoErr(db.Get(&row, "SELECT name, description FROM estates WHERE key = 'demo'"))
			return row.Name, row.Description
		}

		_, err := im.Import(ctx, catalogue.Estate{Key: "demo"}, c, "v1")
		is.NoErr(err)
		got, _ := name()
		is.Equal(got, "demo") // the key names a new estate without a name

		_, err = db.Exec("UPDATE estates SET description = 'kept'")
		is.NoErr(err)

		res, err := im.Import(ctx, catalogue.Estate{Key: "demo", Name: "Renamed"}, c, "v1")
		is.NoErr(err)
		is.True(res.Skipped)
		got, _ = name()
		is.Equal(got, "demo") // a skipped import renames nothing

		_, err = im.Import(ctx, catalogue.Estate{Key: "demo", Name: "Demo Estate"}, c, "v2")
		is.NoErr(err)
		got, description := name()
		is.Equal(got, "Demo Estate")
		is.Equal(*description, "kept")

		_, err = im.Import(ctx, catalogue.Estate{Key: "demo"}, c, "v3")
		is.NoErr(err)
		got, _ = name()
		is.Equal(got, "Demo Estate") // no name keeps the stored one
	})
}

func TestImportConcurrentEstates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		// Every estate creates the same new repositories at once; without
		// serialization one import would fail on the unique slug index.
		const estates = 4
		var wg sync.WaitGroup
		errs := make(chan error, estates)
		for i := range estates {
			wg.Add(1)
			go func() {
				defer wg.Done()
				im := catalogue.NewImporter(db, nil)
				_, err := im.ImportFile(ctx, catalogue.Estate{Key: fmt.Sprintf("estate-%d", i)}, examplePath, "abc")
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			is.NoErr(err)
		}

		is.Equal(count(t, db, "estates"), estates)
		is.Equal(count(t, db, "catalogue_repositories"), 6)
		is.Equal(count(t, db, "components"), 7*estates)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()

	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListEstates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()

		empty, err := catalogue.ListEstates(ctx, db)
		is.NoErr(err)
		is.Equal(len(empty), 0)

		importCatalogue(t, db, "beta", parse(t, alphaV1), "")
		importFile(t, db, "alpha", examplePath, "first")
		importFile(t, db, "alpha", examplePath, "second")

		estates, err := catalogue.ListEstates(ctx, db)
		is.NoErr(err)
		is.Equal(len(estates), 2)

		alpha := estates[0]
		is.Equal(alpha.Key, "alpha")
		is.Equal(alpha.Projects, 2)
		is.Equal(alpha.Components, 7)
		is.Equal(alpha.Repositories, 6)
		is.Equal(alpha.LastCommitSHA, "second")
		is.True(alpha.LastImportedAt != nil)

		beta := estates[1]
		is.Equal(beta.Key, "beta")
		is.Equal(beta.Components, 2)
		is.Equal(beta.Repositories, 2)
		is.Equal(beta.LastCommitSHA, "") // imported without a commit
		is.True(beta.LastImportedAt == nil)
	})
}

func TestHasProject(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		importFile(t, db, "alpha", examplePath, "")
		var estateID string
		cat := db.Catalogue()
		is.NoErr(cat.Get(&estateID, `SELECT id FROM estates WHERE key = 'alpha'`))

		known, err := catalogue.HasProject(ctx, db, estateID, "wildside")
		is.NoErr(err)
		is.True(known)
		known, err = catalogue.HasProject(ctx, db, estateID, "nope")
		is.NoErr(err)
		is.True(!known)
		known, err = catalogue.HasProject(ctx, db, "another-estate", "wildside")
		is.NoErr(err)
		is.True(!known) // keys belong to their estate
	})
}

func TestImportEarlierCommitAgain(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)

		importCatalogue(t, db, "demo", parse(t, alphaV1), "c1")
		importCatalogue(t, db, "demo", parse(t, alphaV2), "c2")

		// Rolling the catalogue back to c1 must restore c1's state.
		res := importCatalogue(t, db, "demo", parse(t, alphaV1), "c1")
		is.True(!res.Skipped)
		is.Equal(res.Components, catalogue.Counts{Created: 1})
		is.Equal(count(t, db, "components"), 2)
		is.Equal(count(t, db, "catalogue_imports"), 2) // one row per commit

		estates, err := catalogue.ListEstates(context.Background(), db)
		is.NoErr(err)
		is.Equal(estates[0].LastCommitSHA, "c1")

		again := importCatalogue(t, db, "demo", parse(t, alphaV1), "c1")
		is.True(again.Skipped) // c1 is now the latest import
	})
}

func TestImportWarnsOnSharedRepositoryChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		const shared = `
version: 1
projects:
  - key: %[1]s
    name: Project
    components:
      - key: %[1]s-api
        name: API
        repository: {owner: acme, name: shared, default_branch: %[2]s}
`
		importCatalogue(t, db, "ea", parse(t, fmt.Sprintf(shared, "ea", "main")), "a1")
		first := importCatalogue(t, db, "eb", parse(t, fmt.Sprintf(shared, "eb", "main")), "b1")
		is.Equal(len(first.Warnings), 0) // same description, nothing to warn about

		res := importCatalogue(t, db, "eb", parse(t, fmt.Sprintf(shared, "eb", "develop")), "b2")
		is.Equal(res.Repositories, catalogue.Counts{Updated: 1})
		is.Equal(res.Warnings, []string{"repository acme/shared is also catalogued by estate ea; " +
			"this import changed its default_branch main -> develop for them too"})
	})
}

func TestImportEstateNameChecks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"blank", "   ", `estate name for "demo" is blank`},
		{"too long", strings.Repeat("é", 256), "is 256 characters long: the maximum is 255"},
		{"control", "Demo\x1b[31m", "contains the control character U+001B"},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				_, err := catalogue.NewImporter(db, nil).Import(context.Background(),
					catalogue.Estate{Key: "demo", Name: tt.in}, parse(t, alphaV1), "v1")
				is.True(err != nil)
				is.True(strings.Contains(err.Error(), tt.want))
				is.Equal(count(t, db, "estates"), 0)
			})
		}

		is := is.New(t)
		_, err := catalogue.NewImporter(db, nil).Import(context.Background(),
			catalogue.Estate{Key: "demo", Name: strings.Repeat("é", 255)}, parse(t, alphaV1), "v1")
		is.NoErr(err) // 255 characters fit, whatever their byte length
	})
}
