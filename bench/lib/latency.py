"""Latency probes for bench/follow.sh and bench/attach.sh.

follow AGENT_TTY HOME ID N
    Starts `follow ID --json` and has the Session's program print N lines
    `T=<unix time>` (one every 50 ms, with python3 in the Session); for each
    output record on follow's stdout, the delay from the time printed to the
    time read. Prints median and p90.

attach AGENT_TTY HOME ID N
    Runs `attach ID` on a pseudo-terminal of its own (as a person's terminal),
    types one character N times into a `cat` running in the Session and
    times each from the write to the character appearing in attach's output.
    Prints median and p90, then detaches with Ctrl+\\.
"""

import json
import os
import pty
import select
import statistics
import subprocess
import sys
import time


def report(label, times):
    times.sort()
    print(f"{label}: median {statistics.median(times):.1f} ms, p90 "
          f"{times[int(len(times) * 0.9)]:.1f} ms over {len(times)}")


def follow(exe, home, sid, n):
    proc = subprocess.Popen([exe, "--home", home, "follow", sid, "--json"],
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    time.sleep(0.3)
    program = ("import time,sys\n"
               f"for i in range({n}):\n"
               "    print('T=%.6f' % time.time(), flush=True); time.sleep(0.05)\n")
    subprocess.run([exe, "--home", home, "run", sid, f"python3 -c \"{program}\"", "--no-wait"],
                   check=True, stdout=subprocess.DEVNULL)
    times = []
    for line in proc.stdout:
        now = time.time()
        record = json.loads(line)
        data = record.get("payload", {}).get("data", "") if record.get("type") == "output" else ""
        for part in data.split("T=")[1:]:
            try:
                times.append((now - float(part.split()[0])) * 1000)
            except ValueError:
                pass
        if len(times) >= n:
            break
    proc.kill()
    report("follow: program output -> line on follow's stdout", times)


def attach(exe, home, sid, n):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(exe, [exe, "--home", home, "attach", sid])
    def read_until(needle, deadline):
        buf = b""
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                buf += os.read(fd, 65536)
                if needle in buf:
                    return True
        return False
    read_until(b"\x1b[", time.time() + 5)
    time.sleep(0.5)
    # Drain what is left of the first frame.
    while select.select([fd], [], [], 0.2)[0]:
        os.read(fd, 65536)
    times = []
    for i in range(n):
        ch = chr(ord("a") + i % 26).encode()
        t0 = time.perf_counter()
        os.write(fd, ch)
        if read_until(ch, time.time() + 5):
            times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    os.write(fd, b"\x1c")
    os.waitpid(pid, 0)
    report("attach: key -> echo on the person's terminal", times)


{"follow": follow, "attach": attach}[sys.argv[1]](sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
