"""A shell inside a simulated container: command lines in, stdout, stderr and an exit status out.

`Shell(container, net)` keeps what a shell keeps between lines — the working directory, its variables, the last
status, files written in this session — and `run(line)` interprets one line: `$VAR` expansion (not inside single
quotes), `;`, `&&`, `||`, pipes, `>`/`>>` redirection, `VAR=value` assignments, and the programs the container's
image ships (see `flavours`). A program the image lacks answers as that image's shell does (`sh: foo: not found`
under busybox, `sh: 1: foo: not found` under Debian's dash, `bash: foo: command not found`), status 127.
Nothing here touches a real shell or the database: the network (curl, wget, nslookup) is the `Network` given.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from . import flavours
from .container import DNS_IP, Container

SHELLS = ("sh", "bash", "ash")


@dataclass(frozen=True)
class Http:
    """What an HTTP GET got: a status and body, or curl's error text and exit code."""

    status: int = 0
    body: str = ""
    error: str = ""
    code: int = 0
    address: str = ""
    server: str = ""


class Network(Protocol):
    def lookup(self, name: str) -> tuple[str, str] | None:
        """(fully qualified name, IP) as cluster DNS answers it from this pod, or None."""

    def http_get(self, host: str, port: int, path: str) -> Http:
        """A GET from this pod to host:port (a name resolved as `lookup` does, or an IP)."""


class NoNetwork:
    def lookup(self, name: str) -> tuple[str, str] | None:
        return None

    def http_get(self, host: str, port: int, path: str) -> Http:
        return Http(error=f"curl: (6) Could not resolve host: {host}", code=6)


@dataclass
class Output:
    out: str = ""
    err: str = ""
    code: int = 0
    exited: bool = False
    # Simulated seconds the line ran (its `sleep`s); a line that never ends (`sleep infinity`) says so.
    seconds: float = 0.0
    forever: bool = False

    def add(self, other: Output) -> None:
        self.out += other.out
        self.err += other.err
        self.code = other.code
        self.exited = self.exited or other.exited
        self.seconds += other.seconds
        self.forever = self.forever or other.forever


class _Exit(Exception):
    def __init__(self, code: int):
        self.code = code


@dataclass
class Shell:
    container: Container
    net: Network = field(default_factory=NoNetwork)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    program: str = "sh"
    tty: bool = False

    def __post_init__(self):
        self.vars: dict[str, str] = dict(self.container.env)
        self.cwd = self.container.flavour.workdir
        self.status = 0
        self.written: dict[str, str] = {}
        self.removed: set[str] = set()
        # The seconds this process has slept so far, shared with the shells it starts (`sh -c`), and — when
        # kept — the files it wrote or removed at each of those moments (a main process's file timeline).
        self.clock: list[float] = [0.0]
        self.timeline: list[tuple[float, str, str | None]] | None = None
        self.made: set[str] = set()
        self.line_no = 0
        # Nested shells started interactively (`sh` typed at the prompt): `exit` leaves the innermost one.
        self.stack: list[str] = [self.program]

    # -----------------------------------------------------------------------------------------------------------
    # What the user sees

    @property
    def flavour(self) -> flavours.Flavour:
        return self.container.flavour

    @property
    def current(self) -> str:
        return self.stack[-1] if self.stack else self.program

    def prompt(self) -> str:
        shown = "~" if self.cwd == "/root" else self.cwd
        if self.current == "bash":
            return f"root@{self.container.hostname}:{shown}# "
        if self.flavour.family == "debian":
            return "# "
        return f"{self.cwd} # "

    def not_found(self, name: str) -> str:
        if self.current == "bash":
            return f"bash: {name}: command not found\n"
        if self.flavour.family == "debian":
            return f"sh: {max(self.line_no, 1)}: {name}: not found\n"
        return f"sh: {name}: not found\n"

    # -----------------------------------------------------------------------------------------------------------
    # Lines

    def run(self, line: str, stdin: str = "") -> Output:
        """Interpret one line; `exited` says the shell ended (`exit`), `code` is the last status."""
        self.line_no += 1
        loop = FOR_LOOP.match(line)
        if loop:
            return self._for(loop, stdin)
        result = Output()
        try:
            parts = split_line(line)
        except ValueError:
            msg = (f"sh: {max(self.line_no, 1)}: Syntax error: Unterminated quoted string\n"
                   if self.flavour.family == "debian" and self.current != "bash"
                   else "sh: syntax error: unterminated quoted string\n")
            self.status = 2
            return Output(err=msg, code=2)
        connector = ";"
        for stages, following in parts:
            runs = (connector in (";", "&")
                    or (connector == "&&" and self.status == 0)
                    or (connector == "||" and self.status != 0))
            connector = following
            if not runs or not any(st.strip() for st in stages):
                continue
            try:
                result.add(self._pipeline(stages, stdin))
            except _Exit as stop:
                result.code = stop.code
                self.status = stop.code
                if len(self.stack) > 1:
                    self.stack.pop()
                    return result
                result.exited = True
                return result
            if result.forever:
                return result
        result.code = self.status
        return result

    def _for(self, loop: re.Match, stdin: str) -> Output:
        """`for NAME in WORDS; do BODY; done`, then whatever follows `done;` on the line."""
        total = Output()
        try:
            words = self._tokens(self._expand(loop["words"]))
        except ValueError:
            words = loop["words"].split()
        self.status = 0
        for word in words:
            self.vars[loop["name"]] = word
            out = self.run(loop["body"], stdin)
            total.add(out)
            if out.exited or out.forever:
                return total
        if loop["rest"] and loop["rest"].strip():
            total.add(self.run(loop["rest"], stdin))
        total.code = self.status
        return total

    def _substitute(self, command: str) -> str:
        """`$(command)`: its output, trailing newlines removed, in a subshell of this one."""
        child = Shell(self.container, self.net, self.now, self.current, False)
        child.vars, child.cwd, child.written, child.removed = dict(self.vars), self.cwd, self.written, self.removed
        return child.script(command).out.rstrip("\n")

    def _expand(self, line: str) -> str:
        out: list[str] = []
        quote = ""
        i = 0
        while i < len(line):
            ch = line[i]
            if line.startswith("$(", i) and quote != "'":
                depth, j = 1, i + 2
                while j < len(line) and depth:
                    depth += {"(": 1, ")": -1}.get(line[j], 0)
                    j += 1
                text = self._substitute(line[i + 2:j - 1])
                if quote == "\"":
                    out.append(re.sub(r'(["\\$`])', r"\\\1", text))
                else:
                    # Unquoted, the output splits into words.
                    out.append(" ".join(shlex.quote(w) for w in text.split()))
                i = j
                continue
            if ch == "\\" and quote != "'" and i + 1 < len(line):
                out.append(line[i:i + 2])
                i += 2
                continue
            if ch in "'\"" and (not quote or quote == ch):
                if quote == "\"" and ch == "'":
                    out.append(ch)
                else:
                    quote = "" if quote else ch
                    out.append(ch)
                i += 1
                continue
            if ch == "$" and quote != "'":
                m = re.match(r"\$(\?|\$|[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})", line[i:])
                if m:
                    name = m.group(1).strip("{}")
                    value = str(self.status) if name == "?" else "1" if name == "$" else self.vars.get(name, "")
                    if quote == "\"":
                        out.append(re.sub(r'(["\\$`])', r"\\\1", value))
                    elif value:
                        out.append(shlex.quote(value))
                    i += len(m.group(0))
                    continue
            out.append(ch)
            i += 1
        return "".join(out)

    @staticmethod
    def _tokens(text: str) -> list[str]:
        lex = shlex.shlex(text, posix=True, punctuation_chars=";&|<>")
        lex.whitespace_split = True
        lex.commenters = "#"
        return list(lex)

    def _pipeline(self, stages: list[str], stdin: str) -> Output:
        total = Output()
        data = stdin
        for n, text in enumerate(stages):
            try:
                words = self._tokens(self._expand(text))
            except ValueError:
                words = text.split()
            out = self._command(words, data)
            last = n == len(stages) - 1
            total.err += out.err
            total.seconds += out.seconds
            total.forever = total.forever or out.forever
            if last:
                total.out += out.out
            data = out.out
            self.status = out.code
        total.code = self.status
        return total

    def _command(self, words: list[str], stdin: str) -> Output:
        argv, redirects = [], []
        i = 0
        while i < len(words):
            w = words[i]
            if w in (">", ">>", "<", ">&", ">|") and i + 1 < len(words):
                prev = argv.pop() if argv and argv[-1].isdigit() and w != "<" else "1"
                redirects.append((prev, w, words[i + 1]))
                i += 2
                continue
            argv.append(w)
            i += 1
        assigned = {}
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            k, _, v = argv.pop(0).partition("=")
            assigned[k] = v
        if not argv:
            self.vars.update(assigned)
            return Output()
        for _fd, op, target in redirects:
            if op == "<":
                found = self.read(target)
                if found is None:
                    return Output(err=self._no_such("sh", target), code=1)
                stdin = found
        saved = dict(self.vars)
        self.vars.update(assigned)
        try:
            out = self.execute(argv, stdin)
        finally:
            if assigned:
                self.vars = {**saved, **{k: v for k, v in self.vars.items() if k not in assigned}}
        for fd, op, target in redirects:
            if op == ">&":
                if fd == "2" and target == "1":
                    out.out, out.err = out.out + out.err, ""
                elif fd == "1" and target == "2":
                    out.out, out.err = "", out.err + out.out
                continue
            if op in (">", ">>", ">|"):
                text = out.err if fd == "2" else out.out
                if target != "/dev/null":
                    path = self.path(target)
                    old = (self.read(path) or "") if op == ">>" else ""
                    self.write(path, old + text)
                if fd == "2":
                    out.err = ""
                else:
                    out.out = ""
        return out

    # -----------------------------------------------------------------------------------------------------------
    # The container's files, with this session's writes on top

    def path(self, p: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, p)) if p else self.cwd

    def read(self, p: str) -> str | None:
        path = self.path(p)
        if path in self.removed:
            return None
        if path in self.written:
            return self.written[path]
        return self.container.files.get(path)

    def write(self, path: str, text: str) -> None:
        self.written[path] = text
        self.removed.discard(path)
        if self.timeline is not None:
            self.timeline.append((self.clock[0], path, text))

    def remove(self, path: str) -> None:
        self.removed.add(path)
        self.written.pop(path, None)
        if self.timeline is not None:
            self.timeline.append((self.clock[0], path, None))

    def _entries(self) -> set[str]:
        paths = (set(self.container.files) | set(self.written)) - self.removed
        return paths

    def is_dir(self, p: str) -> bool:
        path = self.path(p)
        if path == "/":
            return True
        if path in self.container.dirs or path in self.made:
            return True
        if path.count("/") == 1 and path[1:] in self.flavour.root:
            return True
        if path in ("/root", "/tmp", "/etc") or path.startswith("/proc"):
            return True
        return any(f.startswith(path + "/") for f in self._entries() | self.made | self.container.dirs)

    def listing(self, p: str) -> list[str]:
        path = self.path(p)
        names: set[str] = set(self.flavour.root) if path == "/" else set()
        prefix = path.rstrip("/") + "/"
        for f in self._entries() | self.made | self.container.dirs:
            if f.startswith(prefix):
                names.add(f[len(prefix):].split("/", 1)[0])
        return sorted(names)

    def _no_such(self, prog: str, target: str) -> str:
        return f"{prog}: {target}: No such file or directory\n"

    # -----------------------------------------------------------------------------------------------------------
    # Programs

    def execute(self, argv: list[str], stdin: str = "") -> Output:
        name = argv[0]
        base = name.rsplit("/", 1)[-1]
        builtins = {"cd", "exit", "export", "unset", "true", "false", "echo", "pwd", "printf", "test", "["}
        if base not in builtins and not self.flavour.has(base):
            if "/" in name and self.read(name) is not None:
                return Output(err=f"sh: {name}: Permission denied\n", code=126)
            return Output(err=self.not_found(name), code=127)
        handler = getattr(self, "cmd_" + base.replace("-", "_").replace("[", "test"), None)
        if handler is None:
            if base in self.flavour.servers:
                return Output(forever=True)
            return Output(code=0)
        return handler(argv[1:], stdin)

    def cmd_true(self, args, stdin):
        return Output()

    def cmd_false(self, args, stdin):
        return Output(code=1)

    def cmd_exit(self, args, stdin):
        code = self.status
        if args:
            try:
                code = int(args[0]) & 0xFF
            except ValueError:
                return Output(err=f"sh: exit: Illegal number: {args[0]}\n", code=2)
        raise _Exit(code)

    def cmd_echo(self, args, stdin):
        newline, escapes = True, self.flavour.family == "debian" and self.current != "bash"
        while args and re.fullmatch(r"-[neE]+", args[0]):
            flags = args.pop(0)
            newline = newline and "n" not in flags
            escapes = ("e" in flags) or (escapes and "E" not in flags)
        text = " ".join(args)
        if escapes:
            text = text.replace("\\n", "\n").replace("\\t", "\t")
        return Output(out=text + ("\n" if newline else ""))

    def cmd_printf(self, args, stdin):
        if not args:
            return Output(err="printf: usage: printf format [arguments]\n", code=2)
        fmt = args[0].replace("\\n", "\n").replace("\\t", "\t")
        values = args[1:]
        try:
            text = re.sub(r"%[sd]", "%s", fmt) % tuple(values) if values else fmt.replace("%%", "%")
        except TypeError:
            text = fmt
        return Output(out=text)

    def cmd_env(self, args, stdin):
        if args and not args[0].startswith("-"):
            extra = {}
            while args and "=" in args[0]:
                k, _, v = args.pop(0).partition("=")
                extra[k] = v
            if args:
                saved = self.vars
                self.vars = {**saved, **extra}
                try:
                    return self.execute(args, stdin)
                finally:
                    self.vars = saved
            return Output(out="".join(f"{k}={v}\n" for k, v in {**self.vars, **extra}.items()))
        return Output(out="".join(f"{k}={v}\n" for k, v in self.vars.items()))

    def cmd_printenv(self, args, stdin):
        if not args:
            return self.cmd_env([], stdin)
        found = [self.vars[a] for a in args if a in self.vars]
        return Output(out="".join(v + "\n" for v in found), code=0 if len(found) == len(args) else 1)

    def cmd_export(self, args, stdin):
        for a in args:
            k, eq, v = a.partition("=")
            if eq:
                self.vars[k] = v
        return Output()

    def cmd_unset(self, args, stdin):
        for a in args:
            self.vars.pop(a, None)
        return Output()

    def cmd_hostname(self, args, stdin):
        if args and args[0] == "-i":
            return Output(out=self.container.pod_ip + "\n")
        return Output(out=self.container.hostname + "\n")

    def cmd_whoami(self, args, stdin):
        return Output(out="root\n")

    def cmd_id(self, args, stdin):
        return Output(out="uid=0(root) gid=0(root) groups=0(root)\n")

    def cmd_uname(self, args, stdin):
        if args and args[0] in ("-a", "--all"):
            return Output(out=f"Linux {self.container.hostname} 6.8.0-kubeplay #1 SMP PREEMPT_DYNAMIC x86_64 "
                              f"{'GNU/Linux' if self.flavour.family == 'debian' else 'Linux'}\n")
        if args and args[0] == "-r":
            return Output(out="6.8.0-kubeplay\n")
        return Output(out="Linux\n")

    def cmd_pwd(self, args, stdin):
        return Output(out=self.cwd + "\n")

    def cmd_cd(self, args, stdin):
        target = self.path(args[0]) if args else "/root"
        if not self.is_dir(target):
            if self.read(target) is not None:
                return Output(err=f"sh: cd: can't cd to {args[0]}: Not a directory\n", code=2)
            if self.flavour.family == "debian" and self.current != "bash":
                return Output(err=f"sh: {self.line_no}: cd: can't cd to {args[0]}\n", code=2)
            if self.current == "bash":
                return Output(err=f"bash: cd: {args[0]}: No such file or directory\n", code=1)
            return Output(err=f"sh: cd: can't cd to {args[0]}: No such file or directory\n", code=2)
        self.cwd = target
        return Output()

    def cmd_date(self, args, stdin):
        now = self.now().astimezone(dt.UTC)
        if args and args[0].startswith("+"):
            return Output(out=now.strftime(args[0][1:]) + "\n")
        return Output(out=now.strftime("%a %b ") + f"{now.day:2d}" + now.strftime(" %H:%M:%S UTC %Y") + "\n")

    def cmd_sleep(self, args, stdin):
        if not args:
            return Output(err="sleep: missing operand\n" if self.flavour.family == "debian" else
                          "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: sleep [N]...\n",
                          code=1)
        if args[0] in ("infinity", "inf"):
            return Output(forever=True)
        total = 0.0
        for a in args:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", a)
            if not m:
                return Output(err=f"sleep: invalid number '{a}'\n", code=1)
            total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        self.clock[0] += total
        return Output(seconds=total)

    def cmd_cat(self, args, stdin):
        files = [a for a in args if a != "-" and not a.startswith("-")] or ([] if args else [])
        if not files:
            return Output(out=stdin)
        out, err, code = "", "", 0
        for f in files:
            content = self.read(f)
            if content is None:
                if self.is_dir(f):
                    err += f"cat: {'read error: ' if self.flavour.family != 'debian' else f + ': '}Is a directory\n"
                elif self.flavour.family == "debian":
                    err += f"cat: {f}: No such file or directory\n"
                else:
                    err += f"cat: can't open '{f}': No such file or directory\n"
                code = 1
                continue
            out += content
        return Output(out=out, err=err, code=code)

    def cmd_ls(self, args, stdin):
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        targets = [a for a in args if not a.startswith("-")] or [""]
        out, err, code = [], "", 0
        for t in targets:
            if self.read(t) is not None and not self.is_dir(t):
                out.append(self._long(t, posixpath.basename(self.path(t))) if "l" in flags else t)
                continue
            if not self.is_dir(t):
                err += (f"ls: cannot access '{t}': No such file or directory\n" if self.flavour.family == "debian"
                        else f"ls: {t}: No such file or directory\n")
                code = 2 if self.flavour.family == "debian" else 1
                continue
            names = self.listing(t)
            if "a" in flags:
                names = [".", "..", *names]
            if len(targets) > 1:
                out.append(f"{t}:")
            if "l" in flags:
                out.append(f"total {len(names) * 4}")
                out += [self._long(posixpath.join(self.path(t), n), n) for n in names]
            elif self.tty:
                out.append("  ".join(names))
            else:
                out += names
        return Output(out="".join(line + "\n" for line in out if line != ""), err=err, code=code)

    def _long(self, path: str, name: str) -> str:
        content = self.read(path)
        when = (self.container.started or self.now()).strftime("%b %d %H:%M")
        if content is None:
            return f"drwxr-xr-x    2 root     root          4096 {when} {name}"
        return f"-rw-r--r--    1 root     root    {len(content.encode()):>10} {when} {name}"

    def cmd_ps(self, args, stdin):
        main = " ".join(self.container.main) or self.program
        rows = [(1, main), (7, " ".join(self.stack) if len(self.stack) > 1 else self.program), (13, "ps " + " ".join(args))]
        lines = ["PID   USER     TIME  COMMAND"] + [f"{pid:5d} root      0:00 {cmd.strip()}" for pid, cmd in rows]
        return Output(out="\n".join(lines) + "\n")

    def cmd_seq(self, args, stdin):
        try:
            nums = [int(a) for a in args]
        except ValueError:
            return Output(err=f"seq: invalid number '{args[0] if args else ''}'\n", code=1)
        if len(nums) == 1:
            first, step, last = 1, 1, nums[0]
        elif len(nums) == 2:
            first, step, last = nums[0], 1, nums[1]
        elif len(nums) == 3:
            first, step, last = nums
        else:
            return Output(err="seq: missing operand\n", code=1)
        if step == 0:
            return Output(err="seq: invalid Zero increment value: '0'\n", code=1)
        return Output(out="".join(f"{n}\n" for n in range(first, last + (1 if step > 0 else -1), step)))

    def cmd_mkdir(self, args, stdin):
        for a in args:
            if not a.startswith("-"):
                self.made.add(self.path(a))
        return Output()

    def cmd_touch(self, args, stdin):
        for a in args:
            if self.read(a) is None:
                self.write(self.path(a), "")
        return Output()

    def cmd_rm(self, args, stdin):
        err, code = "", 0
        for a in args:
            if a.startswith("-"):
                continue
            if self.read(a) is None:
                if "-f" not in args and "-rf" not in args:
                    err += f"rm: can't remove '{a}': No such file or directory\n"
                    code = 1
                continue
            self.remove(self.path(a))
        return Output(err=err, code=code)

    def _input(self, args, stdin) -> tuple[str, Output | None]:
        files = [a for a in args if not a.startswith("-")]
        if not files:
            return stdin, None
        text = ""
        for f in files:
            content = self.read(f)
            if content is None:
                return "", Output(err=f"{f}: No such file or directory\n", code=1)
            text += content
        return text, None

    def cmd_head(self, args, stdin):
        n = 10
        rest = []
        for a in args:
            if re.fullmatch(r"-n?\d+", a):
                n = int(a.lstrip("-n"))
            elif a != "-n":
                rest.append(a)
        text, failed = self._input(rest, stdin)
        return failed or Output(out="".join(text.splitlines(keepends=True)[:n]))

    def cmd_tail(self, args, stdin):
        n = 10
        rest = []
        for a in args:
            if re.fullmatch(r"-n?\d+", a):
                n = int(a.lstrip("-n"))
            elif a == "-f":
                return Output(forever=True)
            elif a != "-n":
                rest.append(a)
        text, failed = self._input(rest, stdin)
        return failed or Output(out="".join(text.splitlines(keepends=True)[-n:] if n else []))

    def cmd_grep(self, args, stdin):
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        rest = [a for a in args if not a.startswith("-")]
        if not rest:
            return Output(err="Usage: grep [-ivc] PATTERN [FILE]...\n", code=2)
        pattern, files = rest[0], rest[1:]
        text, failed = self._input(files, stdin)
        if failed:
            return failed
        try:
            rx = re.compile(pattern, re.I if "i" in flags else 0)
        except re.error:
            rx = re.compile(re.escape(pattern), re.I if "i" in flags else 0)
        lines = [ln for ln in text.splitlines() if bool(rx.search(ln)) != ("v" in flags)]
        if "c" in flags:
            return Output(out=f"{len(lines)}\n", code=0 if lines else 1)
        return Output(out="".join(ln + "\n" for ln in lines), code=0 if lines else 1)

    def cmd_wc(self, args, stdin):
        flags = "".join(a[1:] for a in args if a.startswith("-"))
        text, failed = self._input([a for a in args if not a.startswith("-")], stdin)
        if failed:
            return failed
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
        chosen = [counts[f] for f in "lwc" if f in flags] or list(counts.values())
        return Output(out=" ".join(f"{n:7d}" for n in chosen).strip() + "\n")

    def cmd_which(self, args, stdin):
        found = [a for a in args if self.flavour.has(a)]
        dirs = "/bin" if self.flavour.family != "debian" else "/usr/bin"
        return Output(out="".join(f"{dirs}/{a}\n" for a in found), code=0 if len(found) == len(args) else 1)

    def cmd_test(self, args, stdin):
        if args and args[-1] == "]":
            args = args[:-1]
        ok = False
        if len(args) == 2 and args[0] in ("-f", "-e", "-d", "-z", "-n"):
            op, val = args
            ok = {"-f": self.read(val) is not None, "-e": self.read(val) is not None or self.is_dir(val),
                  "-d": self.is_dir(val), "-z": val == "", "-n": val != ""}[op]
        elif len(args) == 3 and args[1] in ("=", "==", "!="):
            ok = (args[0] == args[2]) == (args[1] != "!=")
        elif len(args) == 1:
            ok = args[0] != ""
        return Output(code=0 if ok else 1)

    def cmd_clear(self, args, stdin):
        return Output(out="\x1b[H\x1b[2J\x1b[3J")

    def cmd_sh(self, args, stdin):
        return self._subshell("sh", args, stdin)

    def cmd_ash(self, args, stdin):
        return self._subshell("sh", args, stdin)

    def cmd_bash(self, args, stdin):
        return self._subshell("bash", args, stdin)

    def _subshell(self, program: str, args, stdin) -> Output:
        if args and args[0] == "-c":
            if len(args) < 2:
                return Output(err=f"{program}: -c: option requires an argument\n", code=2)
            child = Shell(self.container, self.net, self.now, program, self.tty)
            child.vars, child.cwd, child.written = dict(self.vars), self.cwd, self.written
            child.removed, child.clock, child.timeline = self.removed, self.clock, self.timeline
            return child.script(args[1], stdin)
        if args:
            content = self.read(args[0])
            if content is None:
                return Output(err=f"{program}: can't open '{args[0]}': No such file or directory\n", code=2)
            child = Shell(self.container, self.net, self.now, program, self.tty)
            child.vars, child.cwd, child.clock, child.timeline = dict(self.vars), self.cwd, self.clock, self.timeline
            return child.script(content, stdin)
        if self.tty:
            # An interactive shell inside this one: its prompt until `exit`.
            self.stack.append(program)
            return Output()
        if stdin:
            child = Shell(self.container, self.net, self.now, program)
            child.vars, child.cwd = dict(self.vars), self.cwd
            return child.script(stdin)
        return Output()

    def script(self, text: str, stdin: str = "") -> Output:
        """Run a whole script (`sh -c`, a container's command): line by line until the end or `exit`."""
        total = Output()
        for line in text.splitlines() or [""]:
            out = self.run(line, stdin)
            total.add(out)
            if out.exited or out.forever:
                break
        total.code = self.status
        return total

    # -----------------------------------------------------------------------------------------------------------
    # The network

    def cmd_nslookup(self, args, stdin):
        names = [a for a in args if not a.startswith("-")]
        if not names:
            return Output(err="Usage: nslookup [HOST] [SERVER]\n", code=1)
        name = names[0]
        header = f"Server:\t\t{DNS_IP}\nAddress:\t{DNS_IP}:53\n\n"
        found = self.net.lookup(name)
        if found is None:
            fqdn = name if "." in name else f"{name}.{self.container.namespace}.svc.cluster.local"
            return Output(out=header + f"** server can't find {fqdn}: NXDOMAIN\n\n", code=1)
        fqdn, ip = found
        return Output(out=header + f"Name:\t{fqdn}\nAddress: {ip}\n\n")

    def cmd_curl(self, args, stdin):
        silent = include = head = False
        output = None
        urls = []
        takes_value = {"-o", "-m", "-H", "-d", "-X", "-w", "-u", "-A", "-e", "--max-time", "--connect-timeout",
                       "--header", "--data", "--request", "--output", "--user-agent", "--retry"}
        i = 0
        while i < len(args):
            a = args[i]
            if a in takes_value:
                if a in ("-o", "--output") and i + 1 < len(args):
                    output = args[i + 1]
                i += 2
                continue
            if a.startswith("--"):
                silent = silent or a == "--silent"
                include = include or a == "--include"
                head = head or a == "--head"
            elif a.startswith("-") and len(a) > 1:
                silent = silent or "s" in a
                include = include or "i" in a
                head = head or "I" in a
            else:
                urls.append(a)
            i += 1
        if not urls:
            return Output(err="curl: try 'curl --help' or 'curl --manual' for more information\n", code=2)
        out, err, code = "", "", 0
        for url in urls:
            try:
                host, port, path = parse_url(url)
            except ValueError as exc:
                err += f"curl: (3) URL rejected: {exc}\n"
                code = 3
                continue
            got = self.net.http_get(host, port, path)
            if got.error:
                if not silent or "-sS" in args or "-S" in args:
                    err += got.error + "\n"
                code = got.code
                continue
            text = "" if head else got.body
            if include or head:
                text = _headers(got, self.now()) + text
            if output and output != "-":
                self.write(self.path(output), text)
                continue
            out += text
        return Output(out=out, err=err, code=code)

    def cmd_wget(self, args, stdin):
        quiet = False
        output = None
        urls = []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-O", "-T", "-U", "--header"):
                if a == "-O" and i + 1 < len(args):
                    output = args[i + 1]
                i += 2
                continue
            if a.startswith("-O"):
                output = a[2:]
                quiet = quiet
            elif re.fullmatch(r"-q+O.*", a):
                quiet, output = True, a.split("O", 1)[1]
            elif a in ("-q", "--quiet"):
                quiet = True
            elif a.startswith("-"):
                pass
            else:
                urls.append(a)
            i += 1
        if not urls:
            return Output(err="BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                              "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n"
                              "\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n",
                          code=1)
        out, err, code = "", "", 0
        for url in urls:
            try:
                host, port, path = parse_url(url)
            except ValueError:
                err += f"wget: bad address '{url}'\n"
                code = 1
                continue
            got = self.net.http_get(host, port, path)
            if got.error:
                if got.code == 6:
                    err += f"wget: bad address '{host}'\n"
                elif got.code == 28:
                    err += "wget: download timed out\n"
                else:
                    err += f"wget: can't connect to remote host ({got.address or host}): Connection refused\n"
                code = 1
                continue
            name = output or (posixpath.basename(path) or "index.html")
            if not quiet:
                err += f"Connecting to {host}{f':{port}' if port != 80 else ''} ({got.address or host}:{port})\n"
            if got.status >= 400:
                err += f"wget: server returned error: HTTP/1.1 {got.status} Not Found\n"
                code = 1
                continue
            if name == "-":
                if not quiet:
                    err += "writing to stdout\n"
                out += got.body
                if not quiet:
                    err += "written to stdout\n"
            else:
                if not quiet:
                    err += f"saving to '{name}'\n{name:<20} 100% |********************************|   " \
                           f"{len(got.body.encode())}  0:00:00 ETA\n'{name}' saved\n"
                self.write(self.path(name), got.body)
        return Output(out=out, err=err, code=code)


FOR_LOOP = re.compile(r"^\s*for\s+(?P<name>[A-Za-z_]\w*)\s+in\s+(?P<words>.*?)\s*;\s*do\s+(?P<body>.*?)\s*;?\s*"
                      r"done\s*(?:;(?P<rest>.*))?$", re.S)


def split_line(line: str) -> list[tuple[list[str], str]]:
    """A line's pipelines, each with the separator after it (`;`, `&&`, `||`, `&`), each pipeline a list of
    command texts; quotes are kept, so expansion happens when each command runs (`false; echo $?`)."""
    parts: list[tuple[list[str], str]] = []
    stages: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and quote != "'" and i + 1 < len(line):
            cur.append(line[i:i + 2])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            cur.append(ch)
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            cur.append(ch)
            i += 1
            continue
        if ch == "#" and (not cur or cur[-1] in " \t"):
            break
        two = line[i:i + 2]
        if two in ("&&", "||"):
            stages.append("".join(cur))
            parts.append((stages, two))
            stages, cur = [], []
            i += 2
            continue
        if ch == "&" and i > 0 and line[i - 1] in "<>":  # 2>&1: a redirection, not a background job
            cur.append(ch)
            i += 1
            continue
        if ch in ";&":
            stages.append("".join(cur))
            parts.append((stages, ch))
            stages, cur = [], []
            i += 1
            continue
        if ch == "|":
            stages.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if quote:
        raise ValueError("unterminated quote")
    stages.append("".join(cur))
    parts.append((stages, ";"))
    return parts


_URL = re.compile(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<host>[^/:?#]*)(?::(?P<port>[^/?#]*))?"
                  r"(?P<path>[/?#].*)?$")


def parse_url(url: str) -> tuple[str, int, str]:
    m = _URL.match(url.strip())
    if not m or not m["host"]:
        raise ValueError("No host part in the URL")
    if m["scheme"] and m["scheme"].lower() not in ("http", "https"):
        raise ValueError(f"Protocol \"{m['scheme']}\" not supported")
    default = 443 if (m["scheme"] or "").lower() == "https" else 80
    if m["port"]:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise ValueError("Port number was not a decimal number between 0 and 65535")
        port = int(m["port"])
    else:
        port = default
    path = m["path"] or "/"
    if not path.startswith("/"):
        path = "/" + path
    return m["host"].lower(), port, path


def _headers(got: Http, now: dt.datetime) -> str:
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(got.status, "OK")
    date = now.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = [f"HTTP/1.1 {got.status} {reason}"]
    if got.server:
        lines.append(f"Server: {got.server}")
    lines += [f"Date: {date}", "Content-Type: text/html", f"Content-Length: {len(got.body.encode())}"]
    return "\r\n".join(lines) + "\r\n\r\n"
