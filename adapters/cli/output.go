package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/goccy/go-yaml"
)

// table is the plain-text form of a result: a header row and data rows.
type table struct {
	header []string
	rows   [][]string
}

// render writes value as JSON or YAML, or t as aligned columns for the
// table format.
func (a *app) render(value any, t table) error {
	switch a.output {
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(value)
	case "yaml":
		b, err := yaml.Marshal(value)
		if err != nil {
			return fmt.Errorf("encode YAML output: %w", err)
		}
		_, err = a.stdout.Write(b)
		return err
	}
	return writeTable(a.stdout, t)
}

func writeTable(w io.Writer, t table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow(tw, t.header)
	for _, row := range t.rows {
		writeRow(tw, row)
	}
	return tw.Flush()
}

func writeRow(w io.Writer, cells []string) {
	for i, cell := range cells {
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		fmt.Fprint(w, cell)
	}
	fmt.Fprintln(w)
}
