package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	if cfg.Addr != ":"+defaultPort || cfg.API.Heartbeat != 15*time.Second || cfg.Hub.History != 100 || cfg.API.APIKey != "" {
		t.Errorf("defaults = %+v", cfg)
	}
	cfg, err = loadConfig(env(map[string]string{
		"PORT": "9000", "REALTIME_HEARTBEAT": "2s", "REALTIME_HISTORY": "10", "REALTIME_API_KEY": "k",
		"REALTIME_ALLOW_ORIGIN": "https://app.example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":9000" || cfg.API.Heartbeat != 2*time.Second || cfg.Hub.History != 10 || cfg.API.APIKey != "k" ||
		cfg.API.AllowOrigin != "https://app.example.com" {
		t.Errorf("configured = %+v", cfg)
	}
	for _, bad := range []map[string]string{
		{"PORT": "-1"},
		{"REALTIME_HEARTBEAT": "often"},
		{"REALTIME_HISTORY": "0"},
		{"REALTIME_MAX_CHANNELS": "many"},
	} {
		if _, err := loadConfig(env(bad)); err == nil {
			t.Errorf("loadConfig(%v) accepted an invalid value", bad)
		}
	}
}

// An open stream must not hold the shutdown up: cancelling ends it at once.
func TestShutdownEndsOpenStreams(t *testing.T) {
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
	resp, err := http.Get(base + "/events?channel=news")
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events = %d, want 200", resp.StatusCode)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() { // until the server ends the stream
		}
	}()

	start := time.Now()
	cancel() // what SIGINT or SIGTERM does in main
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(shutdownTimeout + time.Second):
		t.Fatal("serve did not return after the context was cancelled")
	}
	if elapsed := time.Since(start); elapsed > shutdownTimeout/2 {
		t.Errorf("shutdown took %v: the open stream held it up", elapsed)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the stream is still open after shutdown")
	}
}
