package hub

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func ids(events []Event) string {
	out := make([]uint64, len(events))
	for i, ev := range events {
		out[i] = ev.ID
	}
	return fmt.Sprint(out)
}

func subscribe(t *testing.T, h *Hub, name string, after uint64, resume bool) (*Subscription, []Event) {
	t.Helper()
	sub, replay, err := h.Subscribe(name, after, resume)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", name, err)
	}
	t.Cleanup(sub.Close)
	return sub, replay
}

func publish(t *testing.T, h *Hub, name, data string) (Event, int) {
	t.Helper()
	ev, n, err := h.Publish(name, "", data)
	if err != nil {
		t.Fatalf("Publish(%q): %v", name, err)
	}
	return ev, n
}

func receive(t *testing.T, sub *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return ev
	case <-time.After(2 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

func TestFanOut(t *testing.T) {
	h := New(Config{})
	a, _ := subscribe(t, h, "news", 0, false)
	b, _ := subscribe(t, h, "news", 0, false)
	other, _ := subscribe(t, h, "sport", 0, false)

	ev, delivered := publish(t, h, "news", `{"n":1}`)
	if ev.ID != 1 || delivered != 2 {
		t.Fatalf("Publish = %+v to %d subscribers, want id 1 to 2", ev, delivered)
	}
	for _, sub := range []*Subscription{a, b} {
		if got := receive(t, sub); got != ev {
			t.Errorf("received %+v, want %+v", got, ev)
		}
	}
	select {
	case ev := <-other.Events():
		t.Errorf("a subscriber of another channel received %+v", ev)
	default:
	}
	if ev, _ := publish(t, h, "sport", "1"); ev.ID != 1 {
		t.Errorf("the first event of another channel has id %d, want 1 (ids are per channel)", ev.ID)
	}
}

func TestReplayFromTheRingBuffer(t *testing.T) {
	h := New(Config{History: 3})
	for i := 1; i <= 5; i++ {
		publish(t, h, "c", fmt.Sprint(i))
	}
	tests := []struct {
		after  uint64
		resume bool
		want   string
	}{
		{0, false, "[]"},      // a new subscriber gets only new events
		{0, true, "[3 4 5]"},  // everything still buffered
		{3, true, "[4 5]"},    // what it missed
		{5, true, "[]"},       // nothing missed
		{1, true, "[3 4 5]"},  // older than the buffer: what is left
		{99, true, "[3 4 5]"}, // ahead of the channel (the server restarted): all of it
	}
	for _, tt := range tests {
		_, replay := subscribe(t, h, "c", tt.after, tt.resume)
		if got := ids(replay); got != tt.want {
			t.Errorf("Subscribe(after %d, resume %v) replays %s, want %s", tt.after, tt.resume, got, tt.want)
		}
	}
}

func TestNothingLostBetweenReplayAndLive(t *testing.T) {
	h := New(Config{})
	publish(t, h, "c", "1")
	sub, replay := subscribe(t, h, "c", 0, true)
	publish(t, h, "c", "2")
	if got := ids(append(replay, receive(t, sub))); got != "[1 2]" {
		t.Errorf("replay then live = %s, want [1 2]", got)
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	h := New(Config{SubscriberBuffer: 2})
	slow, _ := subscribe(t, h, "c", 0, false)
	fast, _ := subscribe(t, h, "c", 0, false)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3; i++ {
			if _, _, err := h.Publish("c", "", fmt.Sprint(i)); err != nil {
				t.Errorf("Publish: %v", err)
			}
			<-fast.Events()
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("a publisher waited for a slow subscriber")
	}
	var got []Event
	for ev := range slow.Events() { // closed once dropped
		got = append(got, ev)
	}
	if ids(got) != "[1 2]" || !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Errorf("the slow subscriber got %s and Err %v, want [1 2] then ErrSlowSubscriber", ids(got), slow.Err())
	}
	if _, subscribers := h.Stats(); subscribers != 1 {
		t.Errorf("subscribers = %d, want 1 after the drop", subscribers)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	h := New(Config{})
	sub, _ := subscribe(t, h, "c", 0, false)
	h.Close()
	if _, ok := <-sub.Events(); ok || !errors.Is(sub.Err(), ErrClosed) {
		t.Errorf("after Close: open=%v Err=%v, want closed with ErrClosed", ok, sub.Err())
	}
	if _, _, err := h.Subscribe("c", 0, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if _, _, err := h.Publish("c", "", "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	sub.Close() // still safe
}

func TestChannelLimit(t *testing.T) {
	h := New(Config{MaxChannels: 2})
	subscribe(t, h, "a", 0, false)
	publish(t, h, "b", "1")
	publish(t, h, "c", "1") // b has no subscriber: forgotten to make room
	if channels, _ := h.Stats(); channels != 2 {
		t.Errorf("channels = %d, want 2", channels)
	}
	_, replay := subscribe(t, h, "c", 0, true)
	if ids(replay) != "[1]" {
		t.Errorf("replay of c = %s, want [1]", ids(replay))
	}
	if _, _, err := h.Publish("d", "", "1"); !errors.Is(err, ErrTooManyChannels) {
		t.Errorf("Publish to a third channel while both have subscribers: %v, want ErrTooManyChannels", err)
	}
}
