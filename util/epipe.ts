/**
 * A reader that goes away (`swarmlet task list | head -1`) closes the pipe: the next write
 * to stdout fails with EPIPE, which Node raises as an unhandled 'error' event and a stack
 * trace. For a command that writes data, the reader leaving means the work is done: stop
 * quietly. (Log lines are written synchronously and already ignore EPIPE, so a service
 * whose log reader vanished keeps running.)
 */
export function handleEpipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}
