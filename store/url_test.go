package store_test

import (
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want store.Target
	}{
		{"sqlite path", "sqlite:ghillie.db", store.Target{Dialect: store.SQLite, Path: "ghillie.db"}},
		{"sqlite absolute", "sqlite:/var/lib/g.db", store.Target{Dialect: store.SQLite, Path: "/var/lib/g.db"}},
		{"sqlite memory", "sqlite::memory:", store.Target{Dialect: store.SQLite, Path: ":memory:"}},
		{"sqlalchemy relative", "sqlite+aiosqlite:///ghillie.db",
			store.Target{Dialect: store.SQLite, Path: "ghillie.db"}},
		{"sqlalchemy absolute", "sqlite+aiosqlite:////data/ghillie.db",
			store.Target{Dialect: store.SQLite, Path: "/data/ghillie.db"}},
		{"sqlalchemy memory", "sqlite+aiosqlite:///:memory:",
			store.Target{Dialect: store.SQLite, Path: ":memory:"}},
		{"sqlalchemy bare", "sqlite://", store.Target{Dialect: store.SQLite, Path: ":memory:"}},
		{"postgres", "postgres://u@db:5432/ghillie",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db:5432/ghillie?connect_timeout=10"}},
		{"postgresql", "postgresql://u:pw@db/ghillie",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u:pw@db/ghillie?connect_timeout=10"}},
		{"asyncpg", "postgresql+asyncpg://u:pw@db/ghillie",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u:pw@db/ghillie?connect_timeout=10"}},
		{"asyncpg ssl", "postgresql+asyncpg://u@db/g?ssl=true",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db/g?connect_timeout=10&sslmode=require"}},
		{"asyncpg only params", "postgresql+asyncpg://u@db/g?prepared_statement_cache_size=0&ssl=false",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db/g?connect_timeout=10&sslmode=disable"}},
		{"own timeout", "postgres://u@db/g?connect_timeout=3",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db/g?connect_timeout=3"}},
		{"socket host", "postgres:///ghillie?host=/run/postgresql",
			store.Target{Dialect: store.Postgres,
				DSN: "postgres:///ghillie?connect_timeout=10&host=%2Frun%2Fpostgresql"}},
		{"surrounding space", "  sqlite:x.db ", store.Target{Dialect: store.SQLite, Path: "x.db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got, err := store.ParseURL(tt.url)
			is.NoErr(err)
			is.Equal(got, tt.want)
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"empty", "", "database URL is empty"},
		{"no scheme", "ghillie.db", `database URL "ghillie.db" has no scheme`},
		{"mysql", "mysql://u@h/db", `unsupported scheme "mysql"`},
		{"sqlite host", "sqlite://host/x.db", "names a host"},
		{"sqlite no path", "sqlite:", "has no file path"},
		{"sqlite query", "sqlite:x.db?mode=ro", "query parameters"},
		{"sqlite uri", "sqlite:file:x.db", "write sqlite:x.db"},
		{"postgres no host", "postgres:///db", "has no host"},
		{"password hidden", "mysql://u:secret@h/db", "u:xxxxx@h"},
		{"slash in password", "postgres://u:1234/secret@127.0.0.1/db", `percent-encode`},
		{"hash in password", "postgres://u:2024#secret@127.0.0.1/db", `percent-encode`},
		{"fragment", "postgres://u@127.0.0.1/db#x", `percent-encode it as %23`},
		{"ssl disagrees", "postgresql+asyncpg://u@h/db?ssl=true&sslmode=disable", "disagree"},
		{"keyword form", "host=127.0.0.1 password=secret", "has no scheme"},
		{"port out of range", "postgres://u:secret@127.0.0.1:99999/db",
			"database URL postgres://u:xxxxx@127.0.0.1:99999/db is invalid: invalid port"},
		{"bad sslmode", "postgres://u:secret@127.0.0.1/db?sslmode=bogus", "sslmode is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := store.ParseURL(tt.url)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))            // error names the problem
			is.True(!strings.Contains(err.Error(), "secret"))          // password never shown
			is.True(!strings.Contains(err.Error(), "connect_timeout")) // nor settings added to it
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"postgres://u:secret@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"sqlite:ghillie.db", "sqlite:ghillie.db"},
		{"postgres://u:se%zz@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u:1234/abc@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db?sslmode=disable&password=secret", "postgres://u@h/db?sslmode=disable&password=xxxxx"},
		{"postgres://u@h/db?sslpassword=secret", "postgres://u@h/db?sslpassword=xxxxx"},
		{"host=h password=secret user=u", "host=h password=xxxxx user=u"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			is.Equal(store.Redact(tt.in), tt.want)
		})
	}
}
