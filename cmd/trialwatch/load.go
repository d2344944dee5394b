package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/subjects"
)

// readFiles reads SDTM CSV files (optionally gzip-compressed) into one
// batch. Every file is read before anything is stored, so a bad file
// stores nothing.
func readFiles(study string, paths []string) (*sdtm.Batch, error) {
	var b sdtm.Batch
	for _, p := range paths {
		if err := readFile(study, p, &b); err != nil {
			return nil, err
		}
	}
	return &b, nil
}

func readFile(study, path string, b *sdtm.Batch) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	switch ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(path, ".gz"))); ext {
	case ".csv":
		return sdtm.ReadCSV(path, r, study, b)
	default:
		return fmt.Errorf("%s: cannot read %q files yet; trialwatch import reads SDTM CSV (.csv or .csv.gz)", path, ext)
	}
}

// store writes a batch into the tables of the services that own each
// domain, in the same database.
func store(ctx context.Context, db *sqldb.DB, b *sdtm.Batch) error {
	if len(b.Subjects) > 0 {
		s, err := subjects.Open(ctx, db)
		if err != nil {
			return err
		}
		if err := s.Put(ctx, b.Subjects); err != nil {
			return fmt.Errorf("storing DM: %w", err)
		}
	}
	if len(b.Doses) > 0 {
		s, err := exposure.Open(ctx, db)
		if err != nil {
			return err
		}
		if err := s.Put(ctx, b.Doses); err != nil {
			return fmt.Errorf("storing EX: %w", err)
		}
	}
	if len(b.Events) > 0 {
		s, err := events.Open(ctx, db)
		if err != nil {
			return err
		}
		if err := s.Put(ctx, b.Events); err != nil {
			return fmt.Errorf("storing AE: %w", err)
		}
	}
	if len(b.Labs) > 0 {
		s, err := checker.OpenStore(ctx, db)
		if err != nil {
			return err
		}
		if err := s.PutLabs(ctx, b.Labs); err != nil {
			return fmt.Errorf("storing LB: %w", err)
		}
	}
	return nil
}

func describe(b *sdtm.Batch) string {
	return fmt.Sprintf("%d subjects, %d doses, %d adverse events, %d lab results",
		len(b.Subjects), len(b.Doses), len(b.Events), len(b.Labs))
}
