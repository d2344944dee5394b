package clinical

import (
	"context"
	"time"
)

// The ports below are what a check and an upload need of the three data
// services — subjects (DM), exposure (EX) and adverse events (AE) — and of
// the checker's own lab results. They are declared here, once, so that the
// checker and the upload path depend on the domain only: a service's store
// in the same database and its Connect client over the network are
// interchangeable behind them.

// SubjectSource answers who a subject is; ErrNotFound when the study has
// no such subject.
type SubjectSource interface {
	Subject(ctx context.Context, study, usubjid string) (Subject, error)
}

// ExposureSource lists a subject's dose records, ordered by EXSEQ.
type ExposureSource interface {
	Doses(ctx context.Context, study, usubjid string) ([]Dose, error)
}

// EventSource lists a subject's adverse events, ordered by AESEQ.
type EventSource interface {
	AdverseEvents(ctx context.Context, study, usubjid string) ([]AdverseEvent, error)
}

// The batch sources below are capabilities a source may have besides its
// one-subject call: the answers of several of a study's subjects at once,
// for a caller checking many (the check queue's batches). Each subject's
// answer is what the one-subject call would give; a caller that gets an
// error knows nothing of any subject and asks each on its own.

// SubjectBatchSource answers who several subjects are; a subject the
// study has not is absent from the map.
type SubjectBatchSource interface {
	SubjectsOf(ctx context.Context, study string, usubjids []string) (map[string]Subject, error)
}

// ExposureBatchSource lists several subjects' dose records, each ordered
// by EXSEQ; a subject without any is absent from the map.
type ExposureBatchSource interface {
	DosesOf(ctx context.Context, study string, usubjids []string) (map[string][]Dose, error)
}

// EventBatchSource lists several subjects' adverse events, each ordered by
// AESEQ; a subject without any is absent from the map.
type EventBatchSource interface {
	AdverseEventsOf(ctx context.Context, study string, usubjids []string) (map[string][]AdverseEvent, error)
}

// LabSource lists a subject's lab results, ordered by date then LBSEQ.
// The caller must not change them: a source may share them between
// callers.
type LabSource interface {
	Labs(ctx context.Context, study, usubjid string) ([]LabResult, error)
}

// SubjectDirectory tells which subjects a study has, and their sites: an
// upload refuses records of unknown subjects, and a site user's records
// of another site's subjects.
type SubjectDirectory interface {
	Known(ctx context.Context, study string, ids []string) (map[string]string, error)
}

// Summary tells what a write of study data did. Rows identical to those
// stored are left alone; changed rows are updated and kept in history.
type Summary struct {
	Inserted  int      `json:"inserted"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Subjects  []string `json:"-"` // distinct subjects with an inserted or updated row, in first-seen order
}

// Tally adds up the Summaries of several writes, e.g. one per chunk,
// listing each subject once, in first-seen order. The zero Tally is empty.
type Tally struct {
	sum  Summary
	seen map[string]bool
}

// Add counts one write's summary.
func (t *Tally) Add(o Summary) {
	t.sum.Inserted += o.Inserted
	t.sum.Updated += o.Updated
	t.sum.Unchanged += o.Unchanged
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	for _, id := range o.Subjects {
		if !t.seen[id] {
			t.seen[id] = true
			t.sum.Subjects = append(t.sum.Subjects, id)
		}
	}
}

// Summary is what the writes added did together.
func (t *Tally) Summary() Summary { return t.sum }

// RecordWriter writes one study's records of one kind into the service
// that owns them, in chunks, all or nothing: nothing written is kept
// unless Commit succeeds. Memory stays bounded by a chunk however many
// records are written. Abort ends a write that will not be committed and
// is a no-op after Commit; one of them must be called.
type RecordWriter[T any] interface {
	Write(ctx context.Context, records []T) error
	Commit(ctx context.Context) (Summary, error)
	Abort()
}

// SubjectWriter starts writes of a study's subjects (DM).
type SubjectWriter interface {
	WriteSubjects(ctx context.Context, study string, now time.Time) (RecordWriter[Subject], error)
}

// DoseWriter starts writes of a study's dose records (EX).
type DoseWriter interface {
	WriteDoses(ctx context.Context, study string, now time.Time) (RecordWriter[Dose], error)
}

// EventWriter starts writes of a study's adverse events (AE).
type EventWriter interface {
	WriteEvents(ctx context.Context, study string, now time.Time) (RecordWriter[AdverseEvent], error)
}

// DispositionWriter starts writes of a study's disposition events (DS).
type DispositionWriter interface {
	WriteDispositions(ctx context.Context, study string, now time.Time) (RecordWriter[Disposition], error)
}

// ConMedWriter starts writes of a study's concomitant medications (CM).
type ConMedWriter interface {
	WriteConMeds(ctx context.Context, study string, now time.Time) (RecordWriter[ConMed], error)
}

// The study readers below answer a whole study at once, for analyses
// across subjects and sites (site key risk indicators, subject lists).
// Each returns what the study has, ordered by USUBJID then sequence; an
// empty list, not ErrNotFound, for a study with nothing.

// StudySubjects lists every subject of a study.
type StudySubjects interface {
	SubjectsIn(ctx context.Context, study string) ([]Subject, error)
}

// StudyEvents lists every adverse event of a study, with how many days
// after its onset each was first stored (EntryLag).
type StudyEvents interface {
	AdverseEventsIn(ctx context.Context, study string) ([]AdverseEvent, error)
}

// StudyDispositions lists every disposition event of a study.
type StudyDispositions interface {
	DispositionsIn(ctx context.Context, study string) ([]Disposition, error)
}
