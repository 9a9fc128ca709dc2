// Package broker is a client of the job broker's HTTP API (rdev's work-queue routes).
package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds what the client reads of one broker answer.
const maxResponseBytes = 4 << 20

// Client talks to the broker at BaseURL.
type Client struct {
	BaseURL string       // e.g. http://broker:8070
	APIKey  string       // sent as X-API-Key when set
	HTTP    *http.Client // nil: a client with a 10s timeout
}

// NewClient returns a client of the broker at baseURL.
func NewClient(baseURL, apiKey string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		APIKey:  apiKey,
		HTTP:    &http.Client{Timeout: 10 * time.Second},
	}
}

// SubmitRequest is the body of the broker's POST /work.
type SubmitRequest struct {
	Type        string          `json:"type"`
	Payload     json.RawMessage `json:"payload"`
	Priority    int             `json:"priority,omitempty"`
	MaxAttempts int             `json:"max_attempts,omitempty"`
}

// Error is an answer of the broker that is not a success: its status and error envelope.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("broker answered %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrUnavailable wraps every failure to reach the broker or to read its answer.
var ErrUnavailable = errors.New("broker unavailable")

// Submit queues a work item and returns the broker's item as it sent it.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (json.RawMessage, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode work item: %w", err)
	}
	return c.do(ctx, http.MethodPost, "/work", body, http.StatusCreated)
}

// Get returns the broker's item id.
func (c *Client) Get(ctx context.Context, id string) (json.RawMessage, error) {
	return c.do(ctx, http.MethodGet, "/work/"+url.PathEscape(id), nil, http.StatusOK)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, want int) (json.RawMessage, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.APIKey != "" {
		req.Header.Set("X-API-Key", c.APIKey)
	}
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s %s: %v", ErrUnavailable, method, path, err)
	}
	if resp.StatusCode != want {
		apiErr := &Error{Status: resp.StatusCode, Code: "UNKNOWN", Message: strings.TrimSpace(string(data))}
		var envelope struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &envelope) == nil && envelope.Error.Code != "" {
			apiErr.Code, apiErr.Message = envelope.Error.Code, envelope.Error.Message
		}
		return nil, apiErr
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: %s %s: the answer is not JSON", ErrUnavailable, method, path)
	}
	return json.RawMessage(data), nil
}
