package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/adapters/httpapi"
	"github.com/ghillie/ghillie/runs"
)

// Defaults of --wait-timeout and --poll-interval.
const (
	defaultWaitTimeout  = 30 * time.Minute
	defaultPollInterval = 2 * time.Second
)

// waitFlags are --wait, --no-wait, --wait-timeout and --poll-interval of
// a command that starts a run.
type waitFlags struct {
	wait, noWait bool
	timeout      time.Duration
	poll         time.Duration
}

// add adds every wait flag.
func (f *waitFlags) add(cmd *cobra.Command) {
	flags := cmd.Flags()
	flags.BoolVar(&f.wait, "wait", true, "wait until the run finishes (the default)")
	flags.BoolVar(&f.noWait, "no-wait", false,
		"print the queued run and its status command, and return at once (remote mode)")
	flags.DurationVar(&f.timeout, "wait-timeout", defaultWaitTimeout,
		"with --wait, give up waiting after this long and exit with status 5; the run goes on")
	flags.DurationVar(&f.poll, "poll-interval", defaultPollInterval,
		"with --wait, how often to read the run's state")
}

// addWaitOnly adds --wait and --no-wait to a command that always
// finishes before it returns, for scripts that pass them. The command
// rejects --no-wait itself, and the help gives reason as the cause.
func (f *waitFlags) addWaitOnly(cmd *cobra.Command, reason string) {
	flags := cmd.Flags()
	flags.BoolVar(&f.wait, "wait", true, "accepted and ignored: "+reason)
	flags.BoolVar(&f.noWait, "no-wait", false, "rejected: "+reason)
}

// resolve returns whether to wait, and checks the flags.
func (f *waitFlags) resolve(cmd *cobra.Command) (bool, error) {
	flags := cmd.Flags()
	if flags.Changed("wait") && flags.Changed("no-wait") && f.wait == f.noWait {
		return false, usageError{errors.New("--wait and --no-wait contradict each other: give one")}
	}
	if flags.Lookup("wait-timeout") != nil {
		if f.timeout <= 0 {
			return false, usageError{fmt.Errorf("invalid --wait-timeout %s: use a positive "+
				"duration such as 30m", f.timeout)}
		}
		if f.poll < 100*time.Millisecond || f.poll > time.Hour {
			return false, usageError{fmt.Errorf("invalid --poll-interval %s: use 100ms to 1h",
				f.poll)}
		}
	}
	return f.wait && !f.noWait, nil
}

// checkLocal rejects --no-wait in local mode, where a run finishes
// before the command returns.
func (f *waitFlags) checkLocal(cmd *cobra.Command) error {
	wait, err := f.resolve(cmd)
	if err != nil {
		return err
	}
	if !wait {
		return usageError{fmt.Errorf("%s --no-wait needs remote mode: a local run finishes "+
			"before the command returns; set --api-base-url to queue the run on a server",
			cmd.CommandPath())}
	}
	return nil
}

// runsPath returns the API path of the runs of the kind.
func runsPath(kind runs.Kind) string {
	if kind == runs.KindIngestion {
		return "/ingestion/runs"
	}
	return "/reports/runs"
}

// getRemoteRun reads a run from the API.
func (a *app) getRemoteRun(ctx context.Context, kind runs.Kind, id string) (runs.Run, error) {
	var body httpapi.RunBody
	path := runsPath(kind) + "/" + url.PathEscape(id)
	if err := a.api.getJSON(ctx, path, nil, &body); err != nil {
		return runs.Run{}, err
	}
	return a.checkRun(http.MethodGet, path, kind, body.Run())
}

// checkRun rejects a response that is JSON but not a run of the kind,
// which a server other than ghillie may send, so that the command never
// polls a run without an id.
func (a *app) checkRun(method, path string, kind runs.Kind, run runs.Run) (runs.Run, error) {
	if run.ID != "" && run.Kind == kind && run.State != "" {
		return run, nil
	}
	return runs.Run{}, &remoteError{msg: fmt.Sprintf("%s %s returned no %s run: check that the "+
		"API base URL %s (from %s) is the root of a ghillie server", method,
		a.api.endpoint(path, nil), kind, a.api.base, a.api.source)}
}

// startRemoteRun queues a run on the server and, unless --no-wait is
// set, polls it until it ends.
func (a *app) startRemoteRun(cmd *cobra.Command, kind runs.Kind, query url.Values,
	wf *waitFlags) error {
	ctx := cmd.Context()

	wait, err := wf.resolve(cmd)
	if err != nil {
		return err
	}
	var body httpapi.RunBody
	if err := a.api.sendJSON(ctx, http.MethodPost, runsPath(kind), query, nil, &body); err != nil {
		return err
	}
	run, err := a.checkRun(http.MethodPost, runsPath(kind), kind, body.Run())
	if err != nil {
		return err
	}
	follow := fmt.Sprintf("ghillie %s status --run-id %s", commandOf(kind), run.ID)

	if !wait {
		if err := a.renderRun(run); err != nil {
			return err
		}
		a.note("follow the run with: " + follow)
		return nil
	}
	return a.waitForRun(ctx, run, wf, follow)
}

// waitForRun polls the run until it ends or the wait timeout passes, then
// prints it. It exits with ExitRunFailed for a partial or failed run and
// ExitWaitTimeout when the run had not ended in time.
func (a *app) waitForRun(ctx context.Context, run runs.Run, wf *waitFlags, follow string) error {
	deadline := time.Now().Add(wf.timeout)
	for !run.State.Terminal() {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			if err := a.renderRun(run); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "ghillie: gave up waiting after %s with the run %s; it goes on: "+
				"follow it with '%s'\n", wf.timeout, run.State, follow)
			return &exitError{code: ExitWaitTimeout}
		}

		// The last poll comes at the deadline, not a poll interval after
		// it, so that the state printed on giving up is current.
		timer := time.NewTimer(min(wf.poll, remaining))
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("stopped waiting for run %s, which goes on: follow it with '%s': %w",
				run.ID, follow, ctx.Err())
		case <-timer.C:
		}
		next, err := a.getRemoteRun(ctx, run.Kind, run.ID)
		if err != nil {
			return err
		}
		run = next
	}

	err := a.finishRun(run)
	if run.Kind == runs.KindIngestion && run.Failed > 0 && run.Total != nil {
		// A local ingestion prints the same line after its table.
		fmt.Fprintf(a.stderr, "%d of %d repositories failed\n", run.Failed, *run.Total)
	}
	return err
}

// finishRun prints a finished run and returns its exit status.
func (a *app) finishRun(run runs.Run) error {
	if err := a.renderRun(run); err != nil {
		return err
	}
	if run.State == runs.StatePartial || run.State == runs.StateFailed {
		return &exitError{code: ExitRunFailed}
	}
	return nil
}

// note prints a hint for people: on standard output in table format, and
// on standard error otherwise, so that JSON and YAML stay parseable.
func (a *app) note(text string) {
	if a.output == "table" {
		fmt.Fprintln(a.stdout, text)
		return
	}
	fmt.Fprintln(a.stderr, text)
}
