package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of a kustomization.yaml these manifests use.
// Decoded strictly: a field kustomize does not know, or one this test
// does not check, fails the test rather than pass unseen.
type kustomization struct {
	APIVersion      string   `json:"apiVersion"`
	Kind            string   `json:"kind"`
	Namespace       string   `json:"namespace,omitempty"`
	Resources       []string `json:"resources"`
	SecretGenerator []struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior,omitempty"`
		Literals []string `json:"literals,omitempty"`
		Envs     []string `json:"envs,omitempty"`
	} `json:"secretGenerator,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// object is one decoded manifest.
type object struct {
	file string
	kind string
	name string
	obj  any
}

// kinds are the types a manifest of each kind decodes into.
var kinds = map[string]func() any{
	"Deployment":          func() any { return new(appsv1.Deployment) },
	"Service":             func() any { return new(corev1.Service) },
	"Secret":              func() any { return new(corev1.Secret) },
	"Namespace":           func() any { return new(corev1.Namespace) },
	"PodDisruptionBudget": func() any { return new(policyv1.PodDisruptionBudget) },
	"NetworkPolicy":       func() any { return new(networkingv1.NetworkPolicy) },
	"Job":                 func() any { return new(batchv1.Job) },
}

// decodeManifests splits a multi-document YAML stream and decodes each
// document strictly (no unknown or duplicate field) into its k8s.io/api type.
func decodeManifests(file string, data []byte) ([]object, error) {
	var out []object
	for i, doc := range splitDocuments(data) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", file, i+1, err)
		}
		newObj, ok := kinds[meta.Kind]
		if !ok {
			return nil, fmt.Errorf("%s, document %d: kind %q is not one this test decodes", file, i+1, meta.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s, %s %s: %w", file, meta.Kind, meta.Metadata.Name, err)
		}
		out = append(out, object{file: file, kind: meta.Kind, name: meta.Metadata.Name, obj: obj})
	}
	return out, nil
}

// splitDocuments cuts a YAML stream at its "---" lines, dropping documents
// with nothing but comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		for _, line := range strings.Split(string(doc), "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, doc)
				break
			}
		}
	}
	return docs
}

// loadKustomization decodes dir's kustomization.yaml strictly and checks
// that every file it names exists.
func loadKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml: apiVersion %q, kind %q", dir, k.APIVersion, k.Kind)
	}
	named := slices.Clone(k.Resources)
	for _, g := range k.SecretGenerator {
		named = append(named, g.Envs...)
	}
	for _, r := range named {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("%s/kustomization.yaml names %s: %v", dir, r, err)
		}
	}
	return k
}

// baseObjects decodes every resource file of the base.
func baseObjects(t *testing.T) []object {
	t.Helper()
	const base = "kubernetes/base"
	k := loadKustomization(t, base)
	var all []object
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(base, r))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeManifests(r, data)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, objs...)
	}
	// Every YAML file of the base is one of its resources: a manifest
	// left out of kustomization.yaml would never be applied.
	files, _ := filepath.Glob(filepath.Join(base, "*.yaml"))
	for _, f := range files {
		if name := filepath.Base(f); name != "kustomization.yaml" && !slices.Contains(k.Resources, name) {
			t.Errorf("%s is not in the base's kustomization.yaml", f)
		}
	}
	return all
}

var services = []string{"subjects", "exposure", "events", "checker"}

func TestKubernetesBaseDecodesStrictly(t *testing.T) {
	objs := baseObjects(t)
	byKind := map[string]map[string]any{}
	for _, o := range objs {
		if byKind[o.kind] == nil {
			byKind[o.kind] = map[string]any{}
		}
		if _, dup := byKind[o.kind][o.name]; dup {
			t.Errorf("%s %s is defined twice", o.kind, o.name)
		}
		byKind[o.kind][o.name] = o.obj
	}
	for _, svc := range services {
		name := "trialwatch-" + svc
		d, ok := byKind["Deployment"][name].(*appsv1.Deployment)
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		checkDeployment(t, d, svc)
		s, ok := byKind["Service"][name].(*corev1.Service)
		if !ok {
			t.Errorf("no Service %s", name)
		} else if !selects(s.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s selects %v, not the pods of its Deployment (%v)", name, s.Spec.Selector, d.Spec.Template.Labels)
		}
		p, ok := byKind["PodDisruptionBudget"][name].(*policyv1.PodDisruptionBudget)
		if !ok {
			t.Errorf("no PodDisruptionBudget %s", name)
		} else if p.Spec.Selector == nil || !selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("PodDisruptionBudget %s does not select the pods of its Deployment", name)
		}
	}
	if len(byKind["Job"]) == 0 {
		t.Error("no Job (import or migrations)")
	}
	checkNetworkPolicy(t, byKind["NetworkPolicy"], byKind["Deployment"])
}

func selects(selector, podLabels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if podLabels[k] != v {
			return false
		}
	}
	return true
}

// checkDeployment wants what a trialwatch service needs to run on
// Kubernetes: its command, probes on the admin listener, resources, a
// non-root read-only container with a writable /tmp, the service
// credential from the Secret.
func checkDeployment(t *testing.T, d *appsv1.Deployment, svc string) {
	t.Helper()
	if d.Spec.Selector == nil || !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("Deployment %s: its selector does not match its pods' labels", d.Name)
	}
	if svc == "checker" && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2) {
		t.Errorf("Deployment %s: want at least 2 replicas", d.Name)
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Deployment %s: %d containers, want 1", d.Name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.Args) < 2 || c.Args[0] != "serve" || c.Args[1] != svc {
		t.Errorf("Deployment %s runs %v, want serve %s", d.Name, c.Args, svc)
	}
	probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
	wantPath := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}
	for kind, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("Deployment %s: no HTTP %s probe", d.Name, kind)
			continue
		}
		if p.HTTPGet.Path != wantPath[kind] || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("Deployment %s: %s probe on %s port %s, want %s on the admin port", d.Name, kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), wantPath[kind])
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("Deployment %s: want CPU and memory requests and a memory limit, got %v", d.Name, c.Resources)
	}
	sc := c.SecurityContext
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot ||
		sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("Deployment %s: want a non-root, read-only container without privilege escalation", d.Name)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	if mounts["/tmp"] == "" {
		t.Errorf("Deployment %s: no writable /tmp (uploads are spooled there)", d.Name)
	}
	if !slices.Contains(c.Args, "--service-token-file=/etc/trialwatch/service-token") || mounts["/etc/trialwatch"] == "" {
		t.Errorf("Deployment %s: the service credential is not mounted where --service-token-file reads it", d.Name)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["TRIALWATCH_DB"]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("Deployment %s: TRIALWATCH_DB does not come from a Secret", d.Name)
	}
	if svc == "checker" {
		for _, up := range []string{"SUBJECTS", "EXPOSURE", "EVENTS"} {
			if env["TRIALWATCH_"+up+"_URL"].Value == "" {
				t.Errorf("Deployment %s: no TRIALWATCH_%s_URL", d.Name, up)
			}
		}
	}
}

// checkNetworkPolicy wants the data services' http port open to the
// checker's pods alone.
func checkNetworkPolicy(t *testing.T, policies, deployments map[string]any) {
	t.Helper()
	podsOf := func(svc string) map[string]string {
		return deployments["trialwatch-"+svc].(*appsv1.Deployment).Spec.Template.Labels
	}
	for _, svc := range services {
		var governing []*networkingv1.NetworkPolicy
		for _, p := range policies {
			np := p.(*networkingv1.NetworkPolicy)
			if matchesPod(np.Spec.PodSelector, podsOf(svc)) {
				governing = append(governing, np)
			}
		}
		if svc == "checker" {
			continue // its API is public
		}
		if len(governing) == 0 {
			t.Errorf("no NetworkPolicy governs the %s service", svc)
			continue
		}
		for _, np := range governing {
			for _, rule := range np.Spec.Ingress {
				opensHTTP := len(rule.Ports) == 0
				for _, p := range rule.Ports {
					if p.Port == nil || p.Port.String() == "http" || p.Port.IntValue() == 8080 {
						opensHTTP = true
					}
				}
				if !opensHTTP {
					continue
				}
				if len(rule.From) == 0 {
					t.Errorf("NetworkPolicy %s opens the %s service's http port to everyone", np.Name, svc)
				}
				for _, peer := range rule.From {
					if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil ||
						!matchesPod(*peer.PodSelector, podsOf("checker")) || matchesPod(*peer.PodSelector, podsOf("subjects")) {
						t.Errorf("NetworkPolicy %s lets %+v reach the %s service's http port: want the checker alone", np.Name, peer, svc)
					}
				}
			}
		}
	}
}

// matchesPod says whether sel selects pods labelled podLabels; an empty
// selector selects every pod, as in a NetworkPolicy.
func matchesPod(sel metav1.LabelSelector, podLabels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(&sel)
	return err == nil && s.Matches(labels.Set(podLabels))
}

func TestKustomizeBuildsTheOverlay(t *testing.T) {
	const overlay = "kubernetes/overlays/example"
	k := loadKustomization(t, overlay)
	if k.Namespace == "" || len(k.SecretGenerator) == 0 || len(k.Images) == 0 {
		t.Fatalf("the example overlay sets no namespace, replaces no secret or sets no image: %+v", k)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed: the overlay's files exist, but kustomize did not build it")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", overlay)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("kubectl kustomize %s: %v\n%s", overlay, err, stderr.String())
		}
		t.Fatal(err)
	}
	objs, err := decodeManifests("kubectl kustomize "+overlay, out)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*corev1.Secret{}
	for _, o := range objs {
		if s, ok := o.obj.(*corev1.Secret); ok {
			secrets[s.Name] = s
		}
	}
	for _, o := range objs {
		d, ok := o.obj.(*appsv1.Deployment)
		if !ok {
			continue
		}
		if d.Namespace != k.Namespace {
			t.Errorf("Deployment %s in namespace %q, want %q", d.Name, d.Namespace, k.Namespace)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if !strings.HasPrefix(c.Image, k.Images[0].NewName+":") {
			t.Errorf("Deployment %s runs image %q, not the overlay's", d.Name, c.Image)
		}
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
				s := secrets[ref.SecretKeyRef.Name]
				if s == nil {
					t.Errorf("Deployment %s: %s names Secret %s, which the build does not have", d.Name, e.Name, ref.SecretKeyRef.Name)
				} else if _, ok := s.Data[ref.SecretKeyRef.Key]; !ok {
					t.Errorf("Deployment %s: %s names key %s of Secret %s, which it lacks", d.Name, e.Name, ref.SecretKeyRef.Key, s.Name)
				}
			}
		}
	}
	for _, s := range secrets {
		for key, v := range s.Data {
			if strings.Contains(string(v), "replace-me") {
				t.Errorf("Secret %s key %s still holds the base's placeholder: the overlay did not replace it", s.Name, key)
			}
		}
	}
}
