// Package cli is the ghillie command line: cobra commands that parse
// flags and the environment, call the SDK packages and print results as
// tables, JSON or YAML. It contains no business logic of its own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// succeeded or were not run.
	ExitRunFailed = 3

	// ExitBackend ends a command whose external tool failed or is
	// missing: docker, k3d, kubectl or helm in the stack commands.
	ExitBackend = 4
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
			return a.setUp()
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
	flags.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	flags.StringVar(&a.logLevel, "log-level", "",
		"log level: trace, debug, info, warn, error or critical\n"+
			"(env GHILLIE_LOG_LEVEL, default info)")

	root.AddCommand(a.catalogueCommand(), a.migrateCommand(), a.estateCommand(), a.eventsCommand(),
		a.transformCommand(), a.ingestCommand(), a.reportCommand(), a.metricsCommand(), a.runCommand())
	root.AddCommand(a.serveCommand(), a.workerCommand(), a.jobsCommand(), a.exportCommand(),
		a.stackCommand())
	return root
}

func (a *app) setUp() error {
	switch a.output {
	case "table", "json", "yaml":
	default:
		return usageError{fmt.Errorf("invalid --output %q: use table, json or yaml", a.output)}
	}

	a.databaseURL, a.databaseURLSource = a.setting(a.databaseURL, "--database-url",
		"GHILLIE_DATABASE_URL", DefaultDatabaseURL)

	levelText, levelSource := a.setting(a.logLevel, "--log-level", "GHILLIE_LOG_LEVEL", "info")
	level, err := parseLevel(levelText)
	if err != nil {
		return usageError{fmt.Errorf("invalid %s %q: use trace, debug, info, warn, error or critical",
			levelSource, levelText)}
	}
	a.level = level
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return nil
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
// every process, so it is migrated instead.
func (a *app) openDB(ctx context.Context) (*store.DB, error) {
	target, err := store.ParseURL(a.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.databaseURLSource, err)
	}

	db, err := store.OpenExisting(ctx, a.databaseURL)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: create it with 'ghillie migrate' and the same database URL", err)
	}
	if err != nil {
		return nil, err
	}

	if target.Dialect == store.SQLite && target.Path == ":memory:" {
		if err := store.Migrate(ctx, db, store.MigrationOptions{Logger: a.logger}); err != nil {
			_ = db.Close()
			return nil, err
		}
		return db, nil
	}

	current, latest, err := store.SchemaVersion(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if current < latest {
		_ = db.Close()
		return nil, fmt.Errorf("database %s is at schema version %d but this ghillie needs %d: "+
			"run 'ghillie migrate' with the same database URL first", db, current, latest)
	}
	if current > latest {
		_ = db.Close()
		return nil, fmt.Errorf("database %s is at schema version %d, newer than this ghillie "+
			"supports (%d): upgrade ghillie", db, current, latest)
	}
	return db, nil
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
