package worker

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/ghillie/ghillie/ingest"
)

// Job kinds, as River stores them.
const (
	KindImportCatalogue  = "ghillie.catalogue_import"
	KindIngestRepository = "ghillie.ingest_repository"
	KindIngestEstate     = "ghillie.ingest_estate"
	KindTransform        = "ghillie.transform"
	KindReportRepository = "ghillie.report_repository"
	KindReportEstate     = "ghillie.report_estate"
	KindReportRollup     = "ghillie.report_rollup"
	KindScheduledIngest  = "ghillie.scheduled_ingestion"
	KindScheduledReports = "ghillie.scheduled_reports"
	periodicIngestID     = "ghillie-ingestion"
	periodicReportsID    = "ghillie-reports"
)

// ImportCatalogueArgs imports a catalogue file into an estate, and then
// syncs the estate's repositories into the registry when Sync is set.
// With Checkout set, the file is File at the commit that Branch names in
// that git checkout, whatever its working tree holds, and that commit is
// recorded with the import.
type ImportCatalogueArgs struct {
	EstateKey  string `json:"estate_key"`
	EstateName string `json:"estate_name,omitempty"`
	Path       string `json:"path,omitempty"`
	CommitSHA  string `json:"commit_sha,omitempty"`
	Checkout   string `json:"checkout,omitempty"`
	File       string `json:"file,omitempty"`
	Branch     string `json:"branch,omitempty"`
	Sync       bool   `json:"sync,omitempty"`
}

// Kind implements river.JobArgs.
func (ImportCatalogueArgs) Kind() string { return KindImportCatalogue }

// InsertOpts keeps one job per estate and commit in the queue, so
// watchers in several worker processes queue a new commit once.
func (a ImportCatalogueArgs) InsertOpts() river.InsertOpts {
	if a.CommitSHA == "" {
		return river.InsertOpts{}
	}
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// IngestLimits are the ingestion settings that one run chooses in place
// of the worker's own. Zero fields keep the worker's settings.
type IngestLimits struct {
	// LookbackDays is how far back a stream without a watermark starts,
	// 1 to ingest.MaxLookbackDays.
	LookbackDays int `json:"lookback_days,omitempty"`

	// MaxEventsPerKind caps the items the run reads per stream, 1 to
	// ingest.MaxEventsPerKindLimit.
	MaxEventsPerKind int `json:"max_events_per_kind,omitempty"`
}

// IngestRepositoryArgs ingests one repository as a unit of a run.
type IngestRepositoryArgs struct {
	RunID string `json:"run_id"`
	Owner string `json:"owner"`
	Name  string `json:"name"`
	IngestLimits
}

// limits returns the ingest.Limits of the run's settings.
func (l IngestLimits) limits() ingest.Limits {
	return ingest.Limits{InitialLookback: time.Duration(l.LookbackDays) * 24 * time.Hour,
		MaxEventsPerKind: l.MaxEventsPerKind}
}

// Kind implements river.JobArgs.
func (IngestRepositoryArgs) Kind() string { return KindIngestRepository }

// IngestEstateArgs plans an ingestion run of an estate: one
// IngestRepositoryArgs job per repository with ingestion enabled.
// The run's limits are passed on to each repository's job.
type IngestEstateArgs struct {
	RunID     string `json:"run_id"`
	EstateKey string `json:"estate_key"`
	IngestLimits
}

// Kind implements river.JobArgs.
func (IngestEstateArgs) Kind() string { return KindIngestEstate }

// TransformArgs refines every pending raw event into Silver. Concurrent
// transforms are safe: each claims its own events.
type TransformArgs struct{}

// Kind implements river.JobArgs.
func (TransformArgs) Kind() string { return KindTransform }

// ReportRepositoryArgs reports on one repository as a unit of a run, for
// the window that ends at AsOf, or at the time the job runs when AsOf is
// zero.
type ReportRepositoryArgs struct {
	RunID        string    `json:"run_id"`
	RepositoryID string    `json:"repository_id"`
	Slug         string    `json:"slug"`
	AsOf         time.Time `json:"as_of,omitzero"`

	// WindowDays is the length of a first window, for a repository
	// without a report; zero takes the worker's setting.
	WindowDays int `json:"window_days,omitempty"`

	// EstateID is set when the report is a unit of an estate's run, whose
	// roll-up follows the last repository report.
	EstateID string `json:"estate_id,omitempty"`
}

// Kind implements river.JobArgs.
func (ReportRepositoryArgs) Kind() string { return KindReportRepository }

// ReportEstateArgs plans a report run of an estate: one
// ReportRepositoryArgs job per repository with ingestion enabled and
// events to report, then one ReportRollupArgs job for the estate's
// projects and the estate itself.
// WindowDays, when set, is the length of every first window of the run.
type ReportEstateArgs struct {
	RunID      string    `json:"run_id"`
	EstateKey  string    `json:"estate_key"`
	AsOf       time.Time `json:"as_of"`
	WindowDays int       `json:"window_days,omitempty"`
}

// Kind implements river.JobArgs.
func (ReportEstateArgs) Kind() string { return KindReportEstate }

// ReportRollupArgs writes the project and estate reports of an estate
// report run once its repository reports have succeeded.
type ReportRollupArgs struct {
	RunID      string    `json:"run_id"`
	EstateID   string    `json:"estate_id"`
	AsOf       time.Time `json:"as_of"`
	WindowDays int       `json:"window_days,omitempty"`
}

// Kind implements river.JobArgs.
func (ReportRollupArgs) Kind() string { return KindReportRollup }

// InsertOpts keeps one roll-up per run.
func (ReportRollupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// scheduledIngestionArgs starts an ingestion run of every estate.
type scheduledIngestionArgs struct{}

func (scheduledIngestionArgs) Kind() string { return KindScheduledIngest }

// scheduledReportsArgs starts a report run of every estate, for windows
// that end when the schedule fired.
type scheduledReportsArgs struct{}

func (scheduledReportsArgs) Kind() string { return KindScheduledReports }
