package registry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
)

const examplePath = "../examples/wildside-catalogue.yaml"

// importExample imports the example catalogue (six repositories) into the
// estate.
func importExample(t *testing.T, db *store.DB, estate string) {
	t.Helper()

	_, err := catalogue.NewImporter(db, nil).ImportFile(context.Background(),
		catalogue.Estate{Key: estate}, examplePath, "")
	if err != nil {
		t.Fatalf("import %s into %s: %v", examplePath, estate, err)
	}
}

// importYAML imports a catalogue given as YAML text into the estate.
func importYAML(t *testing.T, db *store.DB, estate, yaml string) {
	t.Helper()

	c, err := catalogue.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse catalogue for %s: %v\n%s", estate, err, yaml)
	}
	if _, err := catalogue.NewImporter(db, nil).Import(context.Background(),
		catalogue.Estate{Key: estate}, c, ""); err != nil {
		t.Fatalf("import catalogue into %s: %v", estate, err)
	}
}

// catalogueYAML returns a catalogue whose one project has a component per
// repository, each given as "owner/name" or "owner/name@branch" (the
// branch defaults to main).
func catalogueYAML(repos ...string) string {
	var b strings.Builder
	b.WriteString("version: 1\nprojects:\n  - key: main\n    name: Main\n    components:")
	if len(repos) == 0 {
		b.WriteString(" []\n")
		return b.String()
	}
	for i, repo := range repos {
		slug, branch, _ := strings.Cut(repo, "@")
		if branch == "" {
			branch = "main"
		}
		owner, name, _ := strings.Cut(slug, "/")
		fmt.Fprintf(&b, "\n      - key: c%d\n        name: Component %d\n"+
			"        repository: {owner: %s, name: %s, default_branch: %s}", i, i, owner, name, branch)
	}
	return b.String() + "\n"
}

func syncEstate(t *testing.T, svc *registry.Service, estate string) registry.SyncResult {
	t.Helper()

	res, err := svc.Sync(context.Background(), estate)
	if err != nil {
		t.Fatalf("sync %s: %v", estate, err)
	}
	return res
}

func getRepo(t *testing.T, svc *registry.Service, slug string) registry.Repository {
	t.Helper()

	repo, err := svc.GetBySlug(context.Background(), slug)
	if err != nil {
		t.Fatalf("get %s: %v", slug, err)
	}
	return repo
}

func list(t *testing.T, svc *registry.Service, opts registry.ListOptions) []string {
	t.Helper()

	repos, err := svc.List(context.Background(), opts)
	if err != nil {
		t.Fatalf("list %+v: %v", opts, err)
	}
	slugs := make([]string, len(repos))
	for i, r := range repos {
		slugs[i] = r.Slug()
	}
	return slugs
}

// insertRepository inserts a Silver row the way Silver does for a
// repository outside every catalogue: no estate, no catalogue link.
func insertRepository(t *testing.T, db *store.DB, owner, name, branch string, enabled bool) string {
	t.Helper()

	id := store.NewID()
	now := store.Now()
	exec(t, db, `INSERT INTO repositories
		(id, github_owner, github_name, default_branch, ingestion_enabled, documentation_paths,
		 created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, owner, name, branch, enabled, store.NewJSON([]string{}), now, now)
	return id
}

func exec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()

	if _, err := db.Exec(db.Rebind(query), args...); err != nil {
		t.Fatalf("exec %s: %v", query, err)
	}
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()

	var n int
	if err := db.Get(&n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func estateID(t *testing.T, db *store.DB, key string) string {
	t.Helper()

	var id string
	cat := db.Catalogue()
	if err := cat.Get(&id, cat.Rebind("SELECT id FROM estates WHERE key = ?"), key); err != nil {
		t.Fatalf("look up estate %s: %v", key, err)
	}
	return id
}

func catalogueRepositoryID(t *testing.T, db *store.DB, owner, name string) string {
	t.Helper()

	var id string
	cat := db.Catalogue()
	err := cat.Get(&id, cat.Rebind("SELECT id FROM catalogue_repositories WHERE owner = ? AND name = ?"),
		owner, name)
	if err != nil {
		t.Fatalf("look up catalogue repository %s/%s: %v", owner, name, err)
	}
	return id
}

// memberEstates returns the keys of the estates that the repository
// belongs to, sorted.
func memberEstates(t *testing.T, db *store.DB, repositoryID string) []string {
	t.Helper()

	var ids []string
	err := db.Select(&ids, db.Rebind(`SELECT estate_id FROM repository_estates
		WHERE repository_id = ?`), repositoryID)
	if err != nil {
		t.Fatalf("read estates of repository %s: %v", repositoryID, err)
	}

	keys := []string{}
	for _, id := range ids {
		var key string
		cat := db.Catalogue()
		if err := cat.Get(&key, cat.Rebind("SELECT key FROM estates WHERE id = ?"), id); err != nil {
			t.Fatalf("look up estate %s of repository %s: %v", id, repositoryID, err)
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
