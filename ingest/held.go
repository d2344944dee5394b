package ingest

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
)

// Held keeps records of one domain on disk, part by part, until a target
// can store them: in bounded memory, however many. Its file, made with
// SpoolPrefix, loses its name as soon as it is made (see spool), so
// nothing of it outlives the process. The zero Held holds nothing; Close
// frees it.
type Held[T any] struct {
	f     *os.File
	named string // the file's name when it could not be removed at once
	w     *bufio.Writer
	enc   *gob.Encoder
	n     int // records held
}

// Add holds records, as one part.
func (h *Held[T]) Add(records []T) error {
	if h.f == nil {
		f, err := os.CreateTemp("", SpoolPrefix+"held-*")
		if err != nil {
			return fmt.Errorf("holding records until they can be stored: %w", err)
		}
		if os.Remove(f.Name()) != nil {
			h.named = f.Name()
		}
		h.f, h.w = f, bufio.NewWriterSize(f, 64<<10)
		h.enc = gob.NewEncoder(h.w)
	}
	h.n += len(records)
	return h.enc.Encode(records)
}

// Len is how many records h holds.
func (h *Held[T]) Len() int { return h.n }

// Each reads the records held back, part by part in the order added, and
// calls fn with each part; it stops at fn's first error.
func (h *Held[T]) Each(fn func([]T) error) error {
	if h.f == nil {
		return nil
	}
	if err := h.w.Flush(); err != nil {
		return err
	}
	if _, err := h.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(h.f, 64<<10))
	for {
		var part []T
		if err := dec.Decode(&part); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading back the records held: %w", err)
		}
		if err := fn(part); err != nil {
			return err
		}
	}
}

// Close frees the file.
func (h *Held[T]) Close() {
	if h.f != nil {
		h.f.Close()
		if h.named != "" {
			os.Remove(h.named)
		}
		*h = Held[T]{}
	}
}
