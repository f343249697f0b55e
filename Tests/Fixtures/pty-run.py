#!/usr/bin/env python3
"""Runs a command as a user at a terminal would: on a new pty of ROWSxCOLS that is its
controlling terminal. STEPS (JSON) is a list of ["wait", TEXT] (until the screen shows it,
20 s at most), ["send", TEXT], ["resize", ROWS, COLS], ["sleep", SECONDS]. Prints what the
terminal showed, then a last line EXIT=<status>.
Usage: pty-run.py ROWS COLS STEPS -- COMMAND [ARG]..."""
import fcntl, json, os, select, struct, sys, termios, time

rows, cols, steps = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
cmd = sys.argv[5:]
master, slave = os.openpty()
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execvp(cmd[0], cmd)
os.close(slave)
screen = b""

def pump(timeout):
    global screen
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            return False
        if not data:
            return False
        screen += data
    return True

for step in steps:
    if step[0] == "wait":
        deadline = time.time() + 20
        while step[1].encode() not in screen and time.time() < deadline:
            if not pump(0.1):
                break
    elif step[0] == "send":
        os.write(master, step[1].encode())
    elif step[0] == "resize":
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", step[1], step[2], 0, 0))
    elif step[0] == "sleep":
        end = time.time() + step[1]
        while time.time() < end:
            pump(0.05)
deadline = time.time() + 30
while time.time() < deadline and pump(0.1):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(screen.decode(errors="replace"))
print("\nEXIT=%d" % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)))
