package silver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/ghillie/ghillie/store"
)

// Reason is the cause of a failed transform, stored in
// raw_events.transform_reason next to the message in transform_error.
type Reason string

// Reasons for a failed transform.
const (
	// ReasonPayloadMismatch means the event fact stored for the raw event
	// no longer matches the raw event: Bronze was changed after the event
	// was processed.
	ReasonPayloadMismatch Reason = "payload_mismatch"

	// ReasonInvalidPayload means the payload does not match the schema of
	// its event type.
	ReasonInvalidPayload Reason = "invalid_payload"

	// ReasonRepositoryMismatch means a stored pull request or issue with
	// the payload's id belongs to another repository, or the event's
	// repo_external_id is not the repository that its payload names.
	ReasonRepositoryMismatch Reason = "repository_mismatch"

	// ReasonConflict means the event's rows violate a unique constraint,
	// such as a pull request whose repository and number belong to a
	// stored pull request with another id.
	ReasonConflict Reason = "conflict"

	// ReasonEntityTransformFailed means the database rejected the event's
	// rows for another constraint.
	ReasonEntityTransformFailed Reason = "entity_transform_failed"
)

// transformError is the failure of one raw event. Its message is stored
// in raw_events.transform_error and its reason in transform_reason.
type transformError struct {
	reason Reason
	err    error
}

func (e *transformError) Error() string { return e.err.Error() }

func (e *transformError) Unwrap() error { return e.err }

func newTransformError(reason Reason, format string, args ...any) *transformError {
	return &transformError{reason: reason, err: fmt.Errorf(format, args...)}
}

// faultReason returns the reason to record when err was caused by an
// event's data, or false when err must abort the batch.
func faultReason(ctx context.Context, err error) (Reason, bool) {
	var failure *transformError
	switch {
	case isInfrastructure(ctx, err):
		return "", false
	case errors.As(err, &failure):
		return failure.reason, true
	case errors.Is(err, store.ErrUniqueViolation):
		return ReasonConflict, true
	case errors.Is(err, store.ErrForeignKeyViolation),
		errors.Is(err, store.ErrNotNullViolation),
		errors.Is(err, store.ErrCheckViolation):
		return ReasonEntityTransformFailed, true
	}
	return "", false
}

// failureOf returns the failure of ev that err stands for, or false when
// err was not caused by the event's data and must abort the batch.
func failureOf(ctx context.Context, ev *event, err error) (*transformError, bool) {
	reason, ok := faultReason(ctx, err)
	if !ok {
		return nil, false
	}

	var failure *transformError
	if errors.As(err, &failure) {
		return failure, true
	}
	if reason == ReasonConflict {
		constraint := "a unique constraint"
		var classified *store.Error
		if errors.As(err, &classified) && classified.Constraint != "" {
			constraint = classified.Constraint
		}
		return newTransformError(ReasonConflict,
			"%s conflicts with a stored row on %s: %w", describeEntity(ev), constraint, err), true
	}
	return newTransformError(reason, "entity transform failed for %s: %w", describeEntity(ev), err), true
}

// isInfrastructure reports whether err comes from the database or the
// caller rather than from an event: a lost connection, a cancelled
// context, a deadlock or lock timeout.
func isInfrastructure(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, store.ErrConnection) ||
		errors.Is(err, store.ErrConflict) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, sql.ErrTxDone)
}

// isEventCaused reports whether err, returned for a group of events, was
// caused by one of them, so that processing them one at a time isolates
// the culprit.
func isEventCaused(ctx context.Context, err error) bool {
	_, ok := faultReason(ctx, err)
	return ok
}

// describeEntity names the row that an event writes, for messages.
func describeEntity(ev *event) string {
	switch p := ev.entity.(type) {
	case CommitPayload:
		return fmt.Sprintf("commit %s of %s/%s", p.SHA, p.RepoOwner, p.RepoName)
	case PullRequestPayload:
		return fmt.Sprintf("pull request %d (number %d of %s/%s)", p.ID, p.Number, p.RepoOwner, p.RepoName)
	case IssuePayload:
		return fmt.Sprintf("issue %d (number %d of %s/%s)", p.ID, p.Number, p.RepoOwner, p.RepoName)
	case DocChangePayload:
		return fmt.Sprintf("documentation change of %s in commit %s of %s/%s",
			p.Path, p.CommitSHA, p.RepoOwner, p.RepoName)
	}
	return ev.raw.eventType + " event"
}
