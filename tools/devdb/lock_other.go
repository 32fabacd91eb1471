//go:build !unix

package main

import (
	"errors"
	"os"
)

var errDataDirInUse = errors.New("data folder in use")

// lockDataDir: no flock outside Unix; one launcher per data folder is then the user's to keep.
func lockDataDir(string) (*os.File, error) { return nil, nil }
