package worker

import (
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"
)

// MinReportInterval is the shortest time a report schedule may leave
// between two firings: each firing may cost a status model call for every
// repository, project and estate.
const MinReportInterval = time.Hour

// ParseSchedule parses a cron expression of five fields (minute, hour,
// day of month, month, day of week) or a descriptor such as "@daily",
// evaluated in UTC. It rejects time zone prefixes, schedules that never
// fire, and schedules that fire more often than MinReportInterval. The
// error names the expression and the fix.
func ParseSchedule(expr string) (river.PeriodicSchedule, error) {
	text := strings.TrimSpace(expr)
	upper := strings.ToUpper(text)
	if strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ=") {
		return nil, fmt.Errorf("invalid schedule %q: schedules are in UTC; remove the time zone "+
			"prefix and give the times in UTC", expr)
	}
	s, err := cron.ParseStandard(text)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q: %w: use five fields, minute hour "+
			"day-of-month month day-of-week, in UTC, such as %q", expr, err, DefaultReportSchedule)
	}

	// Fifty firings cover every gap of a schedule that repeats within a
	// year, such as one with several hours a day on some weekdays.
	prev := s.Next(time.Now().UTC())
	if prev.IsZero() {
		return nil, fmt.Errorf("invalid schedule %q: it never fires, as for a day that no month "+
			"has; check the day-of-month and month fields", expr)
	}
	for range 50 {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); gap < MinReportInterval {
			return nil, fmt.Errorf("invalid schedule %q: it fires %s apart, and each firing "+
				"may cost a status model call per report; fire at most once per %s", expr, gap,
				MinReportInterval)
		}
		prev = next
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
			return nil, fmt.Errorf("ingestion interval %s is under a minute: use 1m or more; "+
				"15m or more suits GitHub's rate limits for most estates", q.cfg.IngestInterval)
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
