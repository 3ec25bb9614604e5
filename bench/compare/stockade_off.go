//go:build nostockade

package main

import "errors"

// stockadeBuilt reports whether this binary holds Stockade, and why not.
func stockadeBuilt() (bool, string) { return false, "built with -tags nostockade" }

func stockadeSpawner(string) (func() error, error) {
	return nil, errors.New("stockade: built with -tags nostockade")
}
