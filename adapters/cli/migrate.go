package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/store"
)

// migrateReport is the JSON and YAML form of the migrate result.
type migrateReport struct {
	Database      string `json:"database" yaml:"database"`
	FromVersion   int64  `json:"from_version" yaml:"from_version"`
	SchemaVersion int64  `json:"schema_version" yaml:"schema_version"`
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Long: "Apply every schema migration the database lacks, including the tables of the\n" +
			"job queue that 'ghillie worker' uses. Running it on an up-to-date database\n" +
			"changes nothing. A SQLite file is created if it does not exist.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			db, err := store.Open(ctx, a.databaseURL)
			if err != nil {
				return err
			}
			defer db.Close()

			from, _, err := store.SchemaVersion(ctx, db)
			if err != nil {
				return err
			}
			if err := migrateAll(ctx, db, a.logger); err != nil {
				return err
			}
			to, _, err := store.SchemaVersion(ctx, db)
			if err != nil {
				return err
			}

			report := migrateReport{Database: db.String(), FromVersion: from, SchemaVersion: to}
			return a.render(report, table{
				header: []string{"DATABASE", "FROM VERSION", "SCHEMA VERSION"},
				rows:   [][]string{{report.Database, fmt.Sprint(from), fmt.Sprint(to)}},
			})
		},
	}
}
