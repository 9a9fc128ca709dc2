package broker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestErrorsOfTheBroker(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/work/enveloped":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"NOT_FOUND","message":"no such item"}}`)
		case "/work/plain":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "overloaded\n")
		default:
			_, _ = io.WriteString(w, "not json")
		}
	}))
	defer server.Close()
	client := NewClient(server.URL+"/", "")
	ctx := context.Background()

	var refused *Error
	if _, err := client.Get(ctx, "enveloped"); !errors.As(err, &refused) || refused.Status != 404 || refused.Code != "NOT_FOUND" {
		t.Errorf("enveloped 404: error = %v, want *Error 404 NOT_FOUND", err)
	}
	if _, err := client.Get(ctx, "plain"); !errors.As(err, &refused) || refused.Status != 503 || refused.Message != "overloaded" {
		t.Errorf("plain 503: error = %v, want *Error 503 with the body as message", err)
	}
	if _, err := client.Get(ctx, "garbled"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("an answer that is not JSON: error = %v, want ErrUnavailable", err)
	}
	server.Close()
	if _, err := client.Submit(ctx, SubmitRequest{Type: "x"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("broker down: error = %v, want ErrUnavailable", err)
	}
}
