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
	go func() { done <- serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), ln) }()

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
