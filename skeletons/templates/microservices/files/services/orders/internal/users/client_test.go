package users

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestExists(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/users/1":
			w.WriteHeader(http.StatusOK)
		case "/users/broken":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer server.Close()
	client := NewClient(server.URL + "/users/") // a base path, as behind a gateway
	ctx := context.Background()

	if ok, err := client.Exists(ctx, "1"); !ok || err != nil {
		t.Errorf("Exists(1) = %v, %v; want true", ok, err)
	}
	if ok, err := client.Exists(ctx, "2"); ok || err != nil {
		t.Errorf("Exists(2) = %v, %v; want false", ok, err)
	}
	if _, err := client.Exists(ctx, "broken"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Exists on a 500: %v, want ErrUnavailable", err)
	}
	server.Close()
	if _, err := client.Exists(ctx, "1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Exists with the service down: %v, want ErrUnavailable", err)
	}
}
