package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// jsonLines appends records to a file, one JSON object a line. Above max bytes the file is
// renamed to <path>.1 (replacing the one before) and a new one is started, so the disk holds at
// most about twice max.
type jsonLines struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

func openJSONLines(path string, max int64) (*jsonLines, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	j := &jsonLines{path: path, max: max}
	if err := j.open(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *jsonLines) open() error {
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	j.f, j.size = f, fi.Size()
	return nil
}

// write appends one line per record with a single write; rotated tells whether the file was
// started anew first.
func (j *jsonLines) write(records []any) (rotated bool, err error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return false, fmt.Errorf("encode: %w", err)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return false, fmt.Errorf("%s is closed", j.path)
	}
	if j.size > 0 && j.size+int64(buf.Len()) > j.max {
		if err := j.f.Close(); err != nil {
			return false, err
		}
		j.f = nil
		rerr := os.Rename(j.path, j.path+".1") // on failure, keep appending to the old file
		if err := j.open(); err != nil || rerr != nil {
			return false, errors.Join(rerr, err)
		}
		rotated = true
	}
	n, err := j.f.Write(buf.Bytes())
	j.size += int64(n)
	return rotated, err
}

func (j *jsonLines) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
