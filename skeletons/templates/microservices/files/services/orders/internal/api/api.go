// Package api holds the orders service: a small JSON API over an in-memory store that asks
// the users service whether an order's user exists. Its routes are at its root; through the
// gateway they are under /orders.
//
//	GET  /health
//	GET  /?user_id=   every order (of one user)
//	POST /            {user_id, item, quantity} → 201 the order; 422 when the user is unknown,
//	                  502 when the users service cannot say
//	GET  /{id}        one order
//
// Errors are {"error": {"code", "message"}}.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBodyBytes is the largest request body the service reads.
const MaxBodyBytes = 64 << 10

// Order is one order.
type Order struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Item      string    `json:"item"`
	Quantity  int       `json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
}

// Users is what the service needs of the users service.
type Users interface {
	Exists(ctx context.Context, id string) (bool, error)
}

// Store keeps the orders in memory (a restart empties it); safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	orders []Order
	byID   map[string]int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byID: map[string]int{}} }

// Add stores a new order and returns it with its id.
func (s *Store) Add(userID, item string, quantity int) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := Order{ID: strconv.Itoa(len(s.orders) + 1), UserID: userID, Item: item, Quantity: quantity, CreatedAt: time.Now().UTC()}
	s.byID[order.ID] = len(s.orders)
	s.orders = append(s.orders, order)
	return order
}

// Get returns the order with id.
func (s *Store) Get(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return Order{}, false
	}
	return s.orders[i], true
}

// List returns the orders of userID (every order when it is empty), oldest first.
func (s *Store) List(userID string) []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := []Order{}
	for _, order := range s.orders {
		if userID == "" || order.UserID == userID {
			found = append(found, order)
		}
	}
	return found
}

// Info describes the running service; GET /health reports it.
type Info struct {
	Service string
	Version string
}

// NewHandler returns the service's routes over store, checking users with users.
func NewHandler(logger *slog.Logger, store *Store, users Users, info Info) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": info.Service, "version": info.Version})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, store.List(r.URL.Query().Get("user_id")))
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			UserID   string `json:"user_id"`
			Item     string `json:"item"`
			Quantity int    `json:"quantity"`
		}
		err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes)).Decode(&req)
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is larger than 64 KiB")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "invalid request body")
			return
		}
		req.UserID, req.Item = strings.TrimSpace(req.UserID), strings.TrimSpace(req.Item)
		if req.Quantity == 0 {
			req.Quantity = 1
		}
		switch {
		case req.UserID == "" || len(req.UserID) > 100:
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "user_id: required, at most 100 characters")
			return
		case req.Item == "" || len(req.Item) > 200:
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "item: required, at most 200 characters")
			return
		case req.Quantity < 1 || req.Quantity > 1000:
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "quantity: must be between 1 and 1000")
			return
		}
		exists, err := users.Exists(r.Context(), req.UserID)
		if err != nil {
			logger.Warn("cannot check the user", "user_id", req.UserID, "error", err)
			writeError(w, http.StatusBadGateway, "BAD_GATEWAY", "the users service is unavailable")
			return
		}
		if !exists {
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "user_id: unknown user "+strconv.Quote(req.UserID))
			return
		}
		writeJSON(w, http.StatusCreated, store.Add(req.UserID, req.Item, req.Quantity))
	})
	mux.HandleFunc("GET /{id}", func(w http.ResponseWriter, r *http.Request) {
		order, ok := store.Get(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "no order "+strconv.Quote(r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, order)
	})
	return logRequests(logger, mux)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]map[string]string{"error": {"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Encoding these plain values cannot fail; a write error means the client has gone.
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
		)
	})
}
