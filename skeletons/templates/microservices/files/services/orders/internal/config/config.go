// Package config reads the monorepo's inter-service configuration, config/services.json:
//
//	{"services": {"users": {"url": "http://localhost:8001", "port": 8001}, ...}}
//
// url is where the other services reach it, port where it listens. An environment variable
// <NAME>_URL (the name in upper case, - as _) overrides a service's url, e.g.
// USERS_URL=http://users:8001 inside docker compose.
package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
)

// DefaultPath is the file as seen from a service's own directory (go run . in services/NAME).
const DefaultPath = "../../config/services.json"

// Service is one entry of the file.
type Service struct {
	URL  string `json:"url"`
	Port int    `json:"port,omitempty"`
}

// Services are the entries by name.
type Services map[string]Service

var namePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Load reads the file at path and applies the <NAME>_URL overrides of getenv.
func Load(path string, getenv func(string) string) (Services, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the services config (set SERVICES_CONFIG to its path): %w", err)
	}
	var file struct {
		Services Services `json:"services"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	services := make(Services, len(file.Services))
	for name, service := range file.Services {
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("%s: service name %q: want lowercase letters, digits and hyphens", path, name)
		}
		if override := getenv(EnvName(name)); override != "" {
			service.URL = override
		}
		if _, err := parseURL(service.URL); err != nil {
			return nil, fmt.Errorf("%s: service %q: %w", path, name, err)
		}
		if service.Port < 0 || service.Port > 65535 {
			return nil, fmt.Errorf("%s: service %q: port %d is not between 1 and 65535", path, name, service.Port)
		}
		services[name] = service
	}
	return services, nil
}

// EnvName is the environment variable that overrides the url of service name.
func EnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_URL"
}

// URL is the parsed url of service name.
func (s Services) URL(name string) (*url.URL, error) {
	service, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("no service %q in the services config (known: %s)", name, strings.Join(s.Names(), ", "))
	}
	return parseURL(service.URL)
}

// Names lists the services, sorted.
func (s Services) Names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q: want an http(s) URL such as http://users:8001", raw)
	}
	return u, nil
}
