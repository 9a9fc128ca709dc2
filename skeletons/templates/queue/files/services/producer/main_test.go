package main

import (
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
	want := config{Addr: ":" + defaultPort, BrokerURL: defaultBroker, JobType: defaultJobType}
	if cfg != want {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
	cfg, err = loadConfig(env(map[string]string{
		"PORT": "9000", "BROKER_URL": "http://broker:1234", "BROKER_API_KEY": "k", "JOB_TYPE": "email",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want = config{Addr: ":9000", BrokerURL: "http://broker:1234", APIKey: "k", JobType: "email"}
	if cfg != want {
		t.Errorf("configured = %+v, want %+v", cfg, want)
	}
	for _, bad := range []map[string]string{
		{"PORT": "70000"},
		{"BROKER_URL": "broker:8070"},
		{"BROKER_URL": "ftp://broker"},
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
		t.Error("the producer still answers after shutdown")
	}
}
