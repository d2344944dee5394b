package golangci

import (
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPluginRegisteredAndDisables(t *testing.T) {
	newPlugin, err := register.GetPlugin("leakvet")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlugin(map[string]any{"disable": []string{"leakloop"}})
	if err != nil {
		t.Fatal(err)
	}
	as, err := p.BuildAnalyzers()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	if len(names) != 3 || names[0] != "leaksend" || names[2] != "leakwait" {
		t.Errorf("analyzers = %v, want leaksend, leakrecv, leakwait", names)
	}
	if p.GetLoadMode() != register.LoadModeTypesInfo {
		t.Errorf("load mode = %q", p.GetLoadMode())
	}
	if _, err := newPlugin(map[string]any{"disable": []string{"nope"}}); err == nil {
		t.Error("an unknown analyzer name in disable was accepted")
	}
}
