// Package users is the orders service's client of the users service.
package users

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrUnavailable wraps every failure to get an answer from the users service.
var ErrUnavailable = errors.New("users service unavailable")

// Client asks the users service at BaseURL.
type Client struct {
	BaseURL string       // e.g. http://users:8001 (from config/services.json)
	HTTP    *http.Client // nil: a client with a 5s timeout
}

// NewClient returns a client of the users service at baseURL.
func NewClient(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 5 * time.Second}}
}

// Exists tells whether user id exists: GET <BaseURL>/<id> answers 200 or 404.
func (c *Client) Exists(ctx context.Context, id string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/"+url.PathEscape(id), nil)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("%w: GET %s answered %d", ErrUnavailable, req.URL.Path, resp.StatusCode)
	}
}
