package catalogue_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/matryer/is"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ghillie/ghillie/catalogue"
)

var updateSchema = flag.Bool("update", false, "rewrite schemas/catalogue.schema.json")

const schemaFile = "../schemas/catalogue.schema.json"

func generateSchema(t *testing.T) []byte {
	t.Helper()

	schema, err := catalogue.JSONSchema()
	if err != nil {
		t.Fatalf("generate JSON Schema: %v", err)
	}
	return schema
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()

	const url = "https://ghillie.example/schemas/catalogue.json"
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(generateSchema(t)))
	if err != nil {
		t.Fatalf("decode JSON Schema: %v", err)
	}
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource(url, doc); err != nil {
		t.Fatalf("add JSON Schema: %v", err)
	}
	schema, err := compiler.Compile(url)
	if err != nil {
		t.Fatalf("compile JSON Schema: %v", err)
	}
	return schema
}

func validateJSON(t *testing.T, schema *jsonschema.Schema, document []byte) error {
	t.Helper()

	instance, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		t.Fatalf("decode instance: %v", err)
	}
	return schema.Validate(instance)
}

// TestSchemaFile keeps the committed schema in step with the Go types.
func TestSchemaFile(t *testing.T) {
	want := generateSchema(t)
	if *updateSchema {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatalf("write %s: %v", schemaFile, err)
		}
	}

	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("read %s: %v; create it with: go test ./catalogue -run TestSchemaFile -update",
			schemaFile, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; regenerate it with: go test ./catalogue -run TestSchemaFile -update",
			schemaFile)
	}
}

func TestJSONSchemaDeterministic(t *testing.T) {
	is := is.New(t)

	first := generateSchema(t)

	is.Equal(string(first), string(generateSchema(t)))
	is.True(strings.HasPrefix(string(first), "{\n  \"$schema\": ")) // two-space indent
	is.True(strings.HasSuffix(string(first), "}\n"))                // final newline
}

func TestJSONSchemaContent(t *testing.T) {
	is := is.New(t)
	type property struct {
		Type                 string
		Items                *property
		Default              any
		Enum                 []string
		Pattern              string
		Minimum              *int
		Maximum              *int
		MaxLength            *int
		AnyOf                []property
		AdditionalProperties *bool
	}
	type definition struct {
		Title                string
		Description          string
		Required             []string
		AdditionalProperties *bool
		Properties           map[string]property
	}
	var schema struct {
		ID   string                `json:"$id"`
		Ref  string                `json:"$ref"`
		Defs map[string]definition `json:"$defs"`
	}
	is.NoErr(json.Unmarshal(generateSchema(t), &schema))

	is.Equal(schema.ID, "https://ghillie.example/schemas/catalogue.json")
	is.Equal(schema.Ref, "#/$defs/Catalogue")
	is.Equal(len(schema.Defs), 9)
	for name, def := range schema.Defs {
		is.Equal(def.Title, name)
		is.True(def.Description != "") // every definition is described

		// Unknown fields are rejected everywhere.
		is.True(def.AdditionalProperties != nil && !*def.AdditionalProperties)
	}

	root := schema.Defs["Catalogue"]
	is.Equal(root.Required, []string{"version", "projects"})
	is.Equal(*root.Properties["version"].Minimum, 1)
	is.Equal(*root.Properties["version"].Maximum, catalogue.CurrentVersion)
	is.Equal(root.Properties["projects"].Type, "array")
	is.Equal(root.Properties["programmes"].Default, []any{})

	is.Equal(schema.Defs["Project"].Required, []string{"key", "name", "components"})
	is.Equal(schema.Defs["Programme"].Required, []string{"key", "name"})
	is.Equal(schema.Defs["Component"].Required, []string{"key", "name"})
	is.Equal(schema.Defs["Repository"].Required, []string{"owner", "name"})
	is.Equal(schema.Defs["ComponentLink"].Required, []string{"component"})

	docs := schema.Defs["Repository"].Properties["documentation_paths"]
	is.Equal(docs.Type, "array")
	is.Equal(docs.Items.Type, "string")
	is.Equal(docs.Default, []any{})
	is.Equal(schema.Defs["Repository"].Properties["default_branch"].Default, "main")
	repository := schema.Defs["Repository"].Properties
	is.Equal(repository["owner"].Pattern, "^[A-Za-z0-9_][A-Za-z0-9_-]*$")
	is.Equal(*repository["owner"].MaxLength, 39)
	is.Equal(repository["name"].Pattern, "^[A-Za-z0-9._-]+$")
	is.Equal(*repository["name"].MaxLength, 100)

	component := schema.Defs["Component"].Properties
	is.Equal(component["type"].Enum,
		[]string{"data-pipeline", "job", "library", "other", "service", "tooling", "ui"})
	is.Equal(component["type"].Default, "service")
	is.Equal(component["lifecycle"].Enum, []string{"active", "deprecated", "planned"})
	is.Equal(component["lifecycle"].Default, "active")
	is.Equal(component["key"].Pattern, "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
	is.Equal(len(component["repository"].AnyOf), 2)
	is.Equal(component["description"].AnyOf[1].Type, "null")

	link := schema.Defs["ComponentLink"].Properties
	is.Equal(link["kind"].Enum, []string{"dev", "ops", "runtime", "test"})
	is.Equal(link["kind"].Default, "runtime")

	is.Equal(schema.Defs["NoiseFilters"].Properties["enabled"].Default, true)
	is.Equal(schema.Defs["NoiseFilterToggles"].Properties["ignore_paths"].Default, true)
	is.Equal(schema.Defs["StatusSettings"].Properties["prefer_long_form"].Default, false)
}

func TestSchemaAccepts(t *testing.T) {
	schema := compileSchema(t)
	tests := []struct {
		name     string
		document []byte
	}{
		{"example catalogue", writeJSON(t, loadWildside(t))},
		{"empty catalogue", []byte(`{"version":1,"projects":[],"programmes":[]}`)},
		{"only required fields", []byte(`{"version":1,"projects":[` +
			`{"key":"alpha","name":"Alpha","components":[` +
			`{"key":"alpha-api","name":"Alpha API","repository":{"owner":"o","name":"n"}}]}]}`)},
		{"longest repository owner and name", repositoryDocument(
			"_"+strings.Repeat("o", 38), strings.Repeat("n", 100))},
		{"repository name starting with a dot", repositoryDocument("o", ".github")},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			is.NoErr(validateJSON(t, schema, tt.document))
		})
	}
}

func TestSchemaRejects(t *testing.T) {
	schema := compileSchema(t)
	project := func(fields string) []byte {
		return []byte(`{"version":1,"projects":[{"key":"alpha","name":"Alpha","components":[]` +
			fields + `}]}`)
	}
	tests := []struct {
		name     string
		document []byte
	}{
		{"unknown field", project(`,"depnds_on":[]`)},
		{"unknown top-level field", []byte(`{"version":1,"projects":[],"estate":"demo"}`)},
		{"bad key", []byte(`{"version":1,"projects":[{"key":"bad slug!","name":"Bad",` +
			`"components":[]}]}`)},
		{"version zero", []byte(`{"version":0,"projects":[]}`)},
		{"version as string", []byte(`{"version":"1","projects":[]}`)},
		{"missing projects", []byte(`{"version":1}`)},
		{"blank name", []byte(`{"version":1,"projects":[{"key":"alpha","name":"  ",` +
			`"components":[]}]}`)},
		{"boolean as string", project(`,"noise":{"enabled":"yes"}`)},
		{"bad repository owner", repositoryDocument("a b", "n")},
		{"repository owner starting with a hyphen", repositoryDocument("-o", "n")},
		{"repository owner with a dot", repositoryDocument("o.o", "n")},
		{"repository owner of 40 characters", repositoryDocument(strings.Repeat("o", 40), "n")},
		{"repository name of 101 characters", repositoryDocument("o", strings.Repeat("n", 101))},
		{"repository name dot", repositoryDocument("o", ".")},
		{"repository name dot dot", repositoryDocument("o", "..")},
		{"version above the current one", []byte(`{"version":2,"projects":[]}`)},
		{"invalid component type", []byte(`{"version":1,"projects":[{"key":"alpha","name":"A",` +
			`"components":[{"key":"a","name":"A","type":"database"}]}]}`)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)

			is.True(validateJSON(t, schema, tt.document) != nil) // the schema rejects the document
		})
	}
}

// repositoryDocument returns a catalogue whose only component has the
// repository owner/name.
func repositoryDocument(owner, name string) []byte {
	return []byte(`{"version":1,"projects":[{"key":"alpha","name":"A","components":[` +
		`{"key":"a","name":"A","repository":{"owner":"` + owner + `","name":"` + name + `"}}]}]}`)
}
