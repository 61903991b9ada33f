package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/adapters/cli"
	"github.com/ghillie/ghillie/store"
)

const transformInput = `{"source_system":"github","event_type":"github.commit","source_event_id":"abc123",` +
	`"repo_external_id":"octo/reef","occurred_at":"2024-07-02T09:30:00Z","payload":{"sha":"abc123",` +
	`"repo_owner":"octo","repo_name":"reef","message":"docs: refresh roadmap","default_branch":"main",` +
	`"committed_at":"2024-07-02T09:30:00Z"}}
{"source_system":"github","event_type":"github.issue","source_event_id":"101",` +
	`"repo_external_id":"octo/reef","occurred_at":"2024-07-02T10:00:00Z","payload":{"id":101,"number":5,` +
	`"title":"Roadmap gaps","state":"open","repo_owner":"octo","repo_name":"reef",` +
	`"created_at":"2024-07-02T10:00:00Z","labels":["documentation"]}}
{"source_system":"github","event_type":"github.push","source_event_id":"push-1",` +
	`"repo_external_id":"octo/reef","occurred_at":"2024-07-02T10:05:00Z","payload":{"ref":"refs/heads/main"}}
{"source_system":"github","event_type":"github.issue","source_event_id":"102",` +
	`"repo_external_id":"octo/reef","occurred_at":"2024-07-02T10:10:00Z","payload":{"id":"not a number"}}
`

func TestTransformCommand(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := migratedEnv(t, d)

			r := runWithInput(t, env, transformInput, "events", "import", "-")
			is.Equal(r.code, cli.ExitOK)

			r = run(t, env, "transform")
			is.Equal(r.code, cli.ExitFailure) // one event failed
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[1]), []string{"2", "1", "1"})

			r = run(t, env, "transform")
			is.Equal(r.code, cli.ExitOK) // failed events are not pending
			is.Equal(strings.Fields(strings.Split(r.stdout, "\n")[1]), []string{"0", "0", "0"})

			db, err := store.Open(context.Background(), env["GHILLIE_DATABASE_URL"])
			is.NoErr(err)
			defer db.Close()
			var failed int64
			is.NoErr(db.Get(&failed, "SELECT id FROM raw_events WHERE transform_state = 2"))

			r = run(t, env, "-o", "json", "transform", "--ids", fmt.Sprint(failed))
			is.Equal(r.code, cli.ExitFailure) // still invalid when retried
			is.True(strings.Contains(r.stdout, `"failed": 1`))

			var commits int
			is.NoErr(db.Get(&commits, "SELECT count(*) FROM commits"))
			is.Equal(commits, 1)

			r = run(t, env, "transform", "--ids", fmt.Sprintf("1,%d,999", failed))
			is.Equal(r.code, cli.ExitFailure)
			is.True(strings.Contains(r.stderr, "ghillie: no raw event has the id 999: --ids takes"))
			is.True(strings.Contains(r.stdout, "PROCESSED")) // the others were transformed

			r = run(t, env, "transform", "--ids", "999,998,999")
			is.Equal(r.code, cli.ExitFailure)
			is.Equal(r.stdout, "") // nothing to transform, so no table of zeros
			is.True(strings.Contains(r.stderr, "ghillie: no raw event has any of the ids 999, 998: "))
		})
	}
}

func TestTransformUsageErrors(t *testing.T) {
	env := migratedEnv(t, "sqlite")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad id", []string{"transform", "--ids", "1,x"}, `invalid raw event id "x"`},
		{"negative limit", []string{"transform", "--limit", "-2"}, "invalid --limit -2"},
		{"both", []string{"transform", "--ids", "1", "--limit", "2"}, "exclude each other"},
		{"empty ids", []string{"transform", "--ids", ""}, "--ids is empty"},
		{"batch size", []string{"transform", "--batch-size", "-5"}, "invalid --batch-size -5"},
		{"workers", []string{"transform", "--workers", "0"}, "invalid --workers 0"},
		{"many workers", []string{"transform", "--workers", "33"}, "invalid --workers 33: use 1 to 32,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := run(t, env, tt.args...)
			is.Equal(r.code, cli.ExitUsage)
			is.True(strings.Contains(r.stderr, tt.want))
		})
	}
}

// TestTransformFailureCounts makes the second batch fail with a database
// error from a trigger, after the first batch committed.
func TestTransformFailureCounts(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			is := is.New(t)
			env := migratedEnv(t, d)
			r := runWithInput(t, env, transformInput, "events", "import", "-")
			is.Equal(r.code, cli.ExitOK)

			db, err := store.Open(context.Background(), env["GHILLIE_DATABASE_URL"])
			is.NoErr(err)
			defer db.Close()
			trigger := `CREATE TRIGGER poison BEFORE INSERT ON issues
				WHEN NEW.id = 101 BEGIN SELECT RAISE(ABORT, 'poisoned issue'); END`
			if d == "postgres" {
				_, err = db.Exec(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql
					AS $$ BEGIN RAISE EXCEPTION 'poisoned issue'; END $$`)
				is.NoErr(err)
				trigger = `CREATE TRIGGER poison BEFORE INSERT ON issues
					FOR EACH ROW WHEN (NEW.id = 101) EXECUTE FUNCTION poison()`
			}
			_, err = db.Exec(trigger)
			is.NoErr(err)

			r = run(t, env, "transform", "--batch-size", "1")

			is.True(r.code != cli.ExitOK)
			is.True(strings.Contains(r.stderr, "poisoned issue"))
			is.True(strings.Contains(r.stderr,
				"1 events were transformed before the failure (1 processed, 0 failed, 0 skipped)"))
			var commits int
			is.NoErr(db.Get(&commits, "SELECT count(*) FROM commits"))
			is.Equal(commits, 1) // the first batch stays committed
		})
	}
}
