// Package api holds the users service: a small JSON API over an in-memory store. Its routes
// are at its root; through the gateway they are under /users.
//
//	GET  /health
//	GET  /          every user
//	POST /          {name, email} → 201 the user
//	GET  /{id}      one user (404 NOT_FOUND: how other services learn an id is unknown)
//
// Errors are {"error": {"code", "message"}}.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBodyBytes is the largest request body the service reads.
const MaxBodyBytes = 64 << 10

// User is one user.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps the users in memory (a restart empties it); safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	users []User
	byID  map[string]int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byID: map[string]int{}} }

// Add stores a new user and returns it with its id.
func (s *Store) Add(name, email string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	user := User{ID: strconv.Itoa(len(s.users) + 1), Name: name, Email: email, CreatedAt: time.Now().UTC()}
	s.byID[user.ID] = len(s.users)
	s.users = append(s.users, user)
	return user
}

// Get returns the user with id.
func (s *Store) Get(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return User{}, false
	}
	return s.users[i], true
}

// List returns every user, oldest first.
func (s *Store) List() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]User{}, s.users...)
}

// Info describes the running service; GET /health reports it.
type Info struct {
	Service string
	Version string
}

// NewHandler returns the service's routes over store.
func NewHandler(logger *slog.Logger, store *Store, info Info) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": info.Service, "version": info.Version})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, store.List())
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name  string `json:"name"`
			Email string `json:"email"`
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
		req.Name, req.Email = strings.TrimSpace(req.Name), strings.TrimSpace(req.Email)
		if req.Name == "" || len(req.Name) > 200 {
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "name: required, at most 200 characters")
			return
		}
		if address, err := mail.ParseAddress(req.Email); err != nil || address.Address != req.Email {
			writeError(w, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "email: must be an address such as ada@example.com")
			return
		}
		user := store.Add(req.Name, req.Email)
		writeJSON(w, http.StatusCreated, user)
	})
	mux.HandleFunc("GET /{id}", func(w http.ResponseWriter, r *http.Request) {
		user, ok := store.Get(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "no user "+strconv.Quote(r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, user)
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
