"""`loanrisk serve` as a child process of an integration test (server_test.py, abuse_test.py): started on a
port of its own choosing (--port 0, read from the start-up line on stderr), its stderr kept in a log file."""
import os
import re
import signal
import subprocess
import time


class ServerProcess:
    def __init__(self, binary, model, log_dir, *args, env=None, preexec_fn=None):
        full_env = dict(os.environ)
        full_env.pop("LOANRISK_ADMIN_TOKEN", None)
        full_env.update(env or {})
        cmd = [binary, "serve", "--model", model, "--port", "0", "--host", "127.0.0.1", *args]
        # Append mode: the child shares this file's offset, which our seek-and-read below moves; without
        # O_APPEND the child's next write could land at offset 0, over the start of the log (seen under TSan:
        # the start-up line lost its first half, and with it the port).
        path = os.path.join(log_dir, "server-%d.log" % id(self))
        open(path, "w").close()  # empty: id(self) may name an earlier instance's log
        self.log = open(path, "a+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, env=full_env,
                                     preexec_fn=preexec_fn)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            self.log.seek(0)
            m = re.search(r"https?://[^:]+:(\d+) ", self.log.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.stderr())
            else:
                time.sleep(0.05)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + self.stderr())

    def stderr(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and returns the exit code (waiting at most `timeout` seconds)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)
