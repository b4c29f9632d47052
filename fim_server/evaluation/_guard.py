"""Child-side half of the sandbox: set resource limits, install audit hooks, run one program.

Usage: ``python -I -S -B _guard.py MEMORY_MB CPU_SECONDS FILE_MB PROGRAM``, started by
``sandbox.run_program`` with the sandbox folder as the working directory.

The audit hooks raise ``PermissionError`` on socket creation or use, on process
creation, on signals sent to other processes, on loading native libraries through
ctypes, and on any open-for-write, delete, rename or permission change of a path
outside the working directory. Audit hooks are not a security boundary (PEP 578),
so the parent adds a network namespace where ``unshare`` works and a process-group
kill on timeout. This file uses the standard library only because it runs with ``-S``.
"""

import os
import resource
import sys

ROOT = os.path.realpath(os.getcwd())
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

BLOCKED_EVENTS = frozenset({
    "socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo", "socket.sendto",
    "socket.sendmsg", "socket.gethostbyname", "socket.gethostbyaddr",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "signal.pthread_kill", "ctypes.dlopen", "ctypes.dlsym", "ctypes.addressof",
})

# Audit events that change the file system, with the argument positions that hold paths.
PATH_EVENTS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.chmod": (0,), "os.chown": (0,),
    "os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (1,), "os.truncate": (0,), "os.utime": (0,),
    "os.chflags": (0,), "os.lchflags": (0,), "os.setxattr": (0,), "os.removexattr": (0,),
    "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,),
    "shutil.move": (1,),
}


def _inside_root(path) -> bool:
    if isinstance(path, int):
        return True  # an already open descriptor; opening it was checked
    resolved = os.path.realpath(os.path.join(ROOT, os.fsdecode(path)))
    return resolved == ROOT or resolved.startswith(ROOT + os.sep)


def _is_write(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(ch in mode for ch in "wax+")
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def _audit(event, args):
    if event == "open":
        path, mode, flags = args
        if path is not None and _is_write(mode, flags) and not _inside_root(path):
            raise PermissionError(f"sandbox: writing {path!r} outside the working directory is not allowed")
    elif event in BLOCKED_EVENTS:
        raise PermissionError(f"sandbox: {event} is not allowed")
    elif event in PATH_EVENTS:
        for index in PATH_EVENTS[event]:
            if index < len(args) and args[index] is not None and not _inside_root(args[index]):
                raise PermissionError(f"sandbox: {event} on {args[index]!r} outside the working directory")


def _limit(kind, soft, hard=None):
    hard = soft if hard is None else hard
    resource.setrlimit(kind, (soft, hard))


def main(argv):
    memory_mb, cpu_seconds, file_mb, program = int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    _limit(resource.RLIMIT_AS, memory_mb * 2**20)
    _limit(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    _limit(resource.RLIMIT_FSIZE, file_mb * 2**20)
    _limit(resource.RLIMIT_CORE, 0)
    with open(program, encoding="utf-8") as handle:
        source = handle.read()
    code = compile(source, program, "exec")
    sys.addaudithook(_audit)
    sys.argv = [program]
    exec(code, {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__})


if __name__ == "__main__":
    main(sys.argv)
