package proxy

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// echo is a backend that answers what it received.
func echo(t *testing.T, name string) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		w.WriteHeader(http.StatusTeapot)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"backend": name,
			"method":  r.Method,
			"path":    r.URL.Path,
			"query":   r.URL.RawQuery,
			"body":    string(body),
			"prefix":  r.Header.Get("X-Forwarded-Prefix"),
			"for":     r.Header.Get("X-Forwarded-For"),
		})
	}))
	t.Cleanup(server.Close)
	return server
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func gateway(t *testing.T, routes map[string]*url.URL) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(New(slog.New(slog.NewTextHandler(io.Discard, nil)), routes, Info{Service: "gateway", Version: "test"}))
	t.Cleanup(server.Close)
	return server
}

func send(t *testing.T, method, target, body string) (*http.Response, map[string]string) {
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
	var out map[string]string
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		// error envelopes nest: flatten {"error": {...}} into code and message
		var envelope struct {
			Error map[string]string `json:"error"`
		}
		if json.Unmarshal(data, &envelope) != nil {
			t.Fatalf("%s %s: the answer is not JSON: %q", method, target, data)
		}
		out = envelope.Error
	}
	return resp, out
}

func TestRoutesToTheServices(t *testing.T) {
	users, orders := echo(t, "users"), echo(t, "orders")
	gw := gateway(t, map[string]*url.URL{
		"users":  mustParse(t, users.URL),
		"orders": mustParse(t, orders.URL+"/v1"), // a base path is kept in front of the rest
	})
	tests := []struct {
		method, path, body string
		backend, wantPath  string
		wantQuery          string
	}{
		{"GET", "/users/42", "", "users", "/42", ""},
		{"GET", "/users", "", "users", "/", ""},
		{"GET", "/users/", "", "users", "/", ""},
		{"POST", "/users/?dry_run=1", `{"name":"ada"}`, "users", "/", "dry_run=1"},
		{"DELETE", "/orders/7/items/a%2Fb", "", "orders", "/v1/7/items/a/b", ""},
	}
	for _, tt := range tests {
		resp, got := send(t, tt.method, gw.URL+tt.path, tt.body)
		if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Backend") != tt.backend {
			t.Errorf("%s %s = %d from %q, want the backend's 418 from %s", tt.method, tt.path, resp.StatusCode, resp.Header.Get("X-Backend"), tt.backend)
			continue
		}
		if got["path"] != tt.wantPath || got["query"] != tt.wantQuery || got["method"] != tt.method || got["body"] != tt.body {
			t.Errorf("%s %s reached %s as %v, want path %s query %q", tt.method, tt.path, tt.backend, got, tt.wantPath, tt.wantQuery)
		}
		if got["prefix"] != "/"+tt.backend || got["for"] == "" {
			t.Errorf("%s %s: X-Forwarded-Prefix %q, X-Forwarded-For %q", tt.method, tt.path, got["prefix"], got["for"])
		}
	}
}

func TestBackendDownIs502JSON(t *testing.T) {
	down := echo(t, "users")
	gw := gateway(t, map[string]*url.URL{"users": mustParse(t, down.URL)})
	down.Close()
	resp, got := send(t, "GET", gw.URL+"/users/1", "")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /users/1 with users down = %d %s, want 502 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got["code"] != "BAD_GATEWAY" || !strings.Contains(got["message"], "users") {
		t.Errorf("error = %v, want BAD_GATEWAY naming users", got)
	}
}

func TestGatewayOwnRoutes(t *testing.T) {
	gw := gateway(t, map[string]*url.URL{"users": mustParse(t, "http://127.0.0.1:1"), "orders": mustParse(t, "http://127.0.0.1:1")})
	resp, got := send(t, "GET", gw.URL+"/nope/1", "")
	if resp.StatusCode != http.StatusNotFound || got["code"] != "NOT_FOUND" {
		t.Errorf("GET /nope/1 = %d %v, want 404 NOT_FOUND", resp.StatusCode, got)
	}
	resp, got = send(t, "GET", gw.URL+"/health", "")
	if resp.StatusCode != http.StatusOK || got["status"] != "ok" || got["service"] != "gateway" {
		t.Errorf("GET /health = %d %v", resp.StatusCode, got)
	}
	resp, err := http.Get(gw.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var index struct {
		Services []string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&index); err != nil || strings.Join(index.Services, ",") != "orders,users" {
		t.Errorf("GET / = %+v, %v; want the sorted services", index, err)
	}
}
