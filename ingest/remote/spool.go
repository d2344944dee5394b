package remote

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/trialwatch/trialwatch/clinical"
)

// spool keeps records of one domain on disk, chunk by chunk, until they
// can be sent: DS and CM go to services that also take DM and EX (the
// subjects and exposure services), and a service on SQLite holds one
// write at a time, so a second write open beside the first could wait on
// it while the first waits for the upload to end. Held in a temporary
// file, they are sent once the services have committed the rest, one
// write per service at a time, in bounded memory. The zero spool is
// empty.
type spool[T any] struct {
	f   *os.File
	w   *bufio.Writer
	enc *gob.Encoder
	n   int // records held
}

// add holds records.
func (s *spool[T]) add(records []T) error {
	if s.f == nil {
		f, err := os.CreateTemp("", "trialwatch-upload-*.gob")
		if err != nil {
			return fmt.Errorf("holding records until the other domains are stored: %w", err)
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
		s.enc = gob.NewEncoder(s.w)
	}
	s.n += len(records)
	return s.enc.Encode(records)
}

// send writes the records held with a writer open opens, chunk by chunk
// as they were added, and commits it; nothing is stored if any of it
// fails. A spool without records opens nothing.
func (s *spool[T]) send(ctx context.Context, open func() (clinical.RecordWriter[T], error)) (clinical.Summary, error) {
	if s.f == nil {
		return clinical.Summary{}, nil
	}
	if err := s.w.Flush(); err != nil {
		return clinical.Summary{}, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return clinical.Summary{}, err
	}
	w, err := open()
	if err != nil {
		return clinical.Summary{}, err
	}
	defer w.Abort() // after Commit, does nothing
	dec := gob.NewDecoder(bufio.NewReaderSize(s.f, 64<<10))
	for {
		var chunk []T
		if err := dec.Decode(&chunk); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return clinical.Summary{}, fmt.Errorf("reading back the records held: %w", err)
		}
		if err := w.Write(ctx, chunk); err != nil {
			return clinical.Summary{}, err
		}
	}
	return w.Commit(ctx)
}

// held reports whether the spool holds records.
func (s *spool[T]) held() bool { return s.f != nil }

// close removes the spool's file.
func (s *spool[T]) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
}
