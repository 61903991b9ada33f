package evidence_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/ghillie/ghillie/catalogue"
	"github.com/ghillie/ghillie/evidence"
	"github.com/ghillie/ghillie/gold"
	"github.com/ghillie/ghillie/registry"
	"github.com/ghillie/ghillie/store"
	"github.com/ghillie/ghillie/store/storetest"
)

// wildside imports the example catalogue into an estate, syncs it and
// returns the estate id.
func wildside(t *testing.T, db *store.DB, key string) string {
	t.Helper()
	ctx := context.Background()

	_, err := catalogue.NewImporter(db, nil).ImportFile(ctx, catalogue.Estate{Key: key},
		"../examples/wildside-catalogue.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.NewService(db, nil).Sync(ctx, key); err != nil {
		t.Fatal(err)
	}
	var id string
	cat := db.Catalogue()
	if err := cat.Get(&id, cat.Rebind(`SELECT id FROM estates WHERE key = ?`), key); err != nil {
		t.Fatal(err)
	}
	return id
}

func repoID(t *testing.T, db *store.DB, name string) string {
	t.Helper()

	repo, err := registry.NewService(db, nil).Get(context.Background(), "leynos", name)
	if err != nil {
		t.Fatal(err)
	}
	return repo.ID
}

func storeReport(t *testing.T, db *store.DB, sub gold.Subject, start time.Time, summary gold.MachineSummary) {
	t.Helper()

	_, _, err := gold.NewStore(db).Insert(context.Background(), gold.Report{Subject: sub,
		WindowStart: start, WindowEnd: start.Add(7 * 24 * time.Hour), Summary: summary}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestProjectBundle(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		estate := wildside(t, db, "wildside")
		core := gold.Subject{Scope: gold.ScopeRepository, ID: repoID(t, db, "wildside")}
		storeReport(t, db, core, winStart.Add(-14*24*time.Hour),
			gold.MachineSummary{Status: gold.StatusAtRisk, Summary: "Older."})
		storeReport(t, db, core, winStart.Add(-7*24*time.Hour), gold.MachineSummary{
			Status: "On_TrAcK", Summary: "Good progress.", Highlights: []string{"Shipped"}})
		storeReport(t, db, core, winEnd, gold.MachineSummary{Summary: "After the window."})

		b, err := evidence.NewBuilder(db).Project(ctx, estate, "wildside", winStart, winEnd)
		is.NoErr(err)
		is.Equal(b.Project.Key, "wildside")
		is.Equal(b.Project.Programme, "df12")
		is.True(b.Project.Description != "")

		keys := []string{}
		for _, c := range b.Components {
			keys = append(keys, c.Key)
		}
		is.Equal(keys, []string{"wildside-core", "wildside-engine", "wildside-ingestion",
			"wildside-mockup"}) // ordered by key
		c := b.Components[0]
		is.Equal(c.RepositorySlug, "leynos/wildside")
		is.Equal(c.Type, "service")
		is.Equal(c.RepositorySummary.Summary, "Good progress.") // latest before the end
		is.Equal(c.RepositorySummary.Status, gold.StatusOnTrack)
		is.Equal(c.RepositorySummary.Highlights, []string{"Shipped"})
		planned := b.Components[2]
		is.Equal(planned.Lifecycle, "planned")
		is.Equal(planned.RepositorySlug, "")
		is.Equal(planned.RepositorySummary, nil)

		var edges []string
		for _, d := range b.Dependencies {
			to := d.To
			if d.ToProject != "" {
				to = d.ToProject + ":" + d.To
			}
			edges = append(edges, d.From+" "+d.Relationship+" "+to)
		}
		is.Equal(edges, []string{
			"wildside-core depends_on df12-foundations:ortho-config",
			"wildside-core depends_on df12-foundations:pg-embedded-setup-unpriv",
			"wildside-core depends_on df12-foundations:rstest-bdd",
			"wildside-core depends_on wildside-engine",
			"wildside-core emits_events_to wildside-mockup",
			"wildside-engine blocked_by df12-foundations:ortho-config", // another project's blocker
		})

		first, _ := json.Marshal(b)
		again, err := evidence.NewBuilder(db).Project(ctx, estate, "wildside", winStart, winEnd)
		is.NoErr(err)
		second, _ := json.Marshal(again)
		is.Equal(string(first), string(second))

		_, err = evidence.NewBuilder(db).Project(ctx, estate, "missing", winStart, winEnd)
		is.True(errors.Is(err, evidence.ErrProjectNotFound))
	})
}

func TestProjectBundleOtherEstate(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		wildside(t, db, "one")
		other := wildside(t, db, "two")
		s := gold.NewStore(db)

		// Project reports of the estate, and of another estate's project
		// of the same key.
		oneID, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "W",
			EstateID: "not-this-one"})
		is.NoErr(err)
		storeReport(t, db, gold.Subject{Scope: gold.ScopeProject, ID: oneID.ID},
			winStart.Add(-7*24*time.Hour), gold.MachineSummary{Summary: "x"})
		ref, err := s.EnsureProject(ctx, gold.ProjectRef{Key: "wildside", Name: "W", EstateID: other})
		is.NoErr(err)
		for i := 1; i <= 3; i++ {
			storeReport(t, db, gold.Subject{Scope: gold.ScopeProject, ID: ref.ID},
				winStart.Add(-time.Duration(i)*7*24*time.Hour), gold.MachineSummary{Summary: "p"})
		}

		b, err := evidence.NewBuilder(db).Project(ctx, other, "wildside", winStart, winEnd)
		is.NoErr(err)
		is.Equal(len(b.PreviousReports), 2) // the two newest
		is.Equal(b.PreviousReports[0].WindowEnd, winStart)
		is.Equal(b.Components[0].RepositorySummary, nil)
	})
}

func TestEstateBundle(t *testing.T) {
	storetest.RunLayouts(t, func(t *testing.T, db *store.DB) {
		is := is.New(t)
		ctx := context.Background()
		estate := wildside(t, db, "wildside")
		ref, err := gold.NewStore(db).EnsureProject(ctx, gold.ProjectRef{Key: "wildside",
			Name: "Wildside", EstateID: estate})
		is.NoErr(err)
		storeReport(t, db, gold.Subject{Scope: gold.ScopeProject, ID: ref.ID},
			winStart.Add(-7*24*time.Hour), gold.MachineSummary{Status: gold.StatusBlocked,
				Summary: "Blocked on config.", Risks: []string{"ortho-config"}})

		b, err := evidence.NewBuilder(db).Estate(ctx, estate, winStart, winEnd)
		is.NoErr(err)
		is.Equal(b.EstateKey, "wildside")
		is.Equal(len(b.Projects), 1) // the other project was never reported
		is.Equal(b.Projects[0].ProjectKey, "wildside")
		is.Equal(b.Projects[0].Status, gold.StatusBlocked)
		is.Equal(b.Projects[0].Risks, []string{"ortho-config"})
		is.Equal(b.PreviousReports, []evidence.PreviousReport{})

		_, err = evidence.NewBuilder(db).Estate(ctx, "missing", winStart, winEnd)
		is.True(errors.Is(err, evidence.ErrEstateNotFound))
	})
}
