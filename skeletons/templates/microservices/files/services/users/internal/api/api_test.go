package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), NewStore(), Info{Service: "users", Version: "test"}))
	t.Cleanup(server.Close)
	return server
}

func call(t *testing.T, method, target, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, target, resp.Header.Get("Content-Type"))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: the answer is not JSON: %v", method, target, err)
		}
	}
	return resp.StatusCode
}

func TestCreateGetList(t *testing.T) {
	server := newServer(t)
	var ada User
	if code := call(t, "POST", server.URL+"/", `{"name":" Ada Lovelace ","email":"ada@example.com"}`, &ada); code != http.StatusCreated {
		t.Fatalf("POST / = %d, want 201", code)
	}
	if ada.ID != "1" || ada.Name != "Ada Lovelace" || ada.CreatedAt.IsZero() {
		t.Errorf("created %+v", ada)
	}
	var got User
	if code := call(t, "GET", server.URL+"/1", "", &got); code != http.StatusOK || got != ada {
		t.Errorf("GET /1 = %d %+v, want %+v", code, got, ada)
	}
	call(t, "POST", server.URL+"/", `{"name":"Grace","email":"grace@example.com"}`, nil)
	var all []User
	if code := call(t, "GET", server.URL+"/", "", &all); code != http.StatusOK || len(all) != 2 || all[1].Name != "Grace" {
		t.Errorf("GET / = %d %+v, want both users in order", code, all)
	}
}

func TestErrors(t *testing.T) {
	server := newServer(t)
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/42", "", http.StatusNotFound, "NOT_FOUND"},
		{"POST", "/", `{"name":`, http.StatusBadRequest, "BAD_REQUEST"},
		{"POST", "/", `{"email":"ada@example.com"}`, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
		{"POST", "/", `{"name":"Ada","email":"not an address"}`, http.StatusUnprocessableEntity, "VALIDATION_FAILED"},
		{"POST", "/", `{"name":"Ada","email":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	}
	for _, tt := range tests {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if status := call(t, tt.method, server.URL+tt.path, tt.body, &body); status != tt.status || body.Error.Code != tt.code {
			t.Errorf("%s %s = %d %+v, want %d %s", tt.method, tt.path, status, body.Error, tt.status, tt.code)
		}
	}
}
