package bronze

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghillie/ghillie/store"
)

// Writer appends raw events to the raw_events table. It is safe for
// concurrent use, across processes too: the unique index on
// (source_system, dedupe_key) keeps one row per event.
type Writer struct {
	db  *store.DB
	now func() time.Time
}

// NewWriter returns a writer for db, which must be migrated.
func NewWriter(db *store.DB) *Writer {
	return &Writer{db: db, now: time.Now}
}

// WriteResult describes one envelope of a write.
type WriteResult struct {
	// ID is the raw event's id, new or existing.
	ID int64

	// Duplicate reports whether the event was already stored, in which
	// case the stored row was left untouched.
	Duplicate bool
}

// Write stores one envelope and returns the stored row. When the event is
// already stored, the existing row is returned unchanged.
func (w *Writer) Write(ctx context.Context, e Envelope) (RawEvent, error) {
	results, err := w.WriteBatch(ctx, []Envelope{e})
	if err != nil {
		return RawEvent{}, err
	}
	return w.Get(ctx, results[0].ID)
}

// prepared is an envelope checked, normalized and keyed for insertion.
type prepared struct {
	Envelope
	payload   string
	dedupeKey string
}

// BatchError reports which envelope of a batch is invalid. Nothing of the
// batch was written.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("envelope %d of the batch: %v", e.Index, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// maxBatchRows bounds the rows of one INSERT statement, keeping it well
// inside SQLite's limit of 32766 parameters.
const maxBatchRows = 500

// WriteBatch stores envelopes in one transaction and returns one result
// per envelope, in order. Either every envelope is stored (or found
// already stored) or, on error, none is. An invalid envelope returns a
// *BatchError and nothing is written. Envelopes repeated within the batch
// are stored once and reported as duplicates after the first. On
// PostgreSQL, a batch that lost a race with another transaction, such as
// a deadlock with another writer, is run again, up to maxBatchAttempts
// times in all. SQLite runs one writer at a time and has no deadlocks.
func (w *Writer) WriteBatch(ctx context.Context, envelopes []Envelope) ([]WriteResult, error) {
	for attempt := 1; ; attempt++ {
		results, err := w.writeBatch(ctx, envelopes, attempt > 1)
		if err == nil || w.db.Dialect() != store.Postgres || !errors.Is(err, store.ErrConflict) ||
			attempt == maxBatchAttempts {
			return results, err
		}

		// Two writers whose batches share events in another order can
		// deadlock on the unique key, and PostgreSQL then aborts one of
		// them. The rows the other writer committed are duplicates on the
		// next attempt. The random part of the wait keeps writers from
		// meeting again at the same moment.
		wait := time.Duration(attempt)*100*time.Millisecond +
			time.Duration(rand.Int64N(int64(100*time.Millisecond)))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("write raw events: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// maxBatchAttempts bounds how often WriteBatch runs one batch.
const maxBatchAttempts = 10

// retryLock is the lock that a batch's later attempts hold for their
// transaction. Writers that try again then run one at a time, so they
// cannot deadlock with each other, only with writers on a first attempt.
const retryLock = "ghillie.bronze.retry"

// writeBatch runs one attempt of WriteBatch. A retry takes retryLock
// first.
func (w *Writer) writeBatch(ctx context.Context, envelopes []Envelope, retry bool,
) ([]WriteResult, error) {
	results := make([]WriteResult, len(envelopes))
	ingestedAt := store.NewTime(w.now())

	// Normalizing and hashing cost about as much as inserting, so chunks
	// are prepared on other cores while earlier chunks are inserted. An
	// invalid envelope found late rolls the transaction back.
	chunks, stop := prepareChunks(envelopes)
	defer stop()

	err := w.db.InTx(ctx, func(tx *store.Tx) error {
		if retry {
			if err := tx.Lock(ctx, retryLock); err != nil {
				return err
			}
		}
		if tx.Dialect() == store.Postgres {
			return copyBatch(ctx, tx, len(envelopes), chunks, results, ingestedAt)
		}
		return insertChunks(ctx, tx, chunks, nil, results, ingestedAt)
	})
	if err != nil {
		var batchErr *BatchError
		if errors.As(err, &batchErr) {
			return nil, err
		}
		return nil, fmt.Errorf("write raw events: %w", err)
	}
	return results, nil
}

// preparedChunk is up to maxBatchRows consecutive envelopes of a batch,
// ready to insert, or the error of the first invalid one.
type preparedChunk struct {
	start int
	rows  []prepared
	err   error
}

// prepareChunks prepares the envelopes chunk by chunk in the background,
// one chunk ahead of the consumer. stop releases the producer when the
// consumer gives up early.
func prepareChunks(envelopes []Envelope) (chunks <-chan preparedChunk, stop func()) {
	out := make(chan preparedChunk, 1)
	done := make(chan struct{})

	go func() {
		defer close(out)
		for start := 0; start < len(envelopes); start += maxBatchRows {
			end := min(start+maxBatchRows, len(envelopes))
			rows, err := prepareAll(envelopes[start:end], start)

			select {
			case out <- preparedChunk{start: start, rows: rows, err: err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var once sync.Once
	return out, func() { once.Do(func() { close(done) }) }
}

// prepareAll prepares envelopes on every CPU; offset is the index of the
// first envelope in its batch, for errors.
func prepareAll(envelopes []Envelope, offset int) ([]prepared, error) {
	rows := make([]prepared, len(envelopes))
	errs := make([]error, len(envelopes))

	workers := min(runtime.GOMAXPROCS(0), max(1, len(envelopes)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(envelopes); i += workers {
				rows[i], errs[i] = prepare(envelopes[i])
			}
		}()
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			return nil, &BatchError{Index: offset + i, Err: err}
		}
	}
	return rows, nil
}

func prepare(e Envelope) (prepared, error) {
	if err := e.validate(); err != nil {
		return prepared{}, err
	}
	// The stored text is the canonical form, so a payload read back and
	// hashed again gives the same key on either database.
	canon, err := canonicalPayload(e.Payload)
	if err != nil {
		return prepared{}, err
	}
	key := keyFromCanonical(e, []byte(canon))

	e.SourceSystem = cleanString(e.SourceSystem)
	e.EventType = cleanString(e.EventType)
	e.SourceEventID = cleanString(e.SourceEventID)
	e.RepoExternalID = cleanString(e.RepoExternalID)
	return prepared{Envelope: e, payload: canon, dedupeKey: key}, nil
}

// insertSQL returns the statement that inserts n rows. On PostgreSQL it
// returns the identities of the rows that were not stored yet.
//
// On SQLite the rows come with ids drawn by the writer, which holds the
// database's write lock, and the statement returns nothing: a row
// stored under its drawn id is new. The statement uses OR IGNORE rather
// than ON CONFLICT DO NOTHING. The envelopes are checked before, so no
// row can break a NOT NULL or CHECK constraint. A statement that cannot
// abort needs no statement journal, which copied every page the insert
// changed and took about a fifth of its CPU time in a profile.
func insertSQL(d store.Dialect, n int) string {
	var b strings.Builder
	if d == store.SQLite {
		b.WriteString("INSERT OR IGNORE INTO raw_events (id, ")
	} else {
		b.WriteString("INSERT INTO raw_events (")
	}
	b.WriteString(`source_system, source_event_id, event_type,
		repo_external_id, occurred_at, ingested_at, dedupe_key, payload) VALUES `)
	row := "(?, ?, ?, ?, ?, ?, ?, ?)"
	if d == store.SQLite {
		row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	if d != store.SQLite {
		b.WriteString(" ON CONFLICT (source_system, dedupe_key) DO NOTHING" +
			" RETURNING id, source_system, dedupe_key")
	}
	return b.String()
}

// inserter inserts the chunks of one batch. It prepares the statement
// for a full chunk once, because compiling a statement of 500 rows took
// about an eighth of the insert's CPU time in a profile.
type inserter struct {
	tx   *store.Tx
	full *sql.Stmt

	// nextID is the id of the next row on SQLite.
	nextID int64
}

func (in *inserter) close() {
	if in.full != nil {
		_ = in.full.Close()
	}
}

// statement returns the prepared statement for a full chunk, or nil.
func (in *inserter) statement(ctx context.Context, n int) (*sql.Stmt, error) {
	if n != maxBatchRows {
		return nil, nil
	}
	if in.full == nil {
		stmt, err := in.tx.PrepareContext(ctx, in.tx.Rebind(insertSQL(in.tx.Dialect(), n)))
		if err != nil {
			return nil, err
		}
		in.full = stmt
	}
	return in.full, nil
}

func (in *inserter) query(ctx context.Context, n int, args []any) (*sql.Rows, error) {
	stmt, err := in.statement(ctx, n)
	if err != nil {
		return nil, err
	}
	if stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return in.tx.QueryContext(ctx, in.tx.Rebind(insertSQL(in.tx.Dialect(), n)), args...)
}

func (in *inserter) exec(ctx context.Context, n int, args []any) (sql.Result, error) {
	stmt, err := in.statement(ctx, n)
	if err != nil {
		return nil, err
	}
	if stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return in.tx.ExecContext(ctx, in.tx.Rebind(insertSQL(in.tx.Dialect(), n)), args...)
}

// insertChunkSQLite inserts rows under ids drawn from nextID. When every
// row was inserted, the drawn ids are theirs. Otherwise the stored ids of
// the chunk's keys tell new rows from duplicates.
func (in *inserter) insertChunkSQLite(ctx context.Context, rows []prepared, results []WriteResult,
	ingestedAt store.Time,
) error {
	const columns = 9
	args := make([]any, 0, columns*len(rows))
	first := in.nextID
	for i, r := range rows {
		args = append(args, first+int64(i), r.SourceSystem, nullable(r.SourceEventID), r.EventType,
			nullable(r.RepoExternalID), store.NewTime(r.OccurredAt), ingestedAt, r.dedupeKey, r.payload)
	}
	in.nextID += int64(len(rows))

	res, err := in.exec(ctx, len(rows), args)
	if err != nil {
		return store.Classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == int64(len(rows)) {
		for i := range rows {
			results[i] = WriteResult{ID: first + int64(i)}
		}
		return nil
	}

	stored, err := storedIDs(ctx, in.tx, rows)
	if err != nil {
		return err
	}
	for i, r := range rows {
		id := stored[identity{r.SourceSystem, r.dedupeKey}]
		results[i] = WriteResult{ID: id, Duplicate: id != first+int64(i)}
	}
	return nil
}

// storedIDs returns the ids of the stored raw events with the rows' keys.
func storedIDs(ctx context.Context, tx *store.Tx, rows []prepared) (map[identity]int64, error) {
	keys := make([]identity, len(rows))
	for i, r := range rows {
		keys[i] = identity{r.SourceSystem, r.dedupeKey}
	}
	stored, err := lookupIDs(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if _, ok := stored[key]; !ok {
			return nil, fmt.Errorf("raw event with dedupe key %s not found after its insert", key.key)
		}
	}
	return stored, nil
}

// lookupIDs returns the ids of the stored raw events with the given keys.
func lookupIDs(ctx context.Context, tx *store.Tx, keys []identity) (map[identity]int64, error) {
	stored := make(map[identity]int64, len(keys))
	if tx.Dialect() == store.Postgres {
		for chunk := range slices.Chunk(keys, maxBatchRows) {
			if err := lookupPostgres(ctx, tx, chunk, stored); err != nil {
				return nil, err
			}
		}
		return stored, nil
	}

	bySystem := map[string][]string{}
	var systems []string
	for _, key := range keys {
		if _, ok := bySystem[key.system]; !ok {
			systems = append(systems, key.system)
		}
		bySystem[key.system] = append(bySystem[key.system], key.key)
	}
	for _, system := range systems {
		for chunk := range slices.Chunk(bySystem[system], maxBatchRows) {
			if err := lookupSQLite(ctx, tx, system, chunk, stored); err != nil {
				return nil, err
			}
		}
	}
	return stored, nil
}

// lookupPostgresSQL joins the keys, given as two arrays, to raw_events.
// Arrays keep the statement the same for any number of keys: with a list
// of 500 parameters, one lookup took longer than 500 lookups of one key
// each. The keys take the columns' collation so that the unique index
// serves the join.
const lookupPostgresSQL = `SELECT r.id, r.source_system, r.dedupe_key
	FROM unnest($1::text[], $2::text[]) AS k(system, key)
	JOIN raw_events r ON r.source_system = k.system COLLATE "C" AND r.dedupe_key = k.key COLLATE "C"`

// lookupPostgres adds the ids of the stored raw events with the given
// keys to stored.
func lookupPostgres(ctx context.Context, tx *store.Tx, keys []identity, stored map[identity]int64) error {
	systems := make([]string, len(keys))
	values := make([]string, len(keys))
	for i, key := range keys {
		systems[i], values[i] = key.system, key.key
	}
	return scanLookup(ctx, tx, stored, lookupPostgresSQL, systems, values)
}

// lookupSQLite adds the ids of the stored raw events of one source system
// with the given keys to stored. The query names its source system
// because the unique index of the keys starts with it. Without it, SQLite
// read the whole index once per query.
func lookupSQLite(ctx context.Context, tx *store.Tx, system string, keys []string, stored map[identity]int64,
) error {
	query := "SELECT id, source_system, dedupe_key FROM raw_events WHERE source_system = ? AND dedupe_key IN (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ") + ")"
	args := make([]any, 0, 1+len(keys))
	args = append(args, system)
	for _, key := range keys {
		args = append(args, key)
	}
	return scanLookup(ctx, tx, stored, query, args...)
}

// scanLookup runs a lookup query that returns id, source system and key,
// and adds its rows to stored.
func scanLookup(ctx context.Context, tx *store.Tx, stored map[identity]int64, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("find stored raw events: %w", store.Classify(err))
	}
	defer rows.Close()

	for rows.Next() {
		var id int64
		var key identity
		if err := rows.Scan(&id, &key.system, &key.key); err != nil {
			return fmt.Errorf("find stored raw events: %w", store.Classify(err))
		}
		stored[key] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find stored raw events: %w", store.Classify(err))
	}
	return nil
}

// insertChunk inserts rows that are not stored yet and fills results with
// the id of every row, new or existing.
func (in *inserter) insertChunk(ctx context.Context, rows []prepared, results []WriteResult,
	ingestedAt store.Time,
) error {
	const columns = 8
	args := make([]any, 0, columns*len(rows))
	for _, r := range rows {
		args = append(args, r.SourceSystem, nullable(r.SourceEventID), r.EventType,
			nullable(r.RepoExternalID), store.NewTime(r.OccurredAt), ingestedAt, r.dedupeKey, r.payload)
	}

	query, err := in.query(ctx, len(rows), args)
	if err != nil {
		return store.Classify(err)
	}
	inserted := map[identity]int64{}
	for query.Next() {
		var id int64
		var key identity
		if err := query.Scan(&id, &key.system, &key.key); err != nil {
			query.Close()
			return err
		}
		inserted[key] = id
	}
	if err := query.Err(); err != nil {
		return store.Classify(err)
	}
	query.Close()

	// Rows that were already stored, or repeated in this chunk, need
	// their existing ids.
	seen := map[identity]bool{}
	var missing []identity
	for _, r := range rows {
		key := identity{r.SourceSystem, r.dedupeKey}
		if _, ok := inserted[key]; !ok && !seen[key] {
			missing = append(missing, key)
		}
		seen[key] = true
	}
	existing, err := lookupIDs(ctx, in.tx, missing)
	if err != nil {
		return err
	}
	for _, key := range missing {
		if _, ok := existing[key]; !ok {
			return fmt.Errorf("raw event with dedupe key %s neither inserted nor found", key.key)
		}
	}

	first := map[identity]bool{}
	for i, r := range rows {
		key := identity{r.SourceSystem, r.dedupeKey}
		if id, ok := inserted[key]; ok && !first[key] {
			results[i] = WriteResult{ID: id}
		} else if ok {
			results[i] = WriteResult{ID: id, Duplicate: true}
		} else {
			results[i] = WriteResult{ID: existing[key], Duplicate: true}
		}
		first[key] = true
	}
	return nil
}

// identity is the unique key of a raw event.
type identity struct{ system, key string }

// insertChunks inserts the chunks of done and then those of chunks with
// insertChunk.
func insertChunks(ctx context.Context, tx *store.Tx, chunks <-chan preparedChunk, done []preparedChunk,
	results []WriteResult, ingestedAt store.Time,
) error {
	in := &inserter{tx: tx}
	defer in.close()
	insert := func(chunk preparedChunk) error {
		end := chunk.start + len(chunk.rows)
		return in.insertChunk(ctx, chunk.rows, results[chunk.start:end], ingestedAt)
	}
	if tx.Dialect() == store.SQLite {
		// BEGIN IMMEDIATE holds the write lock from the transaction's
		// start, so no other writer can take these ids before the commit.
		if err := tx.GetContext(ctx, &in.nextID, "SELECT COALESCE(MAX(id), 0) + 1 FROM raw_events"); err != nil {
			return fmt.Errorf("draw raw event ids: %w", store.Classify(err))
		}
		insert = func(chunk preparedChunk) error {
			end := chunk.start + len(chunk.rows)
			return in.insertChunkSQLite(ctx, chunk.rows, results[chunk.start:end], ingestedAt)
		}
	}
	for _, chunk := range done {
		if err := insert(chunk); err != nil {
			return err
		}
	}
	for chunk := range chunks {
		if chunk.err != nil {
			return chunk.err
		}
		if err := insert(chunk); err != nil {
			return err
		}
	}
	return nil
}

// reserveIDsSQL draws ids for new raw events from the sequence that the
// id column's default uses.
const reserveIDsSQL = `SELECT nextval((SELECT pg_get_serial_sequence('raw_events', 'id'))::regclass)
	FROM generate_series(1, $1)`

// copyColumns are the columns copyBatch loads, in the order of its values.
var copyColumns = []string{"id", "source_system", "source_event_id", "event_type",
	"repo_external_id", "occurred_at", "ingested_at", "dedupe_key", "payload"}

// copyBatch stores a batch on PostgreSQL with one COPY, which streams the
// chunks as they are prepared, under ids drawn beforehand. COPY cannot
// skip a stored row, so when a row is already stored, or another writer
// stores it meanwhile, the copy fails on the unique key and is rolled back
// to its savepoint, and insertChunk stores every chunk instead.
func copyBatch(ctx context.Context, tx *store.Tx, n int, chunks <-chan preparedChunk,
	results []WriteResult, ingestedAt store.Time,
) error {
	ids, err := reserveIDs(ctx, tx, n)
	if err != nil {
		return err
	}

	source := &copySource{chunks: chunks, ids: ids, results: results, ingestedAt: ingestedAt,
		firsts: make(map[identity]int, n)}
	err = tx.Savepoint(ctx, "bronze_copy", func() error {
		_, err := tx.CopyFrom(ctx, "raw_events", copyColumns, source)
		return err
	})
	switch {
	case source.err != nil:
		return source.err
	case errors.Is(err, store.ErrUniqueViolation):
		return insertChunks(ctx, tx, chunks, source.done, results, ingestedAt)
	case err != nil:
		return err
	}

	for _, chunk := range source.done {
		for i, r := range chunk.rows {
			index := chunk.start + i
			if first := source.firsts[identity{r.SourceSystem, r.dedupeKey}]; first != index {
				results[index] = WriteResult{ID: results[first].ID, Duplicate: true}
			}
		}
	}
	return nil
}

// copySource feeds the prepared chunks of a batch to CopyFrom, one row
// per envelope first seen in the batch, and records the id of each.
type copySource struct {
	chunks     <-chan preparedChunk
	ids        []int64
	results    []WriteResult
	ingestedAt store.Time

	// done lists the chunks taken from chunks, for a fallback to insert.
	done []preparedChunk

	// firsts maps each key to the index of its first envelope.
	firsts map[identity]int

	next   int // index of the next row in the last chunk of done
	copied int // number of rows returned so far, and so of ids used
	row    []any
	err    error
}

// Next moves to the next envelope whose key the batch has not seen yet.
func (s *copySource) Next() bool {
	for {
		if len(s.done) == 0 || s.next == len(s.done[len(s.done)-1].rows) {
			chunk, ok := <-s.chunks
			if !ok {
				return false
			}
			if chunk.err != nil {
				s.err = chunk.err
				return false
			}
			s.done = append(s.done, chunk)
			s.next = 0
			continue
		}

		chunk := s.done[len(s.done)-1]
		r := chunk.rows[s.next]
		index := chunk.start + s.next
		s.next++
		key := identity{r.SourceSystem, r.dedupeKey}
		if _, seen := s.firsts[key]; seen {
			continue
		}
		s.firsts[key] = index

		id := s.ids[s.copied]
		s.copied++
		s.results[index] = WriteResult{ID: id}
		s.row = []any{id, r.SourceSystem, nullable(r.SourceEventID), r.EventType,
			nullable(r.RepoExternalID), store.NewTime(r.OccurredAt), s.ingestedAt, r.dedupeKey, r.payload}
		return true
	}
}

// Values returns the column values of the current row.
func (s *copySource) Values() ([]any, error) { return s.row, nil }

// Err returns the error of an invalid envelope that ended the rows.
func (s *copySource) Err() error { return s.err }

// reserveIDs draws n ids and returns them in ascending order, so that new
// rows keep the order of their envelopes.
func reserveIDs(ctx context.Context, tx *store.Tx, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if err := tx.SelectContext(ctx, &ids, reserveIDsSQL, n); err != nil {
		return nil, fmt.Errorf("reserve raw event ids: %w", store.Classify(err))
	}
	slices.Sort(ids)
	return ids, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Get returns the raw event with the given id, or an error wrapping
// ErrNotFound.
func (w *Writer) Get(ctx context.Context, id int64) (RawEvent, error) {
	var row struct {
		ID             int64      `db:"id"`
		SourceSystem   string     `db:"source_system"`
		SourceEventID  *string    `db:"source_event_id"`
		EventType      string     `db:"event_type"`
		RepoExternalID *string    `db:"repo_external_id"`
		OccurredAt     store.Time `db:"occurred_at"`
		IngestedAt     store.Time `db:"ingested_at"`
		DedupeKey      string     `db:"dedupe_key"`
		Payload        string     `db:"payload"`
		TransformState int        `db:"transform_state"`
		TransformError *string    `db:"transform_error"`
	}
	err := w.db.GetContext(ctx, &row, w.db.Rebind(`
		SELECT id, source_system, source_event_id, event_type, repo_external_id, occurred_at,
			ingested_at, dedupe_key, payload, transform_state, transform_error
		FROM raw_events WHERE id = ?`), id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RawEvent{}, fmt.Errorf("raw event %d: %w", id, ErrNotFound)
		}
		return RawEvent{}, fmt.Errorf("read raw event %d: %w", id, store.Classify(err))
	}

	payload, err := DecodePayload([]byte(row.Payload))
	if err != nil {
		return RawEvent{}, fmt.Errorf("read raw event %d: %w", id, err)
	}
	return RawEvent{
		ID:             row.ID,
		SourceSystem:   row.SourceSystem,
		SourceEventID:  deref(row.SourceEventID),
		EventType:      row.EventType,
		RepoExternalID: deref(row.RepoExternalID),
		OccurredAt:     row.OccurredAt.Time,
		IngestedAt:     row.IngestedAt.Time,
		DedupeKey:      row.DedupeKey,
		Payload:        payload,
		TransformState: State(row.TransformState),
		TransformError: deref(row.TransformError),
	}, nil
}

// DecodePayload decodes a stored payload, keeping numbers as json.Number
// so that 64-bit ids stay exact and a payload compares equal to the one
// that was stored.
// Payload columns are json on PostgreSQL, which keeps the stored text, so
// hashing a payload read back gives the key it was stored under.
func DecodePayload(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var payload map[string]any
	if err := dec.Decode(&payload); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	return payload, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
