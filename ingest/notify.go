package ingest

import (
	"context"
	"time"
)

// Notify is t telling stored the study of every upload that stored
// something, once it is committed: e.g. to have the study's KRIs
// recomputed.
func Notify(t Target, stored func(study string)) Target { return notifying{Target: t, stored: stored} }

type notifying struct {
	Target
	stored func(study string)
}

func (t notifying) Store(ctx context.Context, study string, files []string, now time.Time, fill func(Upload) error) (Result, error) {
	res, err := t.Target.Store(ctx, study, files, now, fill)
	if err == nil {
		t.stored(study)
	}
	return res, err
}
