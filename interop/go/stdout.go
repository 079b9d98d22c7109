package main

import "os"

// fallbackOut writes the protocol to the original stdout and sends later fmt.Print* calls
// (which read os.Stdout when called) to stderr.
func fallbackOut() *os.File {
	real := os.Stdout
	os.Stdout = os.Stderr
	return real
}
