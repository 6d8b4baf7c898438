// Command idtrace opens HAR and Fiddler SAZ traces, explains the sign-ins
// in them and reads Entra ID audit and sign-in logs. It only exits: the
// commands live in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/idtrace/idtrace/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], cli.System())
	stop()
	os.Exit(code)
}
