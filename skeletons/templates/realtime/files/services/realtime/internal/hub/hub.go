// Package hub fans events out to the subscribers of named channels.
//
// Every channel numbers its events 1, 2, 3, ... and keeps the last few in a ring buffer, so
// a subscriber that reconnects after event n gets what it missed (as long as it is still
// buffered). Publishing never waits for a subscriber: each one has a bounded queue, and a
// subscriber whose queue is full is dropped (its Events channel is closed, Err says why).
package hub

import (
	"errors"
	"sync"
)

// Event is one published message.
type Event struct {
	ID      uint64 // the channel's sequence number, from 1
	Channel string
	Name    string // the event's type; empty for the default ("message")
	Data    string // the payload, one line
}

// Config sizes a Hub; zero fields take the defaults of New.
type Config struct {
	History          int // events kept per channel for replay (100)
	SubscriberBuffer int // events queued for one subscriber before it is dropped (64)
	MaxChannels      int // channels that may exist at once (1000); past it the idlest channel without subscribers is forgotten
}

// Why a subscription ended, or a request was refused.
var (
	ErrClosed          = errors.New("hub closed")
	ErrSlowSubscriber  = errors.New("subscriber dropped: it did not keep up")
	ErrTooManyChannels = errors.New("too many channels")
)

// Hub holds the channels. Use New; a Hub is safe for concurrent use.
type Hub struct {
	mu       sync.Mutex
	cfg      Config
	channels map[string]*channel
	closed   bool
	tick     uint64 // counts uses of channels, to find the idlest
}

type channel struct {
	used    uint64 // h.tick when last subscribed or published to
	seq     uint64
	history []Event // a ring: once full, next is the oldest event
	next    int
	subs    map[*Subscription]struct{}
}

// Subscription is one subscriber of one channel.
type Subscription struct {
	hub     *Hub
	channel string
	events  chan Event
	err     error // why events was closed; guarded by hub.mu
	done    bool  // events is closed; guarded by hub.mu
}

// New returns a hub without channels.
func New(cfg Config) *Hub {
	if cfg.History <= 0 {
		cfg.History = 100
	}
	if cfg.SubscriberBuffer <= 0 {
		cfg.SubscriberBuffer = 64
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = 1000
	}
	return &Hub{cfg: cfg, channels: map[string]*channel{}}
}

// Subscribe starts a subscription to name. With resume, the buffered events after event
// `after` are returned to be sent first (all of them when `after` is ahead of the channel,
// as after a restart of the server); nothing is missed or repeated between them and the
// events that then arrive on the subscription.
func (h *Hub) Subscribe(name string, after uint64, resume bool) (*Subscription, []Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrClosed
	}
	ch, err := h.channel(name)
	if err != nil {
		return nil, nil, err
	}
	var replay []Event
	if resume {
		if after > ch.seq {
			after = 0
		}
		for _, ev := range ch.ordered() {
			if ev.ID > after {
				replay = append(replay, ev)
			}
		}
	}
	sub := &Subscription{hub: h, channel: name, events: make(chan Event, h.cfg.SubscriberBuffer)}
	ch.subs[sub] = struct{}{}
	return sub, replay, nil
}

// Publish numbers an event, keeps it for replay and queues it for every subscriber of the
// channel; it returns the event and how many subscribers it was queued for.
func (h *Hub) Publish(name, event, data string) (Event, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return Event{}, 0, ErrClosed
	}
	ch, err := h.channel(name)
	if err != nil {
		return Event{}, 0, err
	}
	ch.seq++
	ev := Event{ID: ch.seq, Channel: name, Name: event, Data: data}
	if len(ch.history) < h.cfg.History {
		ch.history = append(ch.history, ev)
	} else {
		ch.history[ch.next] = ev
		ch.next = (ch.next + 1) % len(ch.history)
	}
	delivered := 0
	for sub := range ch.subs {
		select {
		case sub.events <- ev:
			delivered++
		default: // its queue is full: drop it rather than wait
			delete(ch.subs, sub)
			sub.end(ErrSlowSubscriber)
		}
	}
	return ev, delivered, nil
}

// Close ends every subscription (their Err is ErrClosed) and refuses new ones and new events.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, ch := range h.channels {
		for sub := range ch.subs {
			sub.end(ErrClosed)
		}
		ch.subs = nil
	}
}

// Stats counts the channels and their subscribers.
func (h *Hub) Stats() (channels, subscribers int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.channels {
		subscribers += len(ch.subs)
	}
	return len(h.channels), subscribers
}

// channel returns the channel name, made when new: at MaxChannels, the least recently used
// channel without subscribers (and its history) makes room. Call with h.mu held.
func (h *Hub) channel(name string) (*channel, error) {
	h.tick++
	if ch, ok := h.channels[name]; ok {
		ch.used = h.tick
		return ch, nil
	}
	if len(h.channels) >= h.cfg.MaxChannels {
		idlest := ""
		for other, ch := range h.channels {
			if len(ch.subs) == 0 && (idlest == "" || ch.used < h.channels[idlest].used) {
				idlest = other
			}
		}
		if idlest == "" {
			return nil, ErrTooManyChannels
		}
		delete(h.channels, idlest)
	}
	ch := &channel{used: h.tick, subs: map[*Subscription]struct{}{}}
	h.channels[name] = ch
	return ch, nil
}

// ordered is the buffered events, oldest first.
func (c *channel) ordered() []Event {
	return append(append([]Event(nil), c.history[c.next:]...), c.history[:c.next]...)
}

// Events delivers the subscription's events; it is closed when the subscription ends.
func (s *Subscription) Events() <-chan Event { return s.events }

// Err says why Events was closed: ErrSlowSubscriber, ErrClosed, or nil (still open, or ended
// by Close).
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription; a channel left without subscribers nor events is forgotten.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if ch, ok := s.hub.channels[s.channel]; ok {
		delete(ch.subs, s)
		if len(ch.subs) == 0 && len(ch.history) == 0 {
			delete(s.hub.channels, s.channel)
		}
	}
	s.end(nil)
}

// end closes events once. Call with hub.mu held.
func (s *Subscription) end(err error) {
	if s.done {
		return
	}
	s.done, s.err = true, err
	close(s.events)
}
