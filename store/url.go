package store

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Dialect names the SQL dialect of an open database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Target is a parsed database URL: the dialect and the data source name
// that its driver accepts.
type Target struct {
	Dialect Dialect

	// Path is the SQLite database file, or ":memory:". It is empty for
	// PostgreSQL.
	Path string

	// DSN is the PostgreSQL connection URL. It is empty for SQLite.
	DSN string
}

// memoryPath is SQLite's name for a private in-memory database.
const memoryPath = ":memory:"

// ParseURL translates a database URL into a Target. It accepts:
//
//   - sqlite:PATH and sqlite::memory:
//   - sqlite:///relative/path, sqlite:////absolute/path and the same with a
//     driver suffix, such as sqlite+aiosqlite:///ghillie.db, as SQLAlchemy
//     writes them
//   - postgres:// and postgresql:// URLs, also with a driver suffix such as
//     postgresql+asyncpg://, which SQLAlchemy deployments use
//
// Errors show the URL with its password redacted.
func ParseURL(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, fmt.Errorf("database URL is empty: %s", acceptedForms)
	}

	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Target{}, fmt.Errorf("database URL %q has no scheme: %s", Redact(raw), acceptedForms)
	}

	// SQLAlchemy names the driver after a plus sign; the Go drivers are fixed.
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "sqlite", "sqlite3":
		return parseSQLite(raw, rest)
	case "postgres", "postgresql":
		return parsePostgres(raw, rest)
	}

	return Target{}, fmt.Errorf("database URL %q has unsupported scheme %q: %s",
		Redact(raw), scheme, acceptedForms)
}

const acceptedForms = "use sqlite:PATH, sqlite::memory: or postgres://USER@HOST/DB"

func parseSQLite(raw, rest string) (Target, error) {
	path := rest
	if strings.HasPrefix(rest, "//") {
		// SQLAlchemy form: sqlite:///relative or sqlite:////absolute. The
		// authority part must be empty because SQLite has no host.
		after := rest[2:]
		if after == "" {
			return Target{Dialect: SQLite, Path: memoryPath}, nil
		}
		if !strings.HasPrefix(after, "/") {
			return Target{}, fmt.Errorf("database URL %q names a host, which SQLite cannot use: "+
				"write sqlite:///relative.db or sqlite:////absolute.db", Redact(raw))
		}
		path = after[1:]
	}

	// Query parameters of SQLAlchemy URLs (for example ?mode=ro) have no
	// meaning here, and silently dropping them could hide a mistake.
	if strings.Contains(path, "?") {
		return Target{}, fmt.Errorf("database URL %q has query parameters, which are not supported "+
			"for SQLite: remove everything from '?'", raw)
	}

	if strings.HasPrefix(path, "file:") {
		return Target{}, fmt.Errorf("database URL %q names a SQLite URI filename, which is not "+
			"supported: write sqlite:%s", raw, strings.TrimPrefix(path, "file:"))
	}
	if path == "" {
		return Target{}, fmt.Errorf("database URL %q has no file path: write sqlite:PATH, or sqlite::memory: for a "+
			"database in memory", raw)
	}
	if path == memoryPath {
		return Target{Dialect: SQLite, Path: memoryPath}, nil
	}
	return Target{Dialect: SQLite, Path: path}, nil
}

func parsePostgres(raw, rest string) (Target, error) {
	// A password with an unescaped "/", "?" or "#" moves the "@" out of
	// the authority, and the URL would then name the wrong host.
	authority := strings.TrimPrefix(rest, "//")
	if end := strings.IndexAny(authority, "/?#"); end >= 0 && strings.Contains(authority[end:], "@") {
		return Target{}, fmt.Errorf("database URL %s has an \"@\" after the host: percent-encode "+
			"\"/\", \"?\", \"#\" and \"@\" in the user name and password (for example %%2F for \"/\")",
			Redact(raw))
	}

	u, err := url.Parse("postgres:" + rest)
	if err != nil {
		return Target{}, fmt.Errorf("database URL %s is not a valid URL: %w", Redact(raw), redactErr(err, raw))
	}
	if u.Fragment != "" || strings.Contains(rest, "#") {
		return Target{}, fmt.Errorf("database URL %s contains \"#\": percent-encode it as %%23", Redact(raw))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return Target{}, fmt.Errorf("database URL %s has no host: write postgres://USER@HOST:PORT/DB", Redact(raw))
	}

	q := u.Query()
	if err := translateAsyncpgParams(q); err != nil {
		return Target{}, fmt.Errorf("database URL %s: %w", Redact(raw), err)
	}

	// Without a timeout, a server that accepts the connection and never
	// responds blocks every command forever.
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", fmt.Sprint(int(DefaultConnectTimeout.Seconds())))
	}
	u.RawQuery = q.Encode()

	// pgx checks the port and the parameters only when it connects, and
	// its message shows the URL with the connect_timeout added above.
	if _, err := pgconn.ParseConfig(u.String()); err != nil {
		reason := err.Error()
		if _, after, ok := strings.Cut(reason, "`: "); ok {
			reason = after
		}
		return Target{}, fmt.Errorf("database URL %s is invalid: %s", Redact(raw), reason)
	}
	return Target{Dialect: Postgres, DSN: u.String()}, nil
}

// DefaultConnectTimeout bounds how long connecting to PostgreSQL may take
// when the URL sets no connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// asyncpgOnlyParams are query parameters that asyncpg understands and
// PostgreSQL does not. pgx would send them to the server as settings,
// which the server rejects, so they are dropped.
var asyncpgOnlyParams = []string{
	"prepared_statement_cache_size", "statement_cache_size",
	"max_cached_statement_lifetime", "max_cacheable_statement_size", "command_timeout",
}

// translateAsyncpgParams rewrites the query parameters of an asyncpg URL
// into the ones pgx understands.
func translateAsyncpgParams(q url.Values) error {
	for _, name := range asyncpgOnlyParams {
		q.Del(name)
	}

	// asyncpg spells TLS as ssl=...; libpq and pgx call it sslmode.
	ssl := q.Get("ssl")
	if ssl == "" {
		return nil
	}
	q.Del("ssl")

	mode := asyncpgSSLMode(ssl)
	if current := q.Get("sslmode"); current != "" && current != mode {
		return fmt.Errorf("ssl=%s and sslmode=%s disagree: keep only sslmode", ssl, current)
	}
	q.Set("sslmode", mode)
	return nil
}

// asyncpgSSLMode maps asyncpg's ssl values onto libpq sslmode values.
func asyncpgSSLMode(v string) string {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return "require"
	case "false", "0", "no":
		return "disable"
	}
	return v
}

// secretParam matches password settings in a URL query or a key=value
// connection string, which pgx accepts besides the user-info password.
var secretParam = regexp.MustCompile(`(?i)\b((?:ssl)?password)=([^&\s]*)`)

// Redact returns a database URL with its passwords replaced by "xxxxx",
// so that it can appear in errors and logs. It works on the text, without
// parsing it as a URL, so malformed URLs are redacted too: the user-info
// password is everything between the first ":" after "://" and the last
// "@", and password= and sslpassword= values in the query are hidden.
func Redact(raw string) string {
	redacted := secretParam.ReplaceAllString(raw, "${1}=xxxxx")

	scheme, rest, ok := strings.Cut(redacted, "://")
	if !ok {
		return redacted
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return redacted
	}
	user, password, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword || password == "" {
		return redacted
	}
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
}

// redactErr drops the parser's error text when it would repeat a URL that
// contains a password.
func redactErr(err error, raw string) error {
	if Redact(raw) == raw {
		return err
	}
	return errors.New("malformed URL")
}
