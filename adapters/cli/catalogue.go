package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/catalogue"
)

func (a *app) catalogueCommand() *cobra.Command {
	return group("catalogue", "Check estate catalogue files", a.catalogueLintCommand())
}

// lintReport is the JSON and YAML form of a lint result.
type lintReport struct {
	File       string            `json:"file" yaml:"file"`
	Valid      bool              `json:"valid" yaml:"valid"`
	Projects   int               `json:"projects" yaml:"projects"`
	Components int               `json:"components" yaml:"components"`
	Issues     []catalogue.Issue `json:"issues" yaml:"issues"`
}

func (a *app) catalogueLintCommand() *cobra.Command {
	var schemaOut, jsonOut string

	cmd := &cobra.Command{
		Use:   "lint FILE",
		Short: "Validate a catalogue file and optionally write its JSON Schema and JSON form",
		Long: "Validate a catalogue file against the YAML 1.2 rules, the catalogue's types and\n" +
			"the rules between its entries, reporting every problem with its line and column.\n\n" +
			"Exit status: 0 when the catalogue is valid, 1 when it is not or cannot be read,\n" +
			"2 for wrong usage.",
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if jsonOut != "" && sameFile(path, jsonOut) {
				return usageError{fmt.Errorf("--json-out %s is the catalogue itself: "+
					"choose another path", jsonOut)}
			}
			for _, out := range []struct{ flag, path, example string }{
				{"json-out", jsonOut, "catalogue.json"},
				{"schema-out", schemaOut, "catalogue.schema.json"},
			} {
				if info, err := os.Stat(out.path); out.path != "" && err == nil && info.IsDir() {
					return usageError{fmt.Errorf("--%s %s is a folder: give a file path, such as %s",
						out.flag, out.path, filepath.Join(out.path, out.example))}
				}
			}

			// The schema does not depend on the catalogue, so it is written
			// even when the catalogue is invalid.
			if schemaOut != "" {
				if err := writeSchema(schemaOut); err != nil {
					return err
				}
			}

			c, err := catalogue.LoadFile(path)
			var invalid *catalogue.ValidationError
			if errors.As(err, &invalid) {
				return a.reportInvalid(path, invalid)
			}
			if err != nil {
				return err
			}

			if jsonOut != "" {
				if err := writeCatalogueJSON(jsonOut, c); err != nil {
					return err
				}
			}

			report := lintReport{File: path, Valid: true, Projects: len(c.Projects),
				Components: countComponents(c), Issues: []catalogue.Issue{}}
			if a.output == "table" {
				_, err := fmt.Fprintf(a.stdout, "catalogue %s is valid (%s / %s)\n",
					path, plural(report.Projects, "project"), plural(report.Components, "component"))
				return err
			}
			return a.render(report, table{})
		},
	}
	cmd.Flags().StringVar(&schemaOut, "schema-out", "", "write the catalogue JSON Schema to `PATH`")
	cmd.Flags().StringVar(&jsonOut, "json-out", "",
		"write the validated catalogue as JSON, with every default filled in, to `PATH`")
	return cmd
}

// reportInvalid prints every issue to stderr (and a machine-readable
// report to stdout for --output json or yaml) and ends with exit status 1.
func (a *app) reportInvalid(path string, invalid *catalogue.ValidationError) error {
	fmt.Fprintf(a.stderr, "catalogue %s is invalid (%s):\n", path, plural(len(invalid.Issues), "problem"))
	for _, issue := range invalid.Issues {
		fmt.Fprintf(a.stderr, "  %s\n", issue)
	}

	if a.output != "table" {
		report := lintReport{File: path, Valid: false, Issues: invalid.Issues}
		if err := a.render(report, table{}); err != nil {
			return err
		}
	}
	return &exitError{code: ExitFailure}
}

// sameFile reports whether two paths name one existing file.
func sameFile(a, b string) bool {
	infoA, errA := os.Stat(a)
	infoB, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(infoA, infoB)
}

func writeSchema(path string) error {
	schema, err := catalogue.JSONSchema()
	if err != nil {
		return err
	}
	return writeFile(path, schema)
}

func writeCatalogueJSON(path string, c *catalogue.Catalogue) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write catalogue JSON: %w", err)
	}
	if err := catalogue.WriteJSON(f, c); err != nil {
		_ = f.Close()
		return fmt.Errorf("write catalogue JSON to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write catalogue JSON to %s: %w", path, err)
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func countComponents(c *catalogue.Catalogue) int {
	n := 0
	for _, p := range c.Projects {
		n += len(p.Components)
	}
	return n
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
