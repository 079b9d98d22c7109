package main

import (
	"fmt"
	"log"
	"os"
	"strings"
)

// stderrLogger implements the SDK's logger.Logger on stderr, so the SDK writes no log files.
type stderrLogger struct {
	level int
	out   *log.Logger
}

var levels = map[string]int{"debug": 0, "info": 1, "warn": 2, "error": 3}

func newStderrLogger(level string) *stderrLogger {
	l, ok := levels[strings.ToLower(level)]
	if !ok {
		l = levels["info"]
	}
	return &stderrLogger{level: l, out: log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)}
}

func (s *stderrLogger) logf(level int, tag, format string, args ...interface{}) {
	if level >= s.level {
		s.out.Output(3, tag+" "+fmt.Sprintf(format, args...))
	}
}

func (s *stderrLogger) log(level int, tag string, args ...interface{}) {
	if level >= s.level {
		s.out.Output(3, tag+" "+fmt.Sprint(args...))
	}
}

func (s *stderrLogger) Debug(args ...interface{}) { s.log(0, "DEBUG", args...) }
func (s *stderrLogger) Info(args ...interface{})  { s.log(1, "INFO", args...) }
func (s *stderrLogger) Warn(args ...interface{})  { s.log(2, "WARN", args...) }
func (s *stderrLogger) Error(args ...interface{}) { s.log(3, "ERROR", args...) }
func (s *stderrLogger) Debugf(format string, args ...interface{}) {
	s.logf(0, "DEBUG", format, args...)
}
func (s *stderrLogger) Infof(format string, args ...interface{}) { s.logf(1, "INFO", format, args...) }
func (s *stderrLogger) Warnf(format string, args ...interface{}) { s.logf(2, "WARN", format, args...) }
func (s *stderrLogger) Errorf(format string, args ...interface{}) {
	s.logf(3, "ERROR", format, args...)
}
func (s *stderrLogger) Close() error { return nil }
