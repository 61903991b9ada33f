package githubtest

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// LoadSchema parses a GraphQL schema in SDL, such as GitHub's published
// schema.docs.graphql, for Options.Schema.
//
// NOTE: GitHub's published schema defines a few fields twice on one type
// (EnterpriseOwnerInfo.repositoryDeployKeySetting, for one), which the
// GraphQL specification forbids and gqlparser rejects. LoadSchema keeps
// the first definition of each field.
func LoadSchema(name, sdl string) (*ast.Schema, error) {
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: name, Input: sdl})
	if err != nil {
		return nil, fmt.Errorf("parse GraphQL schema %s: %w", name, err)
	}

	for _, def := range append(doc.Definitions, doc.Extensions...) {
		seen := make(map[string]bool, len(def.Fields))
		unique := def.Fields[:0]
		for _, f := range def.Fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				unique = append(unique, f)
			}
		}
		def.Fields = unique
	}

	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("load GraphQL schema %s: %w", name, err)
	}
	return schema, nil
}
