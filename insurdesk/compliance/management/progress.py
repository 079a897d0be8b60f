"""A progress bar with rows/s on stderr; one line per 5 % when stderr is not a terminal."""

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last_step = -1

    def rate(self, done: int) -> float:
        elapsed = time.perf_counter() - self.t0
        return done / elapsed if elapsed > 0 else 0.0

    def update(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        frac = done / self.total if self.total else 1.0
        rate = self.rate(done)
        eta = (self.total - done) / rate if rate > 0 else 0.0
        bar = "#" * int(frac * 30)
        line = f"{self.label} [{bar:<30}] {done:>9,}/{self.total:,} {rate:>8,.0f} rows/s ETA {eta:>5.0f} s"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif int(frac * 20) != self.last_step:
            self.last_step = int(frac * 20)
            self.stream.write(line + "\n")
            self.stream.flush()

    def finish(self) -> float:
        if self.tty:
            self.stream.write("\n")
        return time.perf_counter() - self.t0
