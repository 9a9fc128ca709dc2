// Package queue is the broker's state: an in-memory work queue with priorities, leases,
// retries with exponential backoff and dead items, the semantics of rdev's work queue.
//
// A Queue is safe for concurrent use. Every operation runs under one lock, so a claim is
// atomic and no item is ever held by two workers at once. Leases are checked lazily: every
// operation first puts the items whose lease has expired back in the queue (or marks them
// dead when they have used all their attempts), so what a caller sees is always current.
package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Status is where an item is in its life: queued → running → succeeded, or back to queued
// (a retryable failure, an expired lease), failed (a failure that must not be retried) or
// dead (every attempt used).
type Status string

const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusDead      Status = "dead"
)

// Statuses lists every status in life order.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusDead}

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, bool) {
	for _, status := range Statuses {
		if string(status) == s {
			return status, true
		}
	}
	return "", false
}

func (s Status) finished() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusDead
}

// Item is one unit of work, as the HTTP API shows it.
type Item struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Payload        json.RawMessage `json:"payload"`
	Status         Status          `json:"status"`
	Priority       int             `json:"priority"`
	Attempts       int             `json:"attempts"`
	MaxAttempts    int             `json:"max_attempts"`
	RunAfter       time.Time       `json:"run_after"`
	LeaseExpiresAt *time.Time      `json:"lease_expires_at"`
	WorkerID       string          `json:"worker_id,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`

	seq   uint64        // submission order: the tie-breaker after priority
	lease time.Duration // the lease of the current claim, renewed by heartbeats
}

// Kinds of error the API maps to status codes: test with errors.Is; the error's message
// says what happened.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// kindError is an error of a kind (ErrNotFound, ErrConflict) with its own message.
type kindError struct {
	kind    error
	message string
}

func (e *kindError) Error() string { return e.message }
func (e *kindError) Unwrap() error { return e.kind }

func failure(kind error, format string, args ...any) error {
	return &kindError{kind: kind, message: fmt.Sprintf(format, args...)}
}

// ValidationError names the request field that broke a rule.
type ValidationError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Limits of the values a request may give.
const (
	MaxPriority    = 1_000_000
	MaxMaxAttempts = 100
	MaxTypes       = 50
)

var typePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// Config tunes a Queue; zero fields take the defaults of New.
type Config struct {
	DefaultMaxAttempts int           // attempts of an item that does not say (3)
	DefaultLease       time.Duration // lease of a claim that does not say (60s)
	MaxLease           time.Duration // the longest lease a worker may ask for (1h)
	BackoffBase        time.Duration // delay before the second attempt (1s), doubled after each
	BackoffMax         time.Duration // the longest delay between attempts (5m)
	Retention          time.Duration // finished items are forgotten this long after they finish (1h)

	Now    func() time.Time                  // the clock (time.Now)
	Jitter func(time.Duration) time.Duration // spreads a backoff delay (between half and all of it)
}

// Queue holds the items. Use New.
type Queue struct {
	mu        sync.Mutex
	cfg       Config
	items     map[string]*Item
	byStatus  map[Status]map[string]*Item
	seq       uint64
	lastPrune time.Time
}

// New returns an empty queue.
func New(cfg Config) *Queue {
	if cfg.DefaultMaxAttempts <= 0 {
		cfg.DefaultMaxAttempts = 3
	}
	if cfg.DefaultLease <= 0 {
		cfg.DefaultLease = time.Minute
	}
	if cfg.MaxLease <= 0 {
		cfg.MaxLease = time.Hour
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.Retention <= 0 {
		cfg.Retention = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration {
			half := d / 2
			return half + rand.N(half+1)
		}
	}
	q := &Queue{cfg: cfg, items: map[string]*Item{}, byStatus: map[Status]map[string]*Item{}}
	for _, status := range Statuses {
		q.byStatus[status] = map[string]*Item{}
	}
	return q
}

// SubmitRequest is the body of POST /work.
type SubmitRequest struct {
	Type        string          `json:"type"`
	Payload     json.RawMessage `json:"payload"`
	Priority    int             `json:"priority"`
	MaxAttempts int             `json:"max_attempts"`
}

// Submit queues a new item.
func (q *Queue) Submit(req SubmitRequest) (Item, error) {
	if !typePattern.MatchString(req.Type) {
		return Item{}, &ValidationError{"type", "must be 1-100 letters, digits or . _ : - (starting with a letter or digit)"}
	}
	if req.Priority < -MaxPriority || req.Priority > MaxPriority {
		return Item{}, &ValidationError{"priority", fmt.Sprintf("must be between %d and %d", -MaxPriority, MaxPriority)}
	}
	if req.MaxAttempts < 0 || req.MaxAttempts > MaxMaxAttempts {
		return Item{}, &ValidationError{"max_attempts", fmt.Sprintf("must be between 1 and %d", MaxMaxAttempts)}
	}
	payload := req.Payload
	if len(payload) == 0 {
		payload = json.RawMessage(`{}`)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.maintain()
	q.seq++
	item := &Item{
		ID:          "w" + strconv.FormatUint(q.seq, 10),
		Type:        req.Type,
		Payload:     payload,
		Status:      StatusQueued,
		Priority:    req.Priority,
		MaxAttempts: req.MaxAttempts,
		RunAfter:    now,
		CreatedAt:   now,
		UpdatedAt:   now,
		seq:         q.seq,
	}
	if item.MaxAttempts == 0 {
		item.MaxAttempts = q.cfg.DefaultMaxAttempts
	}
	q.items[item.ID] = item
	q.byStatus[StatusQueued][item.ID] = item
	return item.view(), nil
}

// Get returns the item with id.
func (q *Queue) Get(id string) (Item, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maintain()
	item, ok := q.items[id]
	if !ok {
		return Item{}, failure(ErrNotFound, "no work item %q", id)
	}
	return item.view(), nil
}

// Filter selects the items List returns; zero fields select everything.
type Filter struct {
	Status Status
	Type   string
	Limit  int
}

// List returns the items that match f, oldest first.
func (q *Queue) List(f Filter) []Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maintain()
	pool := q.items
	if f.Status != "" {
		pool = q.byStatus[f.Status]
	}
	found := make([]*Item, 0, len(pool))
	for _, item := range pool {
		if f.Type == "" || item.Type == f.Type {
			found = append(found, item)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].seq < found[j].seq })
	if f.Limit > 0 && len(found) > f.Limit {
		found = found[:f.Limit]
	}
	items := make([]Item, len(found))
	for i, item := range found {
		items[i] = item.view()
	}
	return items
}

// Stats counts the items by status.
func (q *Queue) Stats() map[Status]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maintain()
	counts := make(map[Status]int, len(Statuses))
	for _, status := range Statuses {
		counts[status] = len(q.byStatus[status])
	}
	return counts
}

// ClaimRequest is the body of POST /work/claim; Types empty claims any type.
type ClaimRequest struct {
	WorkerID string   `json:"worker_id"`
	Types    []string `json:"types"`
	LeaseS   float64  `json:"lease_s"`
}

// Claim hands the best queued item (highest priority, then oldest) whose type is one of
// req.Types and whose backoff has passed to worker req.WorkerID for a lease. ok is false
// when there is none.
func (q *Queue) Claim(req ClaimRequest) (item Item, ok bool, err error) {
	if err := validateWorker(req.WorkerID); err != nil {
		return Item{}, false, err
	}
	if len(req.Types) > MaxTypes {
		return Item{}, false, &ValidationError{"types", fmt.Sprintf("at most %d types", MaxTypes)}
	}
	lease, err := q.lease(req.LeaseS)
	if err != nil {
		return Item{}, false, err
	}
	wanted := make(map[string]bool, len(req.Types))
	for _, t := range req.Types {
		wanted[t] = true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.maintain()
	var best *Item
	for _, candidate := range q.byStatus[StatusQueued] {
		if candidate.RunAfter.After(now) || (len(wanted) > 0 && !wanted[candidate.Type]) {
			continue
		}
		if best == nil || candidate.Priority > best.Priority ||
			(candidate.Priority == best.Priority && candidate.seq < best.seq) {
			best = candidate
		}
	}
	if best == nil {
		return Item{}, false, nil
	}
	best.Attempts++
	best.WorkerID = req.WorkerID
	best.lease = lease
	expires := now.Add(lease)
	best.LeaseExpiresAt = &expires
	q.move(best, StatusRunning, now)
	return best.view(), true, nil
}

// Heartbeat renews the lease of a running item (for leaseS seconds, or the lease it was
// claimed with when leaseS is 0).
func (q *Queue) Heartbeat(id, workerID string, leaseS float64) (Item, error) {
	var lease time.Duration
	if leaseS != 0 {
		var err error
		if lease, err = q.lease(leaseS); err != nil {
			return Item{}, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.maintain()
	item, err := q.held(id, workerID)
	if err != nil {
		return Item{}, err
	}
	if lease == 0 {
		lease = item.lease
	}
	item.lease = lease
	expires := now.Add(lease)
	item.LeaseExpiresAt = &expires
	item.UpdatedAt = now
	return item.view(), nil
}

// Complete marks a running item succeeded with its result.
func (q *Queue) Complete(id, workerID string, result json.RawMessage) (Item, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.maintain()
	item, err := q.held(id, workerID)
	if err != nil {
		return Item{}, err
	}
	if len(result) == 0 {
		result = json.RawMessage(`null`)
	}
	item.Result = result
	item.LeaseExpiresAt = nil
	q.move(item, StatusSucceeded, now)
	return item.view(), nil
}

// Fail records a failed attempt. A retryable failure goes back to the queue after an
// exponential backoff, or is dead once every attempt is used; any other failure is final.
func (q *Queue) Fail(id, workerID, message string, retryable bool) (Item, error) {
	if message == "" {
		message = "failed"
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.maintain()
	item, err := q.held(id, workerID)
	if err != nil {
		return Item{}, err
	}
	item.LastError = message
	item.LeaseExpiresAt = nil
	switch {
	case !retryable:
		q.move(item, StatusFailed, now)
	case item.Attempts >= item.MaxAttempts:
		q.move(item, StatusDead, now)
	default:
		item.RunAfter = now.Add(q.backoff(item.Attempts))
		item.WorkerID = ""
		q.move(item, StatusQueued, now)
	}
	return item.view(), nil
}

// backoff is the delay after failed attempt n (1-based): BackoffBase doubled n-1 times,
// at most BackoffMax, spread by Jitter.
func (q *Queue) backoff(n int) time.Duration {
	delay := q.cfg.BackoffBase
	for i := 1; i < n && delay < q.cfg.BackoffMax; i++ {
		delay *= 2
	}
	return q.cfg.Jitter(min(delay, q.cfg.BackoffMax))
}

func (q *Queue) lease(seconds float64) (time.Duration, error) {
	if seconds == 0 {
		return q.cfg.DefaultLease, nil
	}
	lease := time.Duration(seconds * float64(time.Second))
	if seconds < 0 || lease < time.Second || lease > q.cfg.MaxLease {
		return 0, &ValidationError{"lease_s", fmt.Sprintf("must be between 1 and %g seconds", q.cfg.MaxLease.Seconds())}
	}
	return lease, nil
}

func validateWorker(id string) error {
	if id == "" || len(id) > 200 {
		return &ValidationError{"worker_id", "must be 1-200 characters"}
	}
	return nil
}

// held is the running item id, checked against the worker that holds it (when workerID is
// given). Call with q.mu held.
func (q *Queue) held(id, workerID string) (*Item, error) {
	item, ok := q.items[id]
	if !ok {
		return nil, failure(ErrNotFound, "no work item %q", id)
	}
	if item.Status != StatusRunning {
		return nil, failure(ErrConflict, "work item %q is %s, not running (its lease may have expired)", id, item.Status)
	}
	if workerID != "" && workerID != item.WorkerID {
		return nil, failure(ErrConflict, "work item %q is held by another worker", id)
	}
	return item, nil
}

// move changes item's status and keeps the index by status. Call with q.mu held.
func (q *Queue) move(item *Item, to Status, now time.Time) {
	delete(q.byStatus[item.Status], item.ID)
	item.Status = to
	item.UpdatedAt = now
	q.byStatus[to][item.ID] = item
}

// maintain returns the current time after putting back items whose lease expired and
// forgetting items that finished longer than Retention ago. Call with q.mu held.
func (q *Queue) maintain() time.Time {
	now := q.cfg.Now()
	for _, item := range q.byStatus[StatusRunning] {
		if item.LeaseExpiresAt == nil || item.LeaseExpiresAt.After(now) {
			continue
		}
		item.LeaseExpiresAt = nil
		item.LastError = "lease expired"
		if item.Attempts >= item.MaxAttempts {
			q.move(item, StatusDead, now)
			continue
		}
		item.WorkerID = ""
		item.RunAfter = now
		q.move(item, StatusQueued, now)
	}
	if now.Sub(q.lastPrune) >= q.cfg.Retention/60 {
		q.lastPrune = now
		for _, status := range Statuses {
			if !status.finished() {
				continue
			}
			for id, item := range q.byStatus[status] {
				if now.Sub(item.UpdatedAt) > q.cfg.Retention {
					delete(q.byStatus[status], id)
					delete(q.items, id)
				}
			}
		}
	}
	return now
}

// view is a copy of the item that callers may keep.
func (i *Item) view() Item {
	v := *i
	if i.LeaseExpiresAt != nil {
		t := *i.LeaseExpiresAt
		v.LeaseExpiresAt = &t
	}
	return v
}
