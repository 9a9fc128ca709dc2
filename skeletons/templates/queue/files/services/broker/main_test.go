package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.Addr != ":"+defaultPort || cfg.APIKey != "" || cfg.Queue.DefaultLease != time.Minute || cfg.Queue.DefaultMaxAttempts != 3 {
		t.Errorf("defaults = %+v", cfg)
	}
	cfg, err = loadConfig(env(map[string]string{
		"PORT": "9000", "BROKER_API_KEY": "k", "BROKER_LEASE": "5s", "BROKER_MAX_ATTEMPTS": "7",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9000" || cfg.APIKey != "k" || cfg.Queue.DefaultLease != 5*time.Second || cfg.Queue.DefaultMaxAttempts != 7 {
		t.Errorf("configured = %+v", cfg)
	}
	for _, bad := range []map[string]string{
		{"PORT": "0"},
		{"PORT": "http"},
		{"BROKER_LEASE": "soon"},
		{"BROKER_BACKOFF_MAX": "-1s"},
		{"BROKER_MAX_ATTEMPTS": "0"},
	} {
		if _, err := loadConfig(env(bad)); err == nil {
			t.Errorf("loadConfig(%v) accepted an invalid value", bad)
		}
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), ln, cfg) }()

	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post(base+"/work", "application/json", strings.NewReader(`{"type":"ping"}`))
	if err != nil {
		t.Fatalf("POST /work: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /work = %d, want 201", resp.StatusCode)
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
	if _, err := client.Get(base + "/health"); err == nil {
		t.Error("the broker still answers after shutdown")
	}
}
