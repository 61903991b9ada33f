// Package cli is the ghillie command line: cobra commands that parse
// flags and the environment, call the SDK packages and print results as
// tables, JSON or YAML. It contains no business logic of its own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ghillie/ghillie/store"
)

// Exit codes of the ghillie command.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed, or found problems
	ExitUsage   = 2 // wrong flags or arguments

	// ExitRunFailed ends a run that went through but failed or ended
	// partial: some repositories or reports failed while others
	// succeeded or were not run. In remote mode, a request to the HTTP
	// API that fails exits with it too, unless the server returned that
	// the subject does not exist or that its state rejects the request,
	// which exit with ExitFailure as locally.
	ExitRunFailed = 3

	// ExitBackend ends a command whose external tool failed or is
	// missing: docker, k3d, kubectl or helm in the stack commands.
	ExitBackend = 4

	// ExitWaitTimeout ends a --wait whose --wait-timeout passed before
	// the run finished; the run goes on.
	ExitWaitTimeout = 5
)

// DefaultDatabaseURL is the database used when neither --database-url nor
// GHILLIE_DATABASE_URL is set: a SQLite file in the working directory.
const DefaultDatabaseURL = "sqlite:ghillie.db"

// Env reads an environment variable; os.Getenv in the real command.
type Env func(key string) string

// app is the state every command shares: the global flags, the output
// streams and the logger built from --log-level.
type app struct {
	env    Env
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	databaseURL string
	output      string
	logLevel    string

	// databaseURLSource names where databaseURL came from, for errors.
	databaseURLSource string

	// catalogueURL is the separate catalogue database, empty when the
	// catalogue tables share the main database.
	catalogueURL       string
	catalogueURLSource string

	// The remote mode flags. api is nil in local mode.
	apiBaseURL         string
	authToken          string
	requestTimeoutText string
	api                *apiClient

	logger *slog.Logger
	level  slog.Level
}

// Run executes the ghillie command with args (without the program name)
// and returns the process exit code. Errors are printed to stderr.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env Env) int {
	a := &app{env: env, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}

	var exit *exitError
	if errors.As(err, &exit) {
		// The command has already reported the details.
		return exit.code
	}
	var remote *remoteError
	if errors.As(err, &remote) {
		fmt.Fprintf(stderr, "ghillie: %v\n", err)

		// A subject the server does not know, or whose state rejects the
		// request, fails as it does locally.
		if remote.notFound || remote.conflict {
			return ExitFailure
		}
		return ExitRunFailed
	}

	fmt.Fprintf(stderr, "ghillie: %v\n", err)
	if isUsageError(err) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return ExitFailure
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ghillie",
		Short: "Weekly, evidence-backed status reports for an estate of GitHub repositories",
		Long: "Ghillie reads an estate catalogue, ingests GitHub activity for its repositories\n" +
			"and writes status reports for repositories, projects and the whole estate.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setUp(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err}
	})

	// The environment is read in setUp, not used as the flags' defaults,
	// because help text prints defaults and a URL may hold a password.
	flags := root.PersistentFlags()
	flags.StringVar(&a.databaseURL, "database-url", "",
		"database URL: sqlite:PATH, sqlite::memory: or postgres://USER@HOST/DB\n"+
			"(env GHILLIE_DATABASE_URL, default "+DefaultDatabaseURL+")")
	flags.StringVar(&a.catalogueURL, "catalogue-database-url", "",
		"database URL of the catalogue tables, when they live apart from --database-url\n"+
			"(env GHILLIE_CATALOGUE_DATABASE_URL, default: the --database-url database)")
	flags.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	flags.StringVar(&a.logLevel, "log-level", "",
		"log level: trace, debug, info, warn, error or critical\n"+
			"(env GHILLIE_LOG_LEVEL, default info)")
	flags.StringVar(&a.apiBaseURL, "api-base-url", "",
		"call the HTTP API at this http(s) URL instead of opening a database\n"+
			"(env GHILLIE_API_BASE_URL, else api_base_url of ~/.config/ghillie/state.json\n"+
			"unless a database URL or catalogue database URL is set)")
	flags.StringVar(&a.authToken, "auth-token", "",
		"bearer token of the HTTP API (env GHILLIE_AUTH_TOKEN); needed by the commands that\n"+
			"change something on a server with GHILLIE_API_TOKEN: estate import, sync and\n"+
			"repo set, ingest run, report run, report reviews resolve and every export")
	flags.StringVar(&a.requestTimeoutText, "request-timeout", "",
		"time each HTTP API request may take, such as 30s or 12.5 seconds\n"+
			"(env GHILLIE_REQUEST_TIMEOUT_S in seconds, default 30s)")

	for _, cmd := range []*cobra.Command{a.estateCommand(), a.ingestCommand(), a.reportCommand(),
		a.metricsCommand(), a.exportCommand()} {
		root.AddCommand(setMode(cmd, "either"))
	}
	for _, cmd := range []*cobra.Command{a.migrateCommand(), a.eventsCommand(), a.transformCommand(),
		a.runCommand(), a.serveCommand(), a.workerCommand(), a.jobsCommand()} {
		root.AddCommand(setMode(cmd, "database"))
	}
	root.AddCommand(a.catalogueCommand(), a.stackCommand())
	return root
}

func (a *app) setUp(cmd *cobra.Command) error {
	switch a.output {
	case "table", "json", "yaml":
	default:
		return usageError{fmt.Errorf("invalid --output %q: use table, json or yaml", a.output)}
	}

	databaseURLSet := a.databaseURL != "" || a.env("GHILLIE_DATABASE_URL") != "" ||
		a.catalogueURL != "" || a.env("GHILLIE_CATALOGUE_DATABASE_URL") != ""
	a.databaseURL, a.databaseURLSource = a.setting(a.databaseURL, "--database-url",
		"GHILLIE_DATABASE_URL", DefaultDatabaseURL)
	a.catalogueURL, a.catalogueURLSource = a.setting(a.catalogueURL, "--catalogue-database-url",
		"GHILLIE_CATALOGUE_DATABASE_URL", "")

	levelText, levelSource := a.setting(a.logLevel, "--log-level", "GHILLIE_LOG_LEVEL", "info")
	level, err := parseLevel(levelText)
	if err != nil {
		return usageError{fmt.Errorf("invalid %s %q: use trace, debug, info, warn, error or critical",
			levelSource, levelText)}
	}
	a.level = level
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return a.resolveMode(cmd, databaseURLSet)
}

// parseLevel reads a log level in any case, with the names the Python
// Ghillie accepted: TRACE is debug, WARNING warn, and CRITICAL error,
// since slog has no finer or coarser levels.
func parseLevel(text string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(text)) {
	case "TRACE":
		return slog.LevelDebug, nil
	case "WARNING":
		return slog.LevelWarn, nil
	case "CRITICAL":
		return slog.LevelError, nil
	}
	var level slog.Level
	err := level.UnmarshalText([]byte(strings.TrimSpace(text)))
	return level, err
}

// setting returns the flag's value when given, else the environment
// variable's, else the default, with the name of its source.
func (a *app) setting(flagValue, flag, envVar, fallback string) (value, source string) {
	if flagValue != "" {
		return flagValue, flag
	}
	if v := a.env(envVar); v != "" {
		return v, envVar
	}
	return fallback, "default " + flag
}

// openDB opens an existing database and checks that its schema is
// current, so a command never creates a database by mistake or writes to
// one that lacks tables or columns. An in-memory database starts empty in
// every process, so it is migrated instead. A separate catalogue database
// is opened and checked the same way.
func (a *app) openDB(ctx context.Context) (*store.DB, error) {
	if a.remote() {
		// Every remote-capable command checks a.remote() before opening
		// the database, so only a missed check reaches this error.
		return nil, fmt.Errorf("this command cannot call the API at %s: run it with "+
			"--database-url where the database is", a.api.base)
	}
	return a.openDatabases(ctx, a.openChecked)
}

// usageError marks wrong flags or arguments, which exit with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError ends a command with a code after it has printed its own
// report, as lint does for an invalid catalogue.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// isUsageError reports whether err is about the command line rather than
// the work. Cobra returns plain errors for several usage mistakes, so
// their messages are matched too.
func isUsageError(err error) bool {
	var usage usageError
	if errors.As(err, &usage) {
		return true
	}
	msg := err.Error()
	for _, prefix := range []string{
		"unknown command", "unknown flag", "unknown shorthand flag", "required flag",
		"flag needs an argument", "invalid argument", "accepts ", "requires at least",
	} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// exactArgs is cobra.ExactArgs with a usage error and the argument names.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == len(names):
			return nil
		case len(names) == 0:
			return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
		}
		return usageError{fmt.Errorf("%s expects %s (%s), got %d",
			cmd.CommandPath(), plural(len(names), "argument"), strings.Join(names, " "), len(args))}
	}
}

// group returns a command that only contains subcommands. Cobra prints help
// and succeeds for an unknown subcommand of such a command, so it is
// reported as a usage error here.
func group(use, short string, subcommands ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
			}
			return cmd.Help()
		},
	}

	// Flags of the intended subcommand must not hide a mistyped name.
	cmd.FParseErrWhitelist.UnknownFlags = true
	cmd.AddCommand(subcommands...)
	return cmd
}
