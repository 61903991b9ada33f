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
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db:5432/ghillie"}},
		{"postgresql", "postgresql://u:pw@db/ghillie",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u:pw@db/ghillie"}},
		{"asyncpg", "postgresql+asyncpg://u:pw@db/ghillie",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u:pw@db/ghillie"}},
		{"asyncpg ssl", "postgresql+asyncpg://u@db/g?ssl=true",
			store.Target{Dialect: store.Postgres, DSN: "postgres://u@db/g?sslmode=require"}},
		{"socket host", "postgres:///ghillie?host=/run/postgresql",
			store.Target{Dialect: store.Postgres, DSN: "postgres:///ghillie?host=/run/postgresql"}},
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
		{"postgres no host", "postgres:///db", "has no host"},
		{"password hidden", "mysql://u:secret@h/db", "u:xxxxx@h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := store.ParseURL(tt.url)
			is.True(err != nil)
			is.True(strings.Contains(err.Error(), tt.want))   // error names the problem
			is.True(!strings.Contains(err.Error(), "secret")) // password never shown
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
		{"postgres://u:se%zz@h/db", "postgres://xxxxx@h/db"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			is.Equal(store.Redact(tt.in), tt.want)
		})
	}
}
