package worker

import (
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"
)

// ParseSchedule parses a cron expression of five fields (minute, hour,
// day of month, month, day of week) or a descriptor such as "@daily",
// evaluated in UTC. The error names the expression and the fields.
func ParseSchedule(expr string) (river.PeriodicSchedule, error) {
	s, err := cron.ParseStandard(strings.TrimSpace(expr))
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w: use five fields, minute hour "+
			"day-of-month month day-of-week, in UTC, such as %q", expr, err, DefaultReportSchedule)
	}
	return utcSchedule{s}, nil
}

// utcSchedule evaluates a cron schedule in UTC whatever the machine's zone.
type utcSchedule struct{ s cron.Schedule }

func (u utcSchedule) Next(t time.Time) time.Time { return u.s.Next(t.UTC()) }

// periodicJobs returns the schedules of Config: ingestion of every estate
// every IngestInterval and reports of every estate on ReportSchedule.
// River's elected leader queues them, so several worker processes queue
// each once.
func (q *Queue) periodicJobs() ([]*river.PeriodicJob, error) {
	var jobs []*river.PeriodicJob

	if q.cfg.IngestInterval > 0 {
		if q.cfg.IngestInterval < time.Minute {
			return nil, fmt.Errorf("ingestion interval %s is under a minute: GitHub's rate "+
				"limits allow far less; use 15m or more", q.cfg.IngestInterval)
		}
		if q.cfg.GitHub == nil {
			return nil, fmt.Errorf("an ingestion interval of %s is set but no GitHub access: "+
				"set GHILLIE_GITHUB_TOKEN or the GHILLIE_GITHUB_APP_* settings", q.cfg.IngestInterval)
		}
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(q.cfg.IngestInterval),
			func() (river.JobArgs, *river.InsertOpts) { return scheduledIngestionArgs{}, nil },
			&river.PeriodicJobOpts{ID: periodicIngestID, RunOnStart: true}))
	}

	if strings.EqualFold(strings.TrimSpace(q.cfg.ReportSchedule), "off") {
		return jobs, nil
	}
	schedule, err := ParseSchedule(q.cfg.ReportSchedule)
	if err != nil {
		return nil, err
	}
	if q.cfg.Model == nil {
		return nil, fmt.Errorf("reports are scheduled (%q) but no status model is configured: "+
			"set GHILLIE_STATUS_MODEL_BACKEND, or turn the schedule off", q.cfg.ReportSchedule)
	}
	jobs = append(jobs, river.NewPeriodicJob(schedule,
		func() (river.JobArgs, *river.InsertOpts) { return scheduledReportsArgs{}, nil },
		&river.PeriodicJobOpts{ID: periodicReportsID}))
	return jobs, nil
}
