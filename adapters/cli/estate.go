package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/catalogue"
)

func (a *app) estateCommand() *cobra.Command {
	return group("estate", "Import estate catalogues, list estates and manage their repositories",
		a.estateImportCommand(), a.estateListCommand(), a.estateSyncCommand(), a.estateRepoCommand())
}

func (a *app) estateImportCommand() *cobra.Command {
	var estate catalogue.Estate
	var path, commitSHA string

	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a catalogue file into an estate",
		Long: "Reconcile the estate's projects, components, repositories and relationships\n" +
			"with a catalogue file, in one transaction. Entries the file no longer has are\n" +
			"deleted. Importing a commit the estate already has changes nothing; an empty\n" +
			"--commit-sha always imports and records nothing. An invalid catalogue changes\n" +
			"nothing and exits with status 1.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := checkEstateKey(estate.Key); err != nil {
				return err
			}
			if err := catalogue.CheckCommitSHA(commitSHA); err != nil {
				return usageError{fmt.Errorf("--commit-sha: %w", err)}
			}
			if a.remote() {
				return a.remoteImport(ctx, estate, path, commitSHA)
			}
			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			res, err := catalogue.NewImporter(db, a.logger).ImportFile(ctx, estate, path, commitSHA)
			var invalid *catalogue.ValidationError
			if errors.As(err, &invalid) {
				return a.reportInvalid(path, invalid)
			}
			if err != nil {
				return err
			}
			return a.renderImport(res)
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&estate.Key, "estate-key", "", "key of the estate to import into, such as wildside (required)")
	flags.StringVar(&estate.Name, "estate-name", "",
		"display name of the estate (default: the key for a new estate, else unchanged)")
	flags.StringVar(&path, "catalogue-path", "", "catalogue YAML file to import (required)")
	flags.StringVar(&commitSHA, "commit-sha", "",
		"commit of the catalogue file, recorded so that importing it again is skipped;\n"+
			"an empty value imports and records nothing (required)")
	for _, name := range []string{"estate-key", "catalogue-path", "commit-sha"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (a *app) renderImport(res catalogue.ImportResult) error {
	for _, warning := range res.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", warning)
	}
	return a.render(res, importTable(res))
}

func importTable(res catalogue.ImportResult) table {
	commit := res.CommitSHA
	if commit == "" {
		commit = "-"
	}
	t := table{header: []string{"ESTATE", "COMMIT", "KIND", "CREATED", "UPDATED", "DELETED"}}
	if res.Skipped {
		t.header = []string{"ESTATE", "COMMIT", "RESULT"}
		t.rows = [][]string{{res.EstateKey, commit, "skipped: commit already imported"}}
		return t
	}

	for _, kind := range res.ByKind() {
		t.rows = append(t.rows, []string{res.EstateKey, commit, kind.Kind,
			strconv.Itoa(kind.Created), strconv.Itoa(kind.Updated), strconv.Itoa(kind.Deleted)})
	}
	return t
}

func (a *app) estateListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the estates in the database",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			estates, err := a.listEstates(ctx)
			if err != nil {
				return err
			}

			t := table{header: []string{"KEY", "NAME", "PROJECTS", "COMPONENTS", "REPOSITORIES",
				"LAST COMMIT", "IMPORTED AT"}}
			for _, e := range estates {
				imported := "-"
				if e.LastImportedAt != nil {
					imported = e.LastImportedAt.UTC().Format(time.RFC3339)
				}
				commit := e.LastCommitSHA
				if commit == "" {
					commit = "-"
				}
				t.rows = append(t.rows, []string{e.Key, e.Name, fmt.Sprint(e.Projects),
					fmt.Sprint(e.Components), fmt.Sprint(e.Repositories), commit, imported})
			}
			return a.render(estates, t)
		},
	}
}

// listEstates returns the estates from the API or the database.
func (a *app) listEstates(ctx context.Context) ([]catalogue.EstateSummary, error) {
	if a.remote() {
		var body struct {
			Estates []catalogue.EstateSummary `json:"estates"`
		}
		err := a.api.getJSON(ctx, "/estates", nil, &body)
		return body.Estates, err
	}

	db, err := a.openDB(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return catalogue.ListEstates(ctx, db)
}
