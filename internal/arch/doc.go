// Package arch holds no code: its test checks that data flows one way
// through idtrace's packages (see ../../README.md, Development).
package arch
