package reviewpages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
)

// The lists decode GET /signals into findingList, not wire.SignalList, to
// skip the evidence: the two must stay alike but for it.
func TestFindingListIsSignalList(t *testing.T) {
	want, got := reflect.TypeFor[wire.SignalList](), reflect.TypeFor[findingList]()
	if want.NumField() != got.NumField() {
		t.Fatalf("findingList has %d fields, wire.SignalList %d", got.NumField(), want.NumField())
	}
	for i := range want.NumField() {
		w, g := want.Field(i), got.Field(i)
		if w.Name != g.Name || w.Tag != g.Tag {
			t.Errorf("field %d: findingList has %s `%s`, wire.SignalList %s `%s`", i, g.Name, g.Tag, w.Name, w.Tag)
		}
	}

	updated := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	sig := wire.Signal{ID: 7, Study: "S1", Site: "701", Subject: "01-701-1", Rule: "LAB_AE", Severity: clinical.SeverityHigh,
		Key: "LB:1", Evidence: map[string]any{"alt_xuln": 4.2}, Message: "ALT 4.2×ULN", Created: updated.Add(-time.Hour),
		Status: "acknowledged", Reason: "seen", Updated: &updated, FirstDate: "2026-01-02", LastDate: "2026-01-05"}
	b, err := json.Marshal(wire.SignalList{Signals: []wire.Signal{sig}, NextPageToken: "next"})
	if err != nil {
		t.Fatal(err)
	}
	var list findingList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	sig.Evidence = nil // what the lists skip
	if list.NextPageToken != "next" || len(list.Signals) != 1 || !reflect.DeepEqual(list.Signals[0].Signal, sig) {
		t.Errorf("decoded %+v, want the signal %+v without its evidence and the token", list, sig)
	}
}

// The audit page decodes GET /audit into auditRecord, the fields it shows
// of audit.Record (the hashes it leaves to `trialwatch audit verify`): a
// field renamed or retyped there must fail here, not empty a column.
func TestAuditRecordReadsAuditRecord(t *testing.T) {
	api := map[string]reflect.StructField{}
	for f := range reflect.TypeFor[audit.Record]().Fields() {
		api[jsonName(f)] = f
	}
	for f := range reflect.TypeFor[auditRecord]().Fields() {
		a, ok := api[jsonName(f)]
		if !ok || a.Type != f.Type {
			t.Errorf("auditRecord.%s (%q, %s): audit.Record has no such field of that type", f.Name, jsonName(f), f.Type)
		}
	}
	rec := audit.Record{Seq: 3, At: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Actor: "jane", Role: "monitor", Study: "S1",
		Entity: "signal", EntityID: "7", Action: "status", Old: `{"status":"open"}`, New: `{"status":"closed"}`, Source: "10.0.0.1",
		PrevHash: "ab", Hash: "cd"}
	b, err := json.Marshal([]audit.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	var got []auditRecord
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := auditRecord{Seq: 3, At: rec.At, Actor: "jane", Role: "monitor", Entity: "signal", EntityID: "7", Action: "status",
		Old: rec.Old, New: rec.New, Source: "10.0.0.1"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
