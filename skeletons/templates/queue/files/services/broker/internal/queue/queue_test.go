package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a fake time source tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newQueue(t *testing.T) (*Queue, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	q := New(Config{
		BackoffBase: time.Second,
		BackoffMax:  10 * time.Second,
		Now:         c.Now,
		Jitter:      func(d time.Duration) time.Duration { return d }, // no randomness in tests
	})
	return q, c
}

func submit(t *testing.T, q *Queue, req SubmitRequest) Item {
	t.Helper()
	item, err := q.Submit(req)
	if err != nil {
		t.Fatalf("Submit(%+v): %v", req, err)
	}
	return item
}

func claim(t *testing.T, q *Queue, worker string, types ...string) (Item, bool) {
	t.Helper()
	item, ok, err := q.Claim(ClaimRequest{WorkerID: worker, Types: types})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return item, ok
}

func TestSubmitDefaults(t *testing.T) {
	q, c := newQueue(t)
	item := submit(t, q, SubmitRequest{Type: "email"})
	if item.Status != StatusQueued || item.MaxAttempts != 3 || item.Attempts != 0 {
		t.Errorf("item = %+v, want queued with max_attempts 3 and no attempt", item)
	}
	if string(item.Payload) != "{}" {
		t.Errorf("payload = %s, want {}", item.Payload)
	}
	if !item.CreatedAt.Equal(c.Now()) || !item.RunAfter.Equal(c.Now()) {
		t.Errorf("created_at = %v, run_after = %v, want both %v", item.CreatedAt, item.RunAfter, c.Now())
	}
	got, err := q.Get(item.ID)
	if err != nil || got.ID != item.ID {
		t.Fatalf("Get(%q) = %+v, %v", item.ID, got, err)
	}
	if _, err := q.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope) error = %v, want ErrNotFound", err)
	}
}

func TestSubmitValidation(t *testing.T) {
	q, _ := newQueue(t)
	tests := []struct {
		req   SubmitRequest
		field string
	}{
		{SubmitRequest{Type: ""}, "type"},
		{SubmitRequest{Type: "has space"}, "type"},
		{SubmitRequest{Type: "ok", Priority: MaxPriority + 1}, "priority"},
		{SubmitRequest{Type: "ok", MaxAttempts: -1}, "max_attempts"},
		{SubmitRequest{Type: "ok", MaxAttempts: MaxMaxAttempts + 1}, "max_attempts"},
	}
	for _, tt := range tests {
		_, err := q.Submit(tt.req)
		var invalid *ValidationError
		if !errors.As(err, &invalid) || invalid.Field != tt.field {
			t.Errorf("Submit(%+v) error = %v, want a validation error on %s", tt.req, err, tt.field)
		}
	}
}

func TestClaimOrderAndTypes(t *testing.T) {
	q, _ := newQueue(t)
	low := submit(t, q, SubmitRequest{Type: "a", Priority: 0})
	high := submit(t, q, SubmitRequest{Type: "a", Priority: 5})
	other := submit(t, q, SubmitRequest{Type: "b", Priority: 9})
	lowToo := submit(t, q, SubmitRequest{Type: "a", Priority: 0})

	var order []string
	for {
		item, ok := claim(t, q, "w1", "a")
		if !ok {
			break
		}
		if item.Status != StatusRunning || item.WorkerID != "w1" || item.Attempts != 1 || item.LeaseExpiresAt == nil {
			t.Errorf("claimed %+v, want running, held by w1, attempt 1, with a lease", item)
		}
		order = append(order, item.ID)
	}
	want := []string{high.ID, low.ID, lowToo.ID}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("claim order = %v, want %v (priority first, then oldest)", order, want)
	}
	if item, ok := claim(t, q, "w2"); !ok || item.ID != other.ID {
		t.Errorf("claim with no types = %+v, %v; want %s", item, ok, other.ID)
	}
	if _, ok := claim(t, q, "w2"); ok {
		t.Error("claimed from an empty queue")
	}
}

func TestClaimValidation(t *testing.T) {
	q, _ := newQueue(t)
	invalid := []ClaimRequest{
		{WorkerID: ""},
		{WorkerID: "w", LeaseS: 0.5},
		{WorkerID: "w", LeaseS: 1e9},
	}
	for _, req := range invalid {
		var verr *ValidationError
		if _, _, err := q.Claim(req); !errors.As(err, &verr) {
			t.Errorf("Claim(%+v) error = %v, want a validation error", req, err)
		}
	}
}

func TestCompleteAndWrongWorker(t *testing.T) {
	q, _ := newQueue(t)
	item := submit(t, q, SubmitRequest{Type: "a"})
	claim(t, q, "w1")
	if _, err := q.Complete(item.ID, "w2", nil); !errors.Is(err, ErrConflict) {
		t.Errorf("Complete by another worker: error = %v, want ErrConflict", err)
	}
	done, err := q.Complete(item.ID, "w1", json.RawMessage(`{"ok":true}`))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if done.Status != StatusSucceeded || string(done.Result) != `{"ok":true}` || done.LeaseExpiresAt != nil {
		t.Errorf("completed item = %+v, want succeeded with its result and no lease", done)
	}
	if _, err := q.Complete(item.ID, "w1", nil); !errors.Is(err, ErrConflict) {
		t.Errorf("Complete twice: error = %v, want ErrConflict", err)
	}
	if _, err := q.Heartbeat("nope", "w1", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Heartbeat(nope): error = %v, want ErrNotFound", err)
	}
}

func TestLeaseExpiryRequeuesThenKills(t *testing.T) {
	q, c := newQueue(t)
	item := submit(t, q, SubmitRequest{Type: "a", MaxAttempts: 2})
	if _, _, err := q.Claim(ClaimRequest{WorkerID: "w1", LeaseS: 10}); err != nil {
		t.Fatal(err)
	}
	c.Advance(9 * time.Second)
	if _, err := q.Heartbeat(item.ID, "w1", 0); err != nil { // renews for another 10s
		t.Fatalf("Heartbeat: %v", err)
	}
	c.Advance(9 * time.Second)
	if got, _ := q.Get(item.ID); got.Status != StatusRunning {
		t.Fatalf("status after a heartbeat = %s, want running", got.Status)
	}
	c.Advance(2 * time.Second)
	got, _ := q.Get(item.ID)
	if got.Status != StatusQueued || got.WorkerID != "" || got.LastError != "lease expired" {
		t.Fatalf("after the lease expired: %+v, want queued again", got)
	}
	if _, err := q.Complete(item.ID, "w1", nil); !errors.Is(err, ErrConflict) {
		t.Errorf("Complete after the lease expired: error = %v, want ErrConflict", err)
	}
	if again, ok := claim(t, q, "w2"); !ok || again.ID != item.ID || again.Attempts != 2 {
		t.Fatalf("second claim = %+v, %v; want the same item at attempt 2", again, ok)
	}
	c.Advance(2 * time.Minute)
	if got, _ := q.Get(item.ID); got.Status != StatusDead {
		t.Errorf("status after the last lease expired = %s, want dead", got.Status)
	}
}

func TestRetryableFailuresBackOffThenDie(t *testing.T) {
	q, c := newQueue(t)
	item := submit(t, q, SubmitRequest{Type: "a", MaxAttempts: 3})
	for attempt, wantDelay := range []time.Duration{time.Second, 2 * time.Second} {
		claim(t, q, "w1")
		failed, err := q.Fail(item.ID, "w1", "boom", true)
		if err != nil {
			t.Fatalf("Fail: %v", err)
		}
		if failed.Status != StatusQueued || failed.LastError != "boom" {
			t.Fatalf("after retryable failure %d: %+v, want queued with last_error", attempt+1, failed)
		}
		if delay := failed.RunAfter.Sub(c.Now()); delay != wantDelay {
			t.Errorf("backoff after attempt %d = %v, want %v", attempt+1, delay, wantDelay)
		}
		if _, ok := claim(t, q, "w1"); ok {
			t.Fatal("claimed an item before its backoff passed")
		}
		c.Advance(wantDelay)
	}
	claim(t, q, "w1")
	dead, err := q.Fail(item.ID, "w1", "boom", true)
	if err != nil || dead.Status != StatusDead || dead.Attempts != 3 {
		t.Fatalf("after the last attempt: %+v, %v; want dead after 3 attempts", dead, err)
	}
}

func TestBackoffIsCapped(t *testing.T) {
	q, _ := newQueue(t)
	if got := q.backoff(20); got != 10*time.Second {
		t.Errorf("backoff(20) = %v, want the 10s cap", got)
	}
}

func TestNonRetryableFailureIsFinal(t *testing.T) {
	q, _ := newQueue(t)
	item := submit(t, q, SubmitRequest{Type: "a"})
	claim(t, q, "w1")
	failed, err := q.Fail(item.ID, "", "bad input", false)
	if err != nil || failed.Status != StatusFailed || failed.LastError != "bad input" {
		t.Fatalf("Fail(retryable=false) = %+v, %v; want failed", failed, err)
	}
}

func TestListStatsAndRetention(t *testing.T) {
	q, c := newQueue(t)
	a := submit(t, q, SubmitRequest{Type: "a"})
	submit(t, q, SubmitRequest{Type: "b"})
	submit(t, q, SubmitRequest{Type: "a"})
	claim(t, q, "w1", "a")
	if _, err := q.Complete(a.ID, "w1", nil); err != nil {
		t.Fatal(err)
	}
	if got := q.List(Filter{Status: StatusQueued}); len(got) != 2 {
		t.Errorf("queued items = %d, want 2", len(got))
	}
	if got := q.List(Filter{Type: "a", Limit: 1}); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("List(type a, limit 1) = %+v, want only %s", got, a.ID)
	}
	stats := q.Stats()
	if stats[StatusQueued] != 2 || stats[StatusSucceeded] != 1 || stats[StatusRunning] != 0 {
		t.Errorf("stats = %v", stats)
	}
	c.Advance(2 * time.Hour) // past the default retention of finished items
	if _, err := q.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a finished item is kept past its retention: %v", err)
	}
	if got := q.List(Filter{}); len(got) != 2 {
		t.Errorf("items after retention = %d, want the 2 queued ones", len(got))
	}
}

func TestConcurrentClaimsNeverShareAnItem(t *testing.T) {
	q, _ := newQueue(t)
	const items, workers = 500, 8
	for i := 0; i < items; i++ {
		submit(t, q, SubmitRequest{Type: "a"})
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for {
				item, ok, err := q.Claim(ClaimRequest{WorkerID: worker})
				if err != nil || !ok {
					return
				}
				mu.Lock()
				if other, dup := seen[item.ID]; dup {
					t.Errorf("%s claimed by %s and %s", item.ID, other, worker)
				}
				seen[item.ID] = worker
				mu.Unlock()
				if _, err := q.Complete(item.ID, worker, nil); err != nil {
					t.Errorf("Complete: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != items {
		t.Errorf("claimed %d distinct items, want %d", len(seen), items)
	}
}
