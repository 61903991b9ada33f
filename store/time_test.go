package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/matryer/is"

	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// FuzzParseTimeLayout checks that the fast parser of TimeLayout text
// returns what time.Parse returns, and declines what time.Parse rejects.
// It may decline more, such as a comma before the fraction, because
// Time.Scan then falls back to time.Parse.
func FuzzParseTimeLayout(f *testing.F) {
	for _, seed := range []string{"2024-07-01T12:30:45.123456Z", "2024-02-29T00:00:00.000000Z",
		"2023-02-29T00:00:00.000000Z", "1900-02-29T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z",
		"2024-04-31T00:00:00.000000Z", "2024-13-01T00:00:00.000000Z", "2024-00-10T00:00:00.000000Z",
		"2024-01-01T24:00:00.000000Z", "2024-01-01T00:60:00.000000Z", "2024-01-01T00:00:60.000000Z",
		"0000-01-01T00:00:00.000000Z", "2024-01-01 00:00:00.000000Z", "2024-01-01T00:00:00.00000aZ",
		"2024-01-01T00:00:00Z", "+024-01-01T00:00:00.000000Z", "2024-01-00T00:00:00.000000Z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := store.ParseTimeLayout(text)
		want, err := time.Parse(store.TimeLayout, text)
		switch {
		case ok && err != nil:
			t.Fatalf("%q: parsed as %v, time.Parse rejects it: %v", text, got, err)
		case ok && !got.Equal(want):
			t.Fatalf("%q: parsed as %v, time.Parse returns %v", text, got, want)
		case ok && got.Location() != time.UTC:
			t.Fatalf("%q: parsed in %v, expected UTC", text, got.Location())
		}
	})
}

func TestPostgresConnScansTime(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		if db.Dialect() != store.Postgres {
			err := db.PostgresConn(ctx, func(*pgx.Conn) error { return nil })
			is.True(errors.Is(err, errors.ErrUnsupported))
			return
		}

		err := db.PostgresConn(ctx, func(conn *pgx.Conn) error {
			var at store.Time
			var none, some *store.Time
			err := conn.QueryRow(ctx, `SELECT '2024-07-02 12:30:00.123456+03'::timestamptz,
				NULL::timestamptz, '2024-07-02 09:30:00Z'::timestamptz`).Scan(&at, &none, &some)
			is.NoErr(err)
			is.True(at.Equal(time.Date(2024, 7, 2, 9, 30, 0, 123456000, time.UTC)))
			is.Equal(at.Location(), time.UTC)
			is.True(none == nil)
			is.True(some != nil && some.Equal(time.Date(2024, 7, 2, 9, 30, 0, 0, time.UTC)))

			err = conn.QueryRow(ctx, `SELECT NULL::timestamptz`).Scan(&at)
			is.True(err != nil) // NULL needs a *store.Time
			err = conn.QueryRow(ctx, `SELECT 'infinity'::timestamptz`).Scan(&at)
			is.True(err != nil)
			return nil
		})
		is.NoErr(err)
	})
}
