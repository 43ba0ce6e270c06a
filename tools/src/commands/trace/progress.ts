/**
 * Progress on stderr for work that takes seconds: elapsed time redrawn every 250 ms when stderr is
 * a terminal, one line otherwise (logs and pipes get no carriage returns).
 */
import type { Io } from '../../command.js';

/** Starts reporting `label`; the returned function stops and prints `done` with the elapsed time. */
export function progress(io: Io, label: string, tty: boolean = process.stderr.isTTY === true): (done: string) => void {
  const start = performance.now();
  const elapsed = (): string => `${((performance.now() - start) / 1000).toFixed(1)}s`;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    const draw = (): void => io.err(`\r\x1b[2K${frames[frame++ % frames.length]} ${label} ${elapsed()}`);
    draw();
    timer = setInterval(draw, 250);
  } else {
    io.err(`${label}\n`);
  }
  let stopped = false;
  return (done) => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
    io.err(`${tty ? '\r\x1b[2K' : ''}${done} in ${elapsed()}\n`);
  };
}
