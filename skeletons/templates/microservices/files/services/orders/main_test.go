package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestListenAddr(t *testing.T) {
	tests := []struct {
		port    string
		want    string
		wantErr bool
	}{
		{port: "", want: ":" + defaultPort},
		{port: "9000", want: ":9000"},
		{port: "abc", wantErr: true},
		{port: "0", wantErr: true},
		{port: "70000", wantErr: true},
	}
	for _, tt := range tests {
		getenv := func(key string) string {
			if key == "PORT" {
				return tt.port
			}
			return ""
		}
		got, err := listenAddr(getenv)
		if (err != nil) != tt.wantErr {
			t.Errorf("PORT=%q: error = %v, wantErr %v", tt.port, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("PORT=%q: addr = %q, want %q", tt.port, got, tt.want)
		}
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, "http://127.0.0.1:1") }()

	url := "http://" + ln.Addr().String() + "/health"
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want %d", resp.StatusCode, http.StatusOK)
	}

	cancel() // what SIGINT or SIGTERM does in main
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("serve did not return after the context was cancelled")
	}
	client.CloseIdleConnections()
	if _, err := client.Get(url); err == nil {
		t.Error("the server still answers after shutdown")
	}
}

func TestLoadUsersURL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "services.json")
	text := `{"services": {"users": {"url": "http://localhost:8001", "port": 8001}}}`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) string {
		return func(key string) string { return vars[key] }
	}
	if got, err := loadUsersURL(env(map[string]string{"SERVICES_CONFIG": path})); err != nil || got != "http://localhost:8001" {
		t.Errorf("from the file: %q, %v", got, err)
	}
	if got, err := loadUsersURL(env(map[string]string{"SERVICES_CONFIG": path, "USERS_URL": "http://users:8001"})); err != nil || got != "http://users:8001" {
		t.Errorf("with USERS_URL: %q, %v; want the override", got, err)
	}
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, []byte(`{"services": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadUsersURL(env(map[string]string{"SERVICES_CONFIG": empty})); err == nil {
		t.Error("a config without users was accepted")
	}
	// The monorepo's own config/services.json names the users service.
	if _, err := os.Stat("../../config/services.json"); !errors.Is(err, fs.ErrNotExist) {
		if _, err := loadUsersURL(env(nil)); err != nil {
			t.Errorf("the monorepo's config: %v", err)
		}
	}
}
