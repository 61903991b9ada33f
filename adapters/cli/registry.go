package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/registry"
)

func (a *app) estateSyncCommand() *cobra.Command {
	var estateKey string
	var wf waitFlags

	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Sync an estate's catalogue repositories into the ingestion registry",
		Long: "Create or update the Silver repository of every repository in the estate's\n" +
			"imported catalogue, and disable ingestion of repositories no catalogue lists\n" +
			"any more. An operator's enable or disable (estate repo set) is kept.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if err := checkEstateKey(estateKey); err != nil {
				return err
			}
			wait, err := wf.resolve(cmd)
			if err != nil {
				return err
			}
			if !wait {
				return usageError{errors.New("estate sync finishes before it returns, locally " +
					"and on the server, so there is no run to follow: drop --no-wait")}
			}
			res, err := a.syncEstate(ctx, estateKey)
			if err != nil {
				return err
			}
			return a.render(res, table{
				header: []string{"ESTATE", "CREATED", "UPDATED", "DISABLED"},
				rows: [][]string{{res.EstateKey, strconv.Itoa(res.Created), strconv.Itoa(res.Updated),
					strconv.Itoa(res.Disabled)}},
			})
		},
	}
	cmd.Flags().StringVar(&estateKey, "estate-key", "", "key of the estate to sync (required)")
	wf.addWaitOnly(cmd, "a sync always finishes before the command returns")
	_ = cmd.MarkFlagRequired("estate-key")
	return cmd
}

func (a *app) estateRepoCommand() *cobra.Command {
	return group("repo", "List repositories and switch their ingestion on or off",
		a.estateRepoListCommand(), a.estateRepoSetCommand())
}

func (a *app) estateRepoListCommand() *cobra.Command {
	var (
		opts             registry.ListOptions
		active, inactive bool
	)

	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the repositories in the ingestion registry",
		Long: "List repositories ordered by owner and name, optionally only those of one\n" +
			"estate and only those whose ingestion is enabled (--active) or disabled\n" +
			"(--inactive).",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if active && inactive {
				return usageError{fmt.Errorf("--active and --inactive exclude each other: give one or neither")}
			}
			if active || inactive {
				opts.Ingestion = &active
			}
			if opts.Limit < 0 || opts.Offset < 0 {
				return usageError{fmt.Errorf("invalid --limit %d or --offset %d: use 0 or more",
					opts.Limit, opts.Offset)}
			}
			if err := checkNames("", "", map[string]string{"estate-key": opts.EstateKey}); err != nil {
				return err
			}

			repos, err := a.listRepositories(ctx, opts)
			if err != nil {
				return err
			}

			t := table{header: []string{"REPOSITORY", "BRANCH", "INGESTION", "SET BY", "DOCUMENTATION PATHS"}}
			for _, r := range repos {
				t.rows = append(t.rows, []string{r.Slug(), r.DefaultBranch, onOff(r.IngestionEnabled),
					setBy(r), orDash(strings.Join(r.DocumentationPaths, ", "))})
			}
			return a.render(repos, t)
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&opts.EstateKey, "estate-key", "", "list only the repositories of this estate")
	flags.BoolVar(&active, "active", false, "list only repositories whose ingestion is enabled")
	flags.BoolVar(&inactive, "inactive", false, "list only repositories whose ingestion is disabled")
	flags.IntVar(&opts.Limit, "limit", 0, "return at most this many repositories (0 for all)")
	flags.IntVar(&opts.Offset, "offset", 0, "skip this many repositories first")
	return cmd
}

func (a *app) estateRepoSetCommand() *cobra.Command {
	var (
		owner, name       string
		enabled, disabled bool
	)

	cmd := &cobra.Command{
		Use:   "set",
		Short: "Enable or disable ingestion of one repository",
		Long: "Switch GitHub ingestion of a repository on or off. The choice is kept across\n" +
			"catalogue syncs until it is changed here, except that a repository removed from\n" +
			"every catalogue is disabled.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			if enabled == disabled {
				return usageError{fmt.Errorf("give exactly one of --ingestion-enabled and --ingestion-disabled")}
			}

			// Cobra checks that a required flag is given, not that its
			// value is non-empty.
			if owner == "" || name == "" {
				return usageError{errors.New("--owner and --name must not be empty: " +
					"give the repository, such as --owner leynos --name wildside")}
			}
			if err := checkNames(owner, name, nil); err != nil {
				return err
			}
			result, err := a.setIngestion(ctx, owner, name, enabled)
			if err != nil {
				return err
			}
			return a.render(result, table{
				header: []string{"REPOSITORY", "INGESTION", "CHANGED"},
				rows:   [][]string{{result.Repository, onOff(result.IngestionEnabled), yesNo(result.Changed)}},
			})
		},
	}

	flags := cmd.Flags()
	flags.StringVar(&owner, "owner", "", "repository owner (required)")
	flags.StringVar(&name, "name", "", "repository name (required)")
	flags.BoolVar(&enabled, "ingestion-enabled", false, "enable ingestion")
	flags.BoolVar(&disabled, "ingestion-disabled", false, "disable ingestion")
	_ = cmd.MarkFlagRequired("owner")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func setBy(r registry.Repository) string {
	if r.IngestionOverride != nil {
		return "operator"
	}
	if r.CatalogueRepositoryID == "" {
		return "ad hoc"
	}
	return "catalogue"
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
