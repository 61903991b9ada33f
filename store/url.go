package store

import (
	"fmt"
	"net/url"
	"strings"
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
	u, err := url.Parse("postgres:" + rest)
	if err != nil {
		return Target{}, fmt.Errorf("database URL %q is not a valid URL: %w", Redact(raw), redactErr(err, raw))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return Target{}, fmt.Errorf("database URL %q has no host: write postgres://USER@HOST:PORT/DB", Redact(raw))
	}

	// asyncpg spells TLS as ssl=...; libpq and pgx call it sslmode.
	q := u.Query()
	if ssl := q.Get("ssl"); ssl != "" {
		q.Del("ssl")
		if q.Get("sslmode") == "" {
			q.Set("sslmode", asyncpgSSLMode(ssl))
		}
		u.RawQuery = q.Encode()
	}

	return Target{Dialect: Postgres, DSN: u.String()}, nil
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

// Redact returns the URL with any password replaced by "xxxxx", so it can
// appear in errors and logs. Strings that do not parse as URLs are returned
// with everything between "://" and "@" hidden.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		return raw
	}
	if err == nil {
		return raw
	}

	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://xxxxx@" + rest[at+1:]
	}
	return raw
}

// redactErr drops the parser's error text when it would repeat a URL that
// contains a password.
func redactErr(err error, raw string) error {
	if Redact(raw) == raw {
		return err
	}
	return fmt.Errorf("malformed URL")
}
