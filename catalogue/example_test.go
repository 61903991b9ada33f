package catalogue_test

import (
	"context"
	"fmt"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/store"
)

func ExampleParse() {
	yaml := []byte(`version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: alpha-api
        name: API
        depnds_on: []
`)

	_, err := catalogue.Parse("alpha.yaml", yaml)
	fmt.Println(err)
	// Output: alpha.yaml:8:9: projects[0].components[0].depnds_on: unknown field "depnds_on"; did you mean "depends_on"?
}

func ExampleImporter_Import() {
	ctx := context.Background()

	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		fmt.Println(err)
		return
	}

	c, err := catalogue.Parse("alpha.yaml", []byte(`version: 1
projects:
  - key: alpha
    name: Alpha
    components:
      - key: alpha-api
        name: API
        repository: {owner: example, name: alpha-api}
`))
	if err != nil {
		fmt.Println(err)
		return
	}

	importer := catalogue.NewImporter(db, nil)
	res, err := importer.Import(ctx, catalogue.Estate{Key: "demo"}, c, "abc123")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, kind := range res.ByKind() {
		fmt.Printf("%s: %+v\n", kind.Kind, kind.Counts)
	}
	// Output:
	// projects: {Created:1 Updated:0 Deleted:0}
	// components: {Created:1 Updated:0 Deleted:0}
	// repositories: {Created:1 Updated:0 Deleted:0}
	// edges: {Created:0 Updated:0 Deleted:0}
}
