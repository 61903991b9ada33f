package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/silver"
	"github.com/ghillie/ghillie/store"
)

// maxTransformWorkers bounds --workers. Each worker uses a connection of
// its own, and PostgreSQL accepts 100 by default (max_connections).
const maxTransformWorkers = 32

// transformReport is the JSON and YAML form of a transform run.
type transformReport struct {
	Processed int `json:"processed" yaml:"processed"`
	Failed    int `json:"failed" yaml:"failed"`
	Skipped   int `json:"skipped" yaml:"skipped"`
}

func (a *app) transformCommand() *cobra.Command {
	var (
		limit     int
		batchSize int
		workers   int
		ids       []string
	)

	cmd := &cobra.Command{
		Use:   "transform",
		Short: "Refine pending Bronze events into the Silver tables",
		Long: "Process pending raw events in id order, in batches that each commit on their\n" +
			"own (on PostgreSQL, up to --workers batches at once), and print how many were\n" +
			"processed, failed or skipped. Skipped events have a type with no Silver entity;\n" +
			"they still become event facts. Failed events keep their reason and are not\n" +
			"retried by later runs: pass their ids with --ids to process them again. The\n" +
			"exit status is 1 when any event failed or an id in --ids names no raw event.",
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()

			eventIDs, err := parseIDs(ids)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("ids") && len(eventIDs) == 0 {
				return usageError{fmt.Errorf("--ids is empty: give raw event ids, or leave the flag out " +
					"to process pending events")}
			}
			if batchSize < 1 {
				return usageError{fmt.Errorf("invalid --batch-size %d: use a positive number", batchSize)}
			}
			if workers < 1 || workers > maxTransformWorkers {
				return usageError{fmt.Errorf("invalid --workers %d: use 1 to %d, because each worker uses "+
					"its own database connection", workers, maxTransformWorkers)}
			}
			if limit < 0 {
				return usageError{fmt.Errorf("invalid --limit %d: use a positive number, or 0 for all", limit)}
			}
			if len(eventIDs) > 0 && limit > 0 {
				return usageError{fmt.Errorf("--ids and --limit exclude each other: give one")}
			}

			db, err := a.openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()

			transformer := silver.NewTransformer(db, a.logger)
			transformer.BatchSize = batchSize
			transformer.Workers = workers

			var (
				res     silver.Result
				missing []int64
			)
			if len(eventIDs) > 0 {
				missing, err = missingRawEvents(ctx, db, eventIDs)
				if err != nil {
					return err
				}
				if len(missing) == len(slices.Compact(slices.Sorted(slices.Values(eventIDs)))) {
					return missingIDsError(missing) // nothing to transform, so no table
				}
				res, err = transformer.ProcessIDs(ctx, eventIDs)
			} else {
				res, err = transformer.ProcessPending(ctx, limit)
			}
			if err != nil {
				// Batches that committed before the failure stay committed.
				if done := res.Processed + res.Failed + res.Skipped; done > 0 {
					fmt.Fprintf(a.stderr, "%d events were transformed before the failure (%d processed, "+
						"%d failed, %d skipped); they stay committed, and a new run goes on with the rest\n",
						done, res.Processed, res.Failed, res.Skipped)
				}
				return err
			}

			report := transformReport{Processed: res.Processed, Failed: res.Failed, Skipped: res.Skipped}
			renderErr := a.render(report, table{
				header: []string{"PROCESSED", "FAILED", "SKIPPED"},
				rows: [][]string{{strconv.Itoa(report.Processed), strconv.Itoa(report.Failed),
					strconv.Itoa(report.Skipped)}},
			})
			if renderErr != nil {
				return renderErr
			}
			if len(missing) > 0 {
				return missingIDsError(missing)
			}
			if report.Failed > 0 {
				return &exitError{code: ExitFailure}
			}
			return nil
		},
	}

	flags := cmd.Flags()
	flags.IntVar(&limit, "limit", 0, "process at most this many pending events (0 for all)")
	flags.IntVar(&batchSize, "batch-size", silver.DefaultBatchSize, "events per transaction")
	flags.IntVar(&workers, "workers", silver.DefaultWorkers,
		"batches of pending events transformed at once on PostgreSQL, each on its own connection;\n"+
			"above 1, some ties and clashing rows resolve in commit order, not id order")
	flags.StringSliceVar(&ids, "ids", nil,
		"process these raw event ids, whatever their state, instead of the pending ones")
	return cmd
}

// missingRawEvents returns the ids that name no raw event.
func missingRawEvents(ctx context.Context, db *store.DB, ids []int64) ([]int64, error) {
	query, args, err := sqlx.In("SELECT id FROM raw_events WHERE id IN (?)", ids)
	if err != nil {
		return nil, err
	}
	var found []int64
	if err := db.SelectContext(ctx, &found, db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("look up raw events: %w", store.Classify(err))
	}

	exists := make(map[int64]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}
	var missing []int64
	for _, id := range ids {
		if !exists[id] {
			missing = append(missing, id)
			exists[id] = true // report each id once
		}
	}
	return missing, nil
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}

func parseIDs(values []string) ([]int64, error) {
	ids := make([]int64, 0, len(values))
	for _, v := range values {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || id <= 0 {
			return nil, usageError{fmt.Errorf("invalid raw event id %q in --ids: use positive integers "+
				"separated by commas", v)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func missingIDsError(missing []int64) error {
	noun := "the id"
	if len(missing) > 1 {
		noun = "any of the ids"
	}
	return fmt.Errorf("no raw event has %s %s: --ids takes ids of raw_events, "+
		"such as those of failed events (transform_state 2)", noun, joinIDs(missing))
}
