// Package cli is the ghillie command line: cobra commands that parse
// flags and the environment, call the SDK packages and print results as
// tables, JSON or YAML. It holds no business logic of its own.
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
)

// DefaultDatabaseURL is the database used when neither --database-url nor
// GHILLIE_DATABASE_URL is set: a SQLite file in the working directory.
const DefaultDatabaseURL = "sqlite:ghillie.db"

// Env reads an environment variable; os.Getenv in the real command.
type Env func(key string) string

// app holds what every command shares: the global flags, the output
// streams and the logger built from --log-level.
type app struct {
	env    Env
	stdout io.Writer
	stderr io.Writer

	databaseURL string
	output      string
	logLevel    string

	logger *slog.Logger
}

// Run executes the ghillie command with args (without the program name)
// and returns the process exit code. Errors are printed to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	a := &app{env: env, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
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
		fmt.Fprintln(stderr, "Run 'ghillie --help' for usage.")
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

	defaultURL := a.env("GHILLIE_DATABASE_URL")
	if defaultURL == "" {
		defaultURL = DefaultDatabaseURL
	}
	defaultLevel := a.env("GHILLIE_LOG_LEVEL")
	if defaultLevel == "" {
		defaultLevel = "info"
	}

	flags := root.PersistentFlags()
	flags.StringVar(&a.databaseURL, "database-url", defaultURL,
		"database URL: sqlite:PATH, sqlite::memory: or postgres://USER@HOST/DB (env GHILLIE_DATABASE_URL)")
	flags.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	flags.StringVar(&a.logLevel, "log-level", defaultLevel,
		"log level: debug, info, warn or error (env GHILLIE_LOG_LEVEL)")

	root.AddCommand(a.catalogueCommand(), a.migrateCommand(), a.estateCommand())
	return root
}

func (a *app) setUp() error {
	switch a.output {
	case "table", "json", "yaml":
	default:
		return usageError{fmt.Errorf("invalid --output %q: use table, json or yaml", a.output)}
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError{fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", a.logLevel)}
	}
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return nil
}

// openDB opens the database and checks that its schema is current, so a
// command never writes to a database that lacks tables or columns.
func (a *app) openDB(ctx context.Context) (*store.DB, error) {
	db, err := store.Open(ctx, a.databaseURL)
	if err != nil {
		return nil, err
	}

	current, latest, err := store.SchemaVersion(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if current < latest {
		_ = db.Close()
		return nil, fmt.Errorf("database %s is at schema version %d but this ghillie needs %d: "+
			"run 'ghillie migrate --database-url %s' first", db, current, latest, db)
	}
	if current > latest {
		_ = db.Close()
		return nil, fmt.Errorf("database %s is at schema version %d, newer than this ghillie "+
			"knows (%d): upgrade ghillie", db, current, latest)
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
		if len(args) != len(names) {
			return usageError{fmt.Errorf("%s expects %d argument(s) (%s), got %d",
				cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))}
		}
		return nil
	}
}
