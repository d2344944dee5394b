package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// loadCompose loads compose.yaml as `docker compose` does: validated
// against the Compose specification's schema, with .env interpolated.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose/compose.yaml"}, cli.WithWorkingDirectory("compose"), cli.WithEnvFiles(), cli.WithDotEnv,
		cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose/compose.yaml: %v", err)
	}
	return p
}

func TestComposeProject(t *testing.T) {
	p := loadCompose(t)
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, name := range []string{"subjects", "exposure", "events"} {
		s := svc(name)
		if got := []string(s.Command); !slices.Equal(got, []string{"serve", name}) {
			t.Errorf("%s runs %v, want serve %s", name, got, name)
		}
	}
	checker := svc("checker")
	if got := []string(checker.Command); !slices.Equal(got, []string{"serve", "checker"}) {
		t.Errorf("checker runs %v", got)
	}
	if n := checker.GetScale(); n != 2 {
		t.Errorf("checker has %d replicas, want 2", n)
	}
	// The checker calls each data service at a service of the project.
	for _, up := range []string{"SUBJECTS", "EXPOSURE", "EVENTS"} {
		v := checker.Environment["TRIALWATCH_"+up+"_URL"]
		if v == nil {
			t.Errorf("checker: no TRIALWATCH_%s_URL", up)
			continue
		}
		host := strings.TrimSuffix(strings.TrimPrefix(*v, "http://"), ":8080")
		if _, err := p.GetService(host); err != nil {
			t.Errorf("checker: TRIALWATCH_%s_URL %s names no service of the project", up, *v)
		}
	}
	// Every trialwatch process shares the database, the credential (long
	// enough for a split service to start) and the admin token.
	for _, name := range []string{"import", "subjects", "exposure", "events", "checker"} {
		env := svc(name).Environment
		if v := env["TRIALWATCH_DB"]; v == nil || !strings.HasPrefix(*v, "postgres://") || !strings.Contains(*v, "@postgres:5432/") {
			t.Errorf("%s: TRIALWATCH_DB %v, want the postgres service", name, v)
		}
		if v := env["TRIALWATCH_SERVICE_TOKEN"]; v == nil || len(*v) < 32 {
			t.Errorf("%s: TRIALWATCH_SERVICE_TOKEN shorter than the 32 characters a split service requires", name)
		}
		if v := env["TRIALWATCH_ADMIN_TOKEN"]; v == nil || *v == "" {
			t.Errorf("%s: no TRIALWATCH_ADMIN_TOKEN: Prometheus could not scrape it", name)
		}
	}
	// The import loads the pilot files the image carries (the Dockerfile
	// copies pilotdata/cdiscpilot01 to /usr/share/trialwatch/cdiscpilot01).
	imp := svc("import")
	var files int
	for _, arg := range imp.Command {
		if rest, ok := strings.CutPrefix(arg, "/usr/share/trialwatch/cdiscpilot01/"); ok {
			files++
			if _, err := os.Stat(filepath.Join("..", "pilotdata", "cdiscpilot01", rest)); err != nil {
				t.Errorf("import names %s, which the image does not carry: %v", arg, err)
			}
		}
	}
	if files != 6 {
		t.Errorf("import loads %d pilot files, want the 6 domains", files)
	}
	if d, ok := checker.DependsOn["import"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the checker does not wait for the import to complete: %+v", checker.DependsOn)
	}
	// Every file mounted into a container exists.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
		}
	}
}

// prometheusConfig is the part of a Prometheus configuration this test
// reads; `promtool check config` (deploy/prometheus/check.sh) checks all of it.
type prometheusConfig struct {
	RuleFiles     []string `json:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		Authorization struct {
			CredentialsFile string `json:"credentials_file"`
		} `json:"authorization"`
	} `json:"scrape_configs"`
}

// The Compose Prometheus scrapes every service, with the token, under the
// job names the rules expect, and loads every rule file it is given.
func TestComposePrometheus(t *testing.T) {
	p := loadCompose(t)
	prom, err := p.GetService("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	mounted := map[string]string{} // container path → host path
	for _, v := range prom.Volumes {
		mounted[v.Target] = v.Source
	}
	data, err := os.ReadFile(mounted["/etc/prometheus/prometheus.yml"])
	if err != nil {
		t.Fatal(err)
	}
	var cfg prometheusConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
		if sc.Authorization.CredentialsFile != "/tmp/admin-token" {
			t.Errorf("job %s scrapes without the admin token", sc.JobName)
		}
	}
	for _, svc := range services {
		if !slices.Contains(jobs, "trialwatch-"+svc) {
			t.Errorf("no scrape job trialwatch-%s (trialwatch-rules.yml expects it)", svc)
		}
	}
	for _, rules := range []string{"trialwatch-rules.yml", "leakguard-rules.yml"} {
		in := "/etc/prometheus/rules/" + rules
		if !slices.Contains(cfg.RuleFiles, in) {
			t.Errorf("prometheus.yml does not load %s", in)
		}
		if src := mounted[in]; src == "" || filepath.Base(src) != rules {
			t.Errorf("%s is not mounted from deploy/prometheus/%s", in, rules)
		}
	}
}
