// Package proxy is the gateway's routing: a request for /<service>/<rest> is forwarded to
// <service url>/<rest> (the /<service> prefix is stripped and sent along in
// X-Forwarded-Prefix), so each service serves its own routes at its root.
//
//	GET  /health       the gateway's own health
//	GET  /             the services it routes to
//	ANY  /<service>/…  the service's answer; 502 BAD_GATEWAY (JSON) when it cannot be reached
//
// Errors are {"error": {"code", "message"}}.
package proxy

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Info describes the running gateway; GET /health reports it.
type Info struct {
	Service string
	Version string
}

// New returns the gateway's routes to routes (service name → base URL).
func New(logger *slog.Logger, routes map[string]*url.URL, info Info) http.Handler {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport.ResponseHeaderTimeout = 30 * time.Second
	proxies := make(map[string]http.Handler, len(routes))
	names := make([]string, 0, len(routes))
	for name, target := range routes {
		proxies[name] = newProxy(logger, name, target, transport)
		names = append(names, name)
	}
	sort.Strings(names)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": info.Service, "version": info.Version})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"services": names})
	})
	route := func(w http.ResponseWriter, r *http.Request) {
		proxy, ok := proxies[r.PathValue("service")]
		if !ok {
			writeError(w, http.StatusNotFound, "NOT_FOUND", "no service "+r.PathValue("service")+" behind this gateway")
			return
		}
		proxy.ServeHTTP(w, r)
	}
	mux.HandleFunc("/{service}", route)
	mux.HandleFunc("/{service}/", route)
	return logRequests(logger, mux)
}

func newProxy(logger *slog.Logger, name string, target *url.URL, transport http.RoundTripper) *httputil.ReverseProxy {
	prefix := "/" + name
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Service names are plain slugs, so the prefix reads the same escaped or not.
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.In.URL.RawPath, prefix)
			pr.SetURL(target) // target's scheme and host, target's path + the rest, Host header
			if pr.Out.URL.Path == "" {
				pr.Out.URL.Path = "/"
			}
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Prefix", prefix)
		},
		Transport: transport,
		ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Warn("backend unavailable", "service", name, "path", r.URL.Path, "error", err)
			writeError(w, http.StatusBadGateway, "BAD_GATEWAY", "service "+name+" is unavailable")
		},
	}
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]map[string]string{"error": {"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Encoding these plain values cannot fail; a write error means the client has gone.
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the reverse proxy's flushes) reach the writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
		)
	})
}
