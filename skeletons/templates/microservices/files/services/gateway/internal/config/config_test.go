package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "services.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestLoadWithOverrides(t *testing.T) {
	path := write(t, `{"services": {
		"users": {"url": "http://localhost:8001", "port": 8001},
		"order-history": {"url": "http://localhost:8003"}
	}}`)
	services, err := Load(path, env(map[string]string{"USERS_URL": "http://users:8001"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(services.Names(), ","); got != "order-history,users" {
		t.Errorf("names = %s", got)
	}
	u, err := services.URL("users")
	if err != nil || u.String() != "http://users:8001" || services["users"].Port != 8001 {
		t.Errorf("users = %v, %v (port %d); want the USERS_URL override", u, err, services["users"].Port)
	}
	if EnvName("order-history") != "ORDER_HISTORY_URL" {
		t.Errorf("EnvName(order-history) = %s", EnvName("order-history"))
	}
	if _, err := services.URL("billing"); err == nil || !strings.Contains(err.Error(), "users") {
		t.Errorf("URL(billing) error = %v, want one naming the known services", err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := map[string]string{
		"not JSON":   `{"services":`,
		"bad name":   `{"services": {"Users": {"url": "http://localhost:1"}}}`,
		"bad url":    `{"services": {"users": {"url": "localhost:8001"}}}`,
		"no url":     `{"services": {"users": {"port": 8001}}}`,
		"bad port":   `{"services": {"users": {"url": "http://x", "port": 70000}}}`,
		"wrong type": `{"services": ["users"]}`,
	}
	for name, text := range tests {
		if _, err := Load(write(t, text), env(nil)); err == nil {
			t.Errorf("%s: Load accepted %s", name, text)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json"), env(nil)); err == nil {
		t.Error("Load accepted a missing file")
	}
}
