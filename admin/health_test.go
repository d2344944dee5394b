package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/trialwatch/trialwatch/access"
)

// TestReadinessAndDependencies: /readyz names the services and nothing
// else, to anyone; /readyz/dependencies reports each dependency's state
// to the guard's callers, a failing or hanging one included, within the
// check's time limit (the hanging one ends with its deadline).
func TestReadinessAndDependencies(t *testing.T) {
	health := &Health{}
	health.SetServices([]string{"subjects", "checker"})
	health.AddDependency(Dependency{Name: "database", Target: "sqlite", Check: func(context.Context) error { return nil }})
	health.AddDependency(Dependency{Name: "subjects", Target: "http://127.0.0.1:1",
		Check: func(context.Context) error { return errors.New("connection refused") }})
	health.AddDependency(Dependency{Name: "events", Target: "http://127.0.0.1:2",
		Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}) // hangs until its deadline
	h := Handler(Config{Guard: access.OpsOnly("s3cret", nil), Gatherer: NewRegistry(), Health: health})

	code, body := get(t, h, "/readyz", "")
	if code != http.StatusServiceUnavailable || body == "" {
		t.Fatalf("readyz before ready: %d %s", code, body)
	}
	health.SetReady(true)
	code, body = get(t, h, "/readyz", "")
	var ready map[string]any
	if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || len(ready) != 2 ||
		ready["ready"] != true || len(ready["services"].([]any)) != 2 {
		t.Fatalf("readyz when ready: %d %s, want ready and the two services, nothing more", code, body)
	}

	if code, _ := get(t, h, "/readyz/dependencies", ""); code != http.StatusUnauthorized {
		t.Errorf("dependencies without credentials: %d, want 401", code)
	}
	code, body = get(t, h, "/readyz/dependencies", "Bearer s3cret")
	var got struct {
		OK   bool               `json:"ok"`
		Deps []DependencyStatus `json:"dependencies"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK {
		t.Fatalf("dependencies: %d %s", code, body)
	}
	if got.OK || len(got.Deps) != 3 {
		t.Fatalf("dependencies: %s, want ok false and three", body)
	}
	want := []struct {
		name, err string
		ok        bool
	}{{"database", "", true}, {"subjects", "connection refused", false}, {"events", context.DeadlineExceeded.Error(), false}}
	for i, w := range want {
		d := got.Deps[i]
		if d.Name != w.name || d.OK != w.ok || d.Error != w.err || d.Target == "" {
			t.Errorf("dependency %d: %+v, want %+v", i, d, w)
		}
	}
}
