package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/store"
)

// migrateReport is the JSON and YAML form of the migrate result.
type migrateReport struct {
	Database      string `json:"database" yaml:"database"`
	FromVersion   int64  `json:"from_version" yaml:"from_version"`
	SchemaVersion int64  `json:"schema_version" yaml:"schema_version"`

	// Catalogue is the separate catalogue database, when one is set.
	Catalogue *migrateReport `json:"catalogue,omitempty" yaml:"catalogue,omitempty"`
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Long: "Apply every schema migration the database lacks, including the tables of the\n" +
			"job queue that 'ghillie worker' uses. Running it on an up-to-date database\n" +
			"changes nothing. A SQLite file is created if it does not exist. With a separate\n" +
			"catalogue database, that database gets the same schema.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			report, err := a.migrateOne(ctx, a.databaseURL, a.databaseURLSource, a.mainRole(), migrateAll)
			if err != nil {
				return err
			}
			rows := [][]string{report.row()}
			if a.separateCatalogue() {
				catalogue, err := a.migrateOne(ctx, a.catalogueURL, a.catalogueURLSource, catalogueRole,
					migrateSchema)
				if err != nil {
					return err
				}
				report.Catalogue = &catalogue
				rows = append(rows, catalogue.row())
			}

			return a.render(report, table{
				header: []string{"DATABASE", "FROM VERSION", "SCHEMA VERSION"},
				rows:   rows,
			})
		},
	}
}

func (r migrateReport) row() []string {
	return []string{r.Database, fmt.Sprint(r.FromVersion), fmt.Sprint(r.SchemaVersion)}
}

// migrateOne applies migrate to one database and reports its versions
// before and after.
func (a *app) migrateOne(ctx context.Context, rawURL, source, role string,
	migrate func(context.Context, *store.DB, *slog.Logger) error) (migrateReport, error) {
	db, err := a.openCreating(ctx, rawURL, source, role)
	if err != nil {
		return migrateReport{}, err
	}
	defer db.Close()

	from, _, err := store.SchemaVersion(ctx, db)
	if err != nil {
		return migrateReport{}, inRole(role, err)
	}
	if err := migrate(ctx, db, a.logger); err != nil {
		return migrateReport{}, inRole(role, err)
	}
	to, _, err := store.SchemaVersion(ctx, db)
	if err != nil {
		return migrateReport{}, inRole(role, err)
	}
	return migrateReport{Database: db.String(), FromVersion: from, SchemaVersion: to}, nil
}
