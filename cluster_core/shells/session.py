"""One process started in a container by `kubectl exec` (or the page's terminal): argv, stdin and TTY flags in,
bytes on stdout/stderr and finally an exit status out.

A shell without `-c` and with stdin reads commands: behind a TTY it prints a prompt, echoes what is typed and
edits the line (backspace, Ctrl-C, Ctrl-U, Ctrl-D on an empty line ends it) as the kernel's line discipline does,
and turns `\\n` into `\\r\\n`; without a TTY it reads lines silently until stdin closes. Any other program runs once
(a program reading stdin, such as `cat`, first collects all of it). A program the image lacks is the runtime's
error (`exec: "foo": executable file not found in $PATH`), not a shell's.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .sh import SHELLS, Output, Shell

STDOUT, STDERR = 1, 2
READS_STDIN = {"cat", "grep", "wc", "head", "tail"}


def exec_not_found(program: str) -> str:
    return ("OCI runtime exec failed: exec failed: unable to start container process: "
            f'exec: "{program}": executable file not found in $PATH: unknown')


@dataclass
class Session:
    shell: Shell
    argv: list[str]
    stdin: bool = False
    tty: bool = False
    finished: bool = False
    code: int = 0
    # Set when the runtime could not start the program at all (the error channel says so, not an exit code).
    failure: str = ""
    _line: str = ""
    _pending: str = ""
    _collected: str = field(default="", repr=False)
    _escape: str = ""

    @property
    def interactive(self) -> bool:
        base = self.argv[0].rsplit("/", 1)[-1] if self.argv else ""
        return base in SHELLS and len(self.argv) == 1 and self.stdin

    def start(self) -> list[tuple[int, bytes]]:
        """What the process writes before reading anything."""
        if not self.argv:
            self.failure = "you must specify at least one command for the container"
            self.finished = True
            return []
        program = self.argv[0]
        base = program.rsplit("/", 1)[-1]
        if not self.shell.flavour.has(base):
            self.failure = exec_not_found(program)
            self.finished = True
            return []
        self.shell.tty = self.tty
        if base in SHELLS:
            self.shell.program = "bash" if base == "bash" else "sh"
            self.shell.stack = [self.shell.program]
        if self.interactive:
            return self._out(self.shell.prompt()) if self.tty else []
        if self.stdin and base in READS_STDIN and not [a for a in self.argv[1:] if not a.startswith("-")]:
            return []  # waits for stdin to close
        return self._finish(self.shell.execute(self.argv, ""))

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        if self.finished:
            return []
        text = data.decode("utf-8", "replace")
        if not self.interactive:
            self._collected += text
            return []
        if not self.tty:
            self._pending += text
            out: list[tuple[int, bytes]] = []
            while "\n" in self._pending and not self.finished:
                line, self._pending = self._pending.split("\n", 1)
                out += self._line_done(line)
            return out
        return self._keys(text)

    def close_stdin(self) -> list[tuple[int, bytes]]:
        """stdin reached its end (kubectl's close of channel 0, or the end of piped input)."""
        if self.finished:
            return []
        if self.interactive:
            out = []
            rest = self._pending if not self.tty else ""
            if rest:
                out += self._line_done(rest)
            if not self.finished:
                out += self._finish(Output(code=self.shell.status))
            return out
        return self._finish(self.shell.execute(self.argv, self._collected))

    # -----------------------------------------------------------------------------------------------------------

    def _keys(self, text: str) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        for ch in text:
            if self.finished:
                break
            if self._escape:
                self._escape += ch
                # ESC [ A … : cursor keys and friends end with a letter or ~; nothing here recalls history.
                if len(self._escape) > 1 and (ch.isalpha() or ch == "~"):
                    self._escape = ""
                continue
            if ch == "\x1b":
                self._escape = ch
            elif ch in "\r\n":
                out.append((STDOUT, b"\r\n"))
                line, self._line = self._line, ""
                out += self._line_done(line)
            elif ch in "\x7f\x08":
                if self._line:
                    self._line = self._line[:-1]
                    out.append((STDOUT, b"\x08 \x08"))
            elif ch == "\x03":
                self._line = ""
                out.append((STDOUT, b"^C\r\n"))
                self.shell.status = 130
                out += self._out(self.shell.prompt())
            elif ch == "\x15":
                out.append((STDOUT, b"\x08 \x08" * len(self._line)))
                self._line = ""
            elif ch == "\x04":
                if not self._line:
                    if self.shell.current == "bash":
                        out += self._out("exit\n")
                    out += self._line_done("exit", echo=False)
            elif ch == "\t" or ord(ch) < 32:
                continue
            else:
                self._line += ch
                out.append((STDOUT, ch.encode()))
        return out

    def _line_done(self, line: str, echo: bool = True) -> list[tuple[int, bytes]]:
        result = self.shell.run(line)
        out = self._out(result.out) + self._out(result.err, STDERR)
        if result.exited:
            if self.tty and self.shell.current == "bash" and line.strip().startswith("exit"):
                out += self._out("exit\n")
            self.finished, self.code = True, result.code
            return out
        if self.tty:
            out += self._out(self.shell.prompt())
        return out

    def _finish(self, result: Output) -> list[tuple[int, bytes]]:
        self.finished, self.code = True, result.code
        return self._out(result.out) + self._out(result.err, STDERR)

    def _out(self, text: str, channel: int = STDOUT) -> list[tuple[int, bytes]]:
        if not text:
            return []
        if self.tty:
            # One stream behind a TTY (stderr joins stdout), with the line discipline's \n → \r\n.
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
            channel = STDOUT
        return [(channel, text.encode())]


def command_line(argv: list[str]) -> str:
    return shlex.join(argv)
