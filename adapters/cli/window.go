package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/reporting"
	"github.com/ghillie/ghillie/store"
)

// defaultWindowDays is the window length of metrics and exports when
// neither --window-days nor an explicit window is given.
const defaultWindowDays = 7

// windowFlags select a window [start, end): explicitly, or the
// --window-days days before --as-of or now.
type windowFlags struct {
	start, end, asOf string
	days             int
}

func (f *windowFlags) add(cmd *cobra.Command) {
	flags := cmd.Flags()
	flags.StringVar(&f.start, "window-start", "", "start of an explicit window (RFC 3339)")
	flags.StringVar(&f.end, "window-end", "", "end of an explicit window, excluded (RFC 3339)")
	flags.StringVar(&f.asOf, "as-of", "", "end the window at this time (RFC 3339), instead of now")
	flags.IntVar(&f.days, "window-days", defaultWindowDays, "length of the window in days")
}

// window returns the window the flags select, with now as the default
// end.
func (f *windowFlags) window(cmd *cobra.Command, now time.Time) (start, end time.Time, err error) {
	if start, err = parseTime("--window-start", f.start); err != nil {
		return start, end, err
	}
	if end, err = parseTime("--window-end", f.end); err != nil {
		return start, end, err
	}
	asOf, err := parseTime("--as-of", f.asOf)
	if err != nil {
		return start, end, err
	}

	explicit := f.start != "" || f.end != ""
	switch {
	case (f.start == "") != (f.end == ""):
		return start, end, usageError{errors.New("--window-start and --window-end go together")}
	case explicit && f.asOf != "":
		return start, end, usageError{errors.New("--as-of and --window-start/--window-end " +
			"exclude each other")}
	case explicit && cmd.Flags().Changed("window-days"):
		return start, end, usageError{errors.New("--window-days and --window-start/--window-end " +
			"exclude each other")}
	case explicit && !end.After(start):
		return start, end, usageError{fmt.Errorf("--window-end %s must be after --window-start %s",
			f.end, f.start)}
	case explicit:
		return start.UTC(), end.UTC(), nil
	case f.days < 1 || f.days > reporting.MaxWindowDays:
		return start, end, usageError{fmt.Errorf("invalid --window-days %d: use 1 to %d", f.days,
			reporting.MaxWindowDays)}
	}

	end = now
	if f.asOf != "" {
		end = asOf
	}
	end = end.UTC()
	return end.AddDate(0, 0, -f.days), end, nil
}

// addRepositoryOrEstate adds the scope flags of a command whose subject
// is a repository or an estate, never a project. scopeUsage starts the
// help of --scope, such as "what to export".
func (f *scopeFlags) addRepositoryOrEstate(cmd *cobra.Command, scopeUsage string) {
	f.add(cmd)
	cmd.Flags().Lookup("scope").Usage = scopeUsage + ": repository or estate"
	cmd.Flags().Lookup("estate-key").Usage = "estate key (with --scope estate)"
	_ = cmd.Flags().MarkHidden("project-key")
}

// checkRepositoryOrEstate checks the flags that addRepositoryOrEstate adds.
func (f *scopeFlags) checkRepositoryOrEstate() error {
	switch f.scope {
	case "repository", "estate":
		return f.check()
	case "":
		return usageError{errors.New("--scope is required: repository or estate")}
	}
	return usageError{fmt.Errorf("invalid --scope %q: use repository or estate", f.scope)}
}

// subject is a repository or an estate that the scope flags name.
type subject struct {
	repository          registry.Repository
	estateID, estateKey string
}

// isEstate reports whether the subject is an estate.
func (s subject) isEstate() bool { return s.estateID != "" }

// resolveSubject looks up the repository or estate that the flags name,
// with an error naming it when it does not exist.
func (a *app) resolveSubject(ctx context.Context, db *store.DB, sf scopeFlags) (subject, error) {
	if sf.scope == "estate" {
		id, err := estateID(ctx, db, sf.estateKey)
		return subject{estateID: id, estateKey: sf.estateKey}, err
	}
	repo, err := registry.NewService(db, a.logger).Get(ctx, sf.owner, sf.name)
	return subject{repository: repo}, err
}
