// Command idtrace captures, opens and explains sign-in traffic and Entra logs.
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
