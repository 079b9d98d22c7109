//go:build !linux

package main

import "os"

func protocolOut() *os.File { return fallbackOut() }
