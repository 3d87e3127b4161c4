#!/usr/bin/env python3
"""`loanrisk score` as a stage of a real Dask distributed cluster, with a worker killed mid-job.

A scheduler and two workers run as separate processes (Debian's python3-distributed 2022.12, `dask scheduler`
and `dask worker`, each worker with one thread and its own local directory). A 1,000,000-loan CSV
portfolio (tools/make_portfolio) is cut into 20 partitions of 50,000 rows at line boundaries; a Client maps
each partition through `loanrisk score --no-header --summary-format partial` (a subprocess, stdin -> stdout).
Once some partitions are done and the victim worker is inside `loanrisk`, the victim is SIGKILLed with its
whole process group (as if its host died) and a replacement worker is started; Dask recomputes everything
the victim was running or holding. The concatenated output must equal the single-machine run byte for byte,
ids P-1..P-1000000 in order, and the partial summaries merged by `loanrisk score --merge-summaries` must
equal the single-machine summary.

Two network modes:
- default: every process on loopback (127.0.0.1) in this network namespace;
- --netns: every process is its own host. The scheduler, worker-a, worker-b and the replacement worker-c each
  run (`ip netns exec`) in their own network namespace with `lo` and an `eth0` whose veth peer is on a Linux
  bridge in the root namespace, on a free private /24 (10.231.N.0/24, the bridge .1, the hosts .2-.5). The
  scheduler and the workers listen on and advertise their namespace address (`--host`); the Client, in this
  process, reaches them through the bridge. The test asserts that each process really is in its namespace
  (/proc/PID/ns/net) and that every worker address is its namespace address. Names carry the pid (namespaces
  lrdask-PID-HOST, bridge lrbrPID, veths lrPIDvI), so concurrent runs never share one; everything is removed
  in a finally block (SIGTERM included), and what a SIGKILLed run left behind (its pid gone) is removed by the
  next --netns run. Needs root and iproute2; the files are still read from this machine's /tmp (a namespace
  separates the network only).

usage: dask_stage_test.py [--netns] LOANRISK_BINARY SOURCE_DIR [DATA_DIR]
Exit 77 (skipped) when python3-distributed cannot be imported and LOANRISK_REQUIRE_DATA is unset; with
--netns, also when network namespaces cannot be made here (not root, no `ip`, refused by the kernel), even
under LOANRISK_REQUIRE_DATA (that mode is optional). Must be run from a file (Dask pickles by reference what
it can import; NOTES: worker processes re-import __main__).
"""
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROWS = 1_000_000
PARTITIONS = 20              # 50,000 rows each, each with the CSV header line
KILL_AFTER_DONE = 4          # partitions finished (cluster-wide) before the victim may be killed
DEADLINE_S = 300             # the whole Dask part; ctest's TIMEOUT (600) is the outer bound
HOSTS = ("scheduler", "worker-a", "worker-b", "worker-c")   # worker-c: the replacement


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def require_distributed():
    """Imports distributed, re-executing under Debian's /usr/bin/python3 when the python3 running us (pyenv,
    a venv) cannot see Debian's dist-packages. Returns the module, or exits 77 / 1."""
    try:
        import distributed  # noqa: F401
        return distributed
    except ImportError:
        pass
    system_python = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system_python) and os.access(system_python, os.X_OK) \
            and not os.environ.get("LOANRISK_DASK_REEXEC"):
        os.environ["LOANRISK_DASK_REEXEC"] = "1"
        os.execv(system_python, [system_python, os.path.abspath(__file__)] + sys.argv[1:])
    if os.environ.get("LOANRISK_REQUIRE_DATA"):
        print("FAIL: python3-distributed is required (LOANRISK_REQUIRE_DATA) but cannot be imported", flush=True)
        sys.exit(1)
    print("SKIP: python3-distributed is not installed (apt-get install python3-distributed)", flush=True)
    sys.exit(77)


def score_partition(index, path, start, end, header, binary, model):
    """One Dask task: rows [start, end) (byte offsets at line boundaries) of the portfolio CSV, with the header
    line in front, through `loanrisk score` on stdin -> stdout. Returns (index, scored bytes, partial summary
    text, who ran it).

    Retries are safe because this is a pure function of its arguments: the same bytes in give the same scored
    lines and the same partial summary out, on any worker, any number of times; it writes nothing anyone else
    reads (its summary goes to a private temp file, removed before returning). So when a worker dies and Dask
    re-runs the tasks it was running, or recomputes results that were held only in its memory, the re-run is
    indistinguishable from the lost one, and taking exactly one result per partition index (the final gather)
    can neither lose nor duplicate a loan. (The `who` field, for the test's own assertions, is metadata only.)

    On a real cluster `path` would be on shared storage (NFS, or HDFS/S3 through fsspec as dask.bytes does);
    here every worker is on this machine."""
    import os
    import subprocess
    import tempfile
    from distributed import get_worker
    with open(path, "rb") as f:
        f.seek(start)
        rows = f.read(end - start)
    # The worker's own --local-directory: a task killed with its worker leaves nothing in /tmp.
    fd, summary_path = tempfile.mkstemp(prefix=f"part-{index}-", suffix=".json",
                                        dir=get_worker().local_directory)
    os.close(fd)
    try:
        # One scoring thread: each Dask worker has one thread, and there are as many workers as cores.
        proc = subprocess.run([binary, "score", "--model", model, "--format", "csv", "--no-header",
                               "--threads", "1", "--summary-format", "partial", "--summary", summary_path],
                              input=header + rows, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"loanrisk score failed on partition {index} (exit {proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        with open(summary_path) as f:
            partial = f.read()
    finally:
        os.unlink(summary_path)
    return index, proc.stdout, partial, {"worker": get_worker().address, "pid": os.getpid()}


class Service:
    """A `dask scheduler` / `dask worker` process in its own session (so that it and any `loanrisk` it runs
    die together with one killpg), tied to this test's life with PR_SET_PDEATHSIG when setpriv exists."""

    def __init__(self, name, argv, logdir):
        self.name = name
        self.logpath = os.path.join(logdir, f"{name}.log")
        self.log = open(self.logpath, "w")
        pdeath = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
        self.proc = subprocess.Popen(pdeath + argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid

    def signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()

    def tail(self, n=40):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Loopback:
    """The default network: every host is 127.0.0.1 in this process's network namespace."""
    mode = "loopback"

    def setup(self, hosts):
        pass

    def teardown(self):
        pass

    def address(self, host):
        return "127.0.0.1"

    def wrap(self, host, argv):
        return argv

    def netns_inode(self, host):
        return os.stat("/proc/self/ns/net").st_ino

    def describe(self):
        return "every process on 127.0.0.1 in this network namespace"


class NetnsUnavailable(Exception):
    """Network namespaces cannot be made here: --netns is skipped (77)."""


class Network:
    """--netns: each host in its own network namespace, the namespaces joined by a bridge like hosts on a switch.

    The bridge lives in the root namespace with the subnet's .1, so this process (the Client) reaches every host
    through it; each host gets `lo` up and a veth pair, `eth0` inside with the host's address, the other end on
    the bridge. Every name carries this process's pid; teardown() removes whatever setup() got as far as."""
    mode = "netns"
    PREFIX = "lrdask-"           # namespaces lrdask-PID-HOST; interface names: at most 15 characters
    BRIDGE = "lrbr"

    def __init__(self):
        self.ip = next((p for p in (shutil.which("ip"), "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
                        if p and os.access(p, os.X_OK)), None)
        self.pid = os.getpid()
        self.bridge = f"{self.BRIDGE}{self.pid}"
        self.namespaces = {}     # host -> namespace name, once created
        self.veths = []          # the root-namespace ends, once created
        self.bridge_made = False
        self.addresses = {}      # host -> IPv4 address
        self.subnet = None

    def run(self, *args, probe=False):
        """`ip ARGS`; its stdout. A failure is a SKIP while probing (can namespaces be made here at all?), a
        FAIL afterwards."""
        proc = subprocess.run([self.ip, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            what = f"`ip {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip()}"
            if probe:
                raise NetnsUnavailable(what)
            raise SystemExit(f"FAIL: {what}")
        return proc.stdout

    def setup(self, hosts):
        if os.geteuid() != 0:
            raise NetnsUnavailable("needs root (network namespaces, a bridge, veth pairs)")
        if not self.ip:
            raise NetnsUnavailable("needs `ip` from iproute2 (apt-get install iproute2)")
        self.sweep_stale()
        # The probe: a container without CAP_SYS_ADMIN / CAP_NET_ADMIN, or a kernel without bridges or veths,
        # refuses one of these three; past them, a failure is a real one.
        self.add_namespace(hosts[0], probe=True)
        self.run("link", "add", self.bridge, "type", "bridge", probe=True)
        self.bridge_made = True
        self.add_veth(hosts[0], probe=True)
        self.subnet = self.free_subnet()
        self.run("addr", "add", f"{self.subnet[1]}/{self.subnet.prefixlen}", "dev", self.bridge)
        self.run("link", "set", self.bridge, "up")
        for i, host in enumerate(hosts):
            if i:
                self.add_namespace(host)
                self.add_veth(host)
            ns = self.namespaces[host]
            self.addresses[host] = str(self.subnet[2 + i])
            self.run("link", "set", self.veths[i], "master", self.bridge, "up")
            self.run("-n", ns, "addr", "add", f"{self.addresses[host]}/{self.subnet.prefixlen}", "dev", "eth0")
            self.run("-n", ns, "link", "set", "eth0", "up")
            self.run("-n", ns, "link", "set", "lo", "up")

    def add_namespace(self, host, probe=False):
        ns = f"{self.PREFIX}{self.pid}-{host}"
        self.run("netns", "add", ns, probe=probe)
        self.namespaces[host] = ns

    def add_veth(self, host, probe=False):
        veth = f"lr{self.pid}v{len(self.veths)}"
        # The peer is made inside the namespace, so its name (eth0) never meets the root namespace's.
        self.run("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", self.namespaces[host],
                 probe=probe)
        self.veths.append(veth)

    def free_subnet(self):
        """A /24 in 10.231.0.0/16 that overlaps no address or route here, starting from one derived from the pid
        (two concurrent runs would otherwise race for the same first free one)."""
        used = []
        for line in self.run("-4", "-o", "addr", "show").splitlines():
            words = line.split()
            if "inet" in words:
                used.append(ipaddress.ip_network(words[words.index("inet") + 1], strict=False))
        for line in self.run("-4", "route", "show", "table", "all").splitlines():
            for word in line.split()[:2]:   # "10.0.0.0/8 dev ...", "local 127.0.0.1 dev ...", "default via ..."
                try:
                    used.append(ipaddress.ip_network(word, strict=False))
                    break
                except ValueError:
                    pass
        for k in range(254):
            candidate = ipaddress.ip_network(f"10.231.{(self.pid + k) % 254 + 1}.0/24")
            if not any(candidate.overlaps(u) for u in used):
                return candidate
        raise SystemExit("FAIL: no free /24 in 10.231.0.0/16 for the bridge")

    def kill_inside(self, ns):
        """SIGKILLs whatever still runs in namespace ns (the services are killed before; nothing may outlive
        the run, and a namespace with a process left in it stays alive after `ip netns del`)."""
        proc = subprocess.run([self.ip, "netns", "pids", ns], capture_output=True, text=True)
        for pid in proc.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    def teardown(self):
        for ns in self.namespaces.values():
            self.kill_inside(ns)
        # Deleting one end of a veth pair deletes both; deleting the namespaces would too, but only once empty.
        leftovers = []
        steps = ([["link", "del", v] for v in self.veths] + [["netns", "del", ns] for ns in self.namespaces.values()]
                 + ([["link", "del", self.bridge]] if self.bridge_made else []))
        for argv in steps:
            proc = subprocess.run([self.ip, *argv], capture_output=True, text=True)
            if proc.returncode != 0:
                leftovers.append(f"`ip {' '.join(argv)}`: {proc.stderr.strip()}")
        if leftovers:
            log("netns teardown: " + "; ".join(leftovers))
        elif self.namespaces or self.bridge_made:
            log(f"netns teardown: removed {len(self.namespaces)} namespaces, {len(self.veths)} veth pairs and "
                f"{'bridge ' + self.bridge if self.bridge_made else 'no bridge'}")
        self.namespaces, self.veths, self.bridge_made = {}, [], False

    def sweep_stale(self):
        """Removes the namespaces and bridges of earlier --netns runs whose process is gone: a run killed with
        SIGKILL (no finally ran) leaves them behind. A run still alive is left alone."""
        def gone(pid):
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
            except PermissionError:
                return False
        removed = []
        for line in self.run("netns", "list").splitlines():
            ns = line.split()[0] if line.split() else ""
            m = re.fullmatch(re.escape(self.PREFIX) + r"(\d+)-[a-z-]+", ns)
            if m and gone(int(m[1])):
                self.kill_inside(ns)
                subprocess.run([self.ip, "netns", "del", ns], capture_output=True)
                removed.append(ns)
        for line in self.run("-o", "link", "show", "type", "bridge").splitlines():
            m = re.match(r"\d+: (" + re.escape(self.BRIDGE) + r"(\d+))[:@]", line)
            if m and gone(int(m[2])):
                subprocess.run([self.ip, "link", "del", m[1]], capture_output=True)
                removed.append(m[1])
        if removed:
            log(f"netns: removed what earlier, killed runs left behind: {' '.join(removed)}")

    def address(self, host):
        return self.addresses[host]

    def wrap(self, host, argv):
        # `ip netns exec` execs the command in place (no fork), so the pid Popen returns, and the process group
        # the victim's kill signals, are the dask process's own; main() checks that on /proc.
        return [self.ip, "netns", "exec", self.namespaces[host]] + argv

    def netns_inode(self, host):
        return os.stat(f"/run/netns/{self.namespaces[host]}").st_ino

    def describe(self):
        return (f"bridge {self.bridge} {self.subnet[1]}/{self.subnet.prefixlen} in the root namespace; "
                + ", ".join(f"{h} {self.namespaces[h]} {self.addresses[h]}" for h in self.namespaces))


def descendants(pid):
    """{pid: (comm, state)} of every live descendant of pid, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append((int(entry), comm, fields[0]))
    found, todo = {}, [pid]
    while todo:
        for child, comm, state in children.get(todo.pop(), []):
            found[child] = (comm, state)
            todo.append(child)
    return found


def partition_offsets(path, partitions, rows):
    """(header bytes, [(start, end)]) cutting the data rows into `partitions` runs of equal row count."""
    per = rows // partitions
    assert per * partitions == rows
    offsets = []
    with open(path, "rb") as f:
        header = f.readline()
        pos = f.tell()
        for i, line in enumerate(f):
            if i % per == 0:
                offsets.append(pos)
            pos += len(line)
        offsets.append(pos)
    assert len(offsets) == partitions + 1, (len(offsets), partitions)
    return header, list(zip(offsets[:-1], offsets[1:]))


def wait_for(pred, timeout, what, services=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        for s in services:
            if s.proc.poll() is not None:
                raise SystemExit(f"FAIL: {s.name} exited (code {s.proc.returncode}) while waiting for {what}:\n"
                                 f"{s.tail()}")
        time.sleep(0.05)
    raise SystemExit(f"FAIL: timed out after {timeout}s waiting for {what}")


def main():
    args = [a for a in sys.argv[1:] if a != "--netns"]
    netns = len(args) < len(sys.argv) - 1
    if not 2 <= len(args) <= 3 or any(a.startswith("-") for a in args):
        print(__doc__)
        return 2
    distributed = require_distributed()
    from distributed import Client, wait
    from distributed.comm import get_address_host

    binary, src = os.path.abspath(args[0]), os.path.abspath(args[1])
    data_dir = os.path.abspath(args[2]) if len(args) > 2 else os.path.join(src, "..", "shared", "data")
    data = os.path.join(data_dir, "credit_risk_dataset.csv")
    model = os.path.join(src, "models", "credit_risk_pd.json")
    if not os.path.exists(data):
        if os.environ.get("LOANRISK_REQUIRE_DATA"):
            print(f"FAIL: {data} is required but missing", flush=True)
            return 1
        print(f"SKIP: {data} not found", flush=True)
        return 77
    log(f"distributed {distributed.__version__} under {sys.executable}; loanrisk {binary}")

    # SIGTERM (ctest's timeout, a CI cancel) unwinds through the finally blocks below like Ctrl-C does.
    def on_sigterm(*_):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, on_sigterm)

    t0 = time.time()
    work = tempfile.mkdtemp(prefix="loanrisk-dask-")
    services, client = [], None
    network = Network() if netns else Loopback()
    try:
        try:
            network.setup(HOSTS)
        except NetnsUnavailable as e:
            print(f"SKIP: --netns: network namespaces cannot be made here: {e}", flush=True)
            return 77
        log(f"mode {network.mode}: {network.describe()}")

        # The portfolio and the single-machine reference run.
        whole = os.path.join(work, "whole.csv")
        with open(whole, "wb") as out:
            subprocess.run([sys.executable, os.path.join(src, "tools", "make_portfolio"), str(ROWS),
                            "--format", "csv", "--data", data], stdout=out, check=True)
        with open(whole, "rb") as inp, open(os.path.join(work, "single.out"), "wb") as out:
            subprocess.run([binary, "score", "--model", model, "--format", "csv", "--no-header",
                            "--summary", os.path.join(work, "single.json")], stdin=inp, stdout=out, check=True)
        with open(os.path.join(work, "single.out"), "rb") as f:
            single_out = f.read()
        with open(os.path.join(work, "single.json")) as f:
            single_summary = json.load(f)
        header, ranges = partition_offsets(whole, PARTITIONS, ROWS)
        log(f"portfolio {os.path.getsize(whole) / 1e6:.0f} MB, single-machine run "
            f"{len(single_out) / 1e6:.0f} MB, {PARTITIONS} partitions ({time.time() - t0:.1f}s)")

        # The cluster: one scheduler, two one-thread workers, as separate processes, each on its host's address
        # (all 127.0.0.1, or with --netns each in its own namespace).
        py = sys.executable
        scheduler_file = os.path.join(work, "scheduler.json")
        services.append(Service("scheduler", network.wrap("scheduler", [
            py, "-m", "distributed.cli.dask_scheduler", "--host", network.address("scheduler"), "--port", "0",
            "--no-dashboard", "--scheduler-file", scheduler_file]), work))
        wait_for(lambda: os.path.exists(scheduler_file) and os.path.getsize(scheduler_file) > 0, 60,
                 "the scheduler file", services)
        time.sleep(0.1)  # the file is written in one go, but let a reader never see half of it
        with open(scheduler_file) as f:
            address = json.load(f)["address"]

        def start_worker(name):
            local = os.path.join(work, name)
            os.makedirs(local)
            s = Service(name, network.wrap(name, [
                py, "-m", "distributed.cli.dask_worker", address, "--name", name, "--host", network.address(name),
                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory", local,
                "--death-timeout", "60"]), work)
            services.append(s)
            return s

        def check_host(service, service_address):
            """The pid Popen returned (the process group the victim's kill signals) is the dask process itself,
            in its host's network namespace, and the address it advertises is its host's."""
            with open(f"/proc/{service.pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            assert any(a.startswith(b"distributed.cli.dask_") for a in argv), (
                f"{service.name}: pid {service.pid} runs {b' '.join(argv[:5])!r}, not the dask process")
            assert os.stat(f"/proc/{service.pid}/ns/net").st_ino == network.netns_inode(service.name), (
                f"{service.name}: pid {service.pid} is not in its host's network namespace")
            assert get_address_host(service_address) == network.address(service.name), (
                f"{service.name} advertises {service_address}, not its host's address {network.address(service.name)}")

        workers = [start_worker("worker-a"), start_worker("worker-b")]
        client = Client(address, timeout=60)
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 60, "two workers", services)
        by_name = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        check_host(services[0], address)
        for w in workers:
            check_host(w, by_name[w.name])
        victim = workers[0]
        victim_address = by_name[victim.name]
        log(f"scheduler {address}, workers {sorted(by_name.values())}; victim {victim.name} = {victim_address}")

        t_job = time.time()
        futures = client.map(score_partition, range(PARTITIONS), [whole] * PARTITIONS,
                             [a for a, _ in ranges], [b for _, b in ranges], [header] * PARTITIONS,
                             [binary] * PARTITIONS, [model] * PARTITIONS,
                             key=[f"loanrisk-score-{i:02d}" for i in range(PARTITIONS)], pure=True)
        keys = {f.key: i for i, f in enumerate(futures)}

        # Kill the victim mid-job: once KILL_AFTER_DONE partitions are done and a `loanrisk` is running under the
        # victim, freeze its process group (SIGSTOP), check that it is still inside `loanrisk` with that task
        # not finished (a frozen worker cannot report it), then SIGKILL the group. If the task slipped through
        # between the check and the freeze, thaw it and try again.
        killed = None
        deadline = time.time() + DEADLINE_S
        while killed is None:
            if time.time() > deadline:
                raise SystemExit("FAIL: timed out before the victim could be killed")
            if all(f.status == "finished" for f in futures):
                raise SystemExit("FAIL: the job finished before a worker could be killed mid-job "
                                 "(partitions too small for this machine?)")
            for f in futures:
                if f.status == "error":
                    raise SystemExit(f"FAIL: partition {keys[f.key]} failed: {f.exception()}")
            done = sum(f.status == "finished" for f in futures)
            running = [p for p, (comm, state) in descendants(victim.pid).items() if comm == "loanrisk"]
            if done < KILL_AFTER_DONE or not running:
                time.sleep(0.005)
                continue
            victim.signal(signal.SIGSTOP)
            time.sleep(0.5)  # let the scheduler take in whatever the victim sent before it froze
            frozen = [p for p, (comm, state) in descendants(victim.pid).items() if comm == "loanrisk" and state == "T"]
            processing = set(client.processing(workers=[victim_address]).get(victim_address, []))
            in_flight = sorted(keys[k] for k in processing if futures[keys[k]].status == "pending")
            if not frozen or not in_flight:
                victim.signal(signal.SIGCONT)
                continue
            held = sorted(keys[k] for k, where in client.who_has().items()
                          if k in keys and tuple(where) == (victim_address,))
            finished_before = {keys[f.key] for f in futures if f.status == "finished"}
            victim.kill()
            killed = time.time()
            log(f"SIGKILLed {victim.name} at {killed - t_job:.2f}s into the job: {len(finished_before)} partitions "
                f"finished; the victim was processing partition(s) {in_flight} (one inside loanrisk, pid "
                f"{frozen[0]}) and was the only holder of finished partition(s) {held}")
        if not held:
            log("note: the victim held no finished results at the kill (it only lost its running task)")
        replacement = start_worker("worker-c")

        wait(futures, timeout=max(1, deadline - time.time()))
        results = client.gather(futures)
        t_done = time.time()
        n_workers = len(client.scheduler_info()["workers"])
        log(f"all {PARTITIONS} partitions gathered {t_done - killed:.2f}s after the kill "
            f"({t_done - t_job:.2f}s for the job; {n_workers} workers now)")

        # Every partition's result came from a live worker; the lost ones were recomputed elsewhere.
        assert [r[0] for r in results] == list(range(PARTITIONS)), "results out of partition order"
        by = {}
        for index, _, _, who in results:
            assert who["pid"] != victim.pid, f"partition {index}: result from the killed worker?"
            by.setdefault(who["worker"], []).append(index)
        log("results by worker: " + "; ".join(f"{w}: {sorted(v)}" for w, v in sorted(by.items())))
        wait_for(lambda: any(w["name"] == replacement.name for w in client.scheduler_info()["workers"].values()),
                 60, "the replacement worker", [replacement])
        replaced = next(a for a, w in client.scheduler_info()["workers"].items() if w["name"] == replacement.name)
        check_host(replacement, replaced)
        log(f"the replacement {replacement.name} = {replaced} computed {len(by.get(replaced, []))} partition(s)")
        hosts = {network.address(w.name) for w in workers + [replacement]}
        assert all(get_address_host(w) in hosts for w in by), f"results from workers {sorted(by)}, not on {hosts}"

        # The concatenation in partition order = the single-machine run, byte for byte; no loan lost or doubled.
        combined = b"".join(r[1] for r in results)
        lines = combined.split(b"\n")
        assert lines[-1] == b"", "output does not end with a newline"
        lines.pop()
        assert len(lines) == ROWS, f"{len(lines)} scored lines for {ROWS} loans"
        ids = [line.split(b",", 1)[0] for line in lines]
        bad = next((i for i, x in enumerate(ids) if x != b"P-%d" % (i + 1)), None)
        assert bad is None, f"line {bad + 1}: id {ids[bad]!r}, expected P-{bad + 1}"
        if combined != single_out:
            first = next(i for i, (a, b) in enumerate(zip(combined.split(b"\n"), single_out.split(b"\n")))
                         if a != b)
            raise AssertionError(f"output differs from the single-machine run at line {first + 1}")

        # The partial summaries, merged by loanrisk itself = the single-machine summary.
        parts = []
        for index, _, partial, _ in results:
            p = os.path.join(work, f"partial-{index:02d}.json")
            with open(p, "w") as f:
                f.write(partial)
            parts += ["--input", p]
        merged_path = os.path.join(work, "merged.json")
        subprocess.run([binary, "score", "--model", model, "--merge-summaries"] + parts
                       + ["--summary", merged_path], check=True)
        with open(merged_path) as f:
            merged = json.load(f)
        assert merged["summary"] == single_summary["summary"], (
            "merged summary differs from the single-machine run:\n"
            f"{json.dumps(merged['summary'], sort_keys=True)}\n{json.dumps(single_summary['summary'], sort_keys=True)}")
        for k in ("rows", "rows_scored", "rows_skipped"):
            assert merged.get(k) == single_summary.get(k), f"merged {k} {merged.get(k)} != {single_summary.get(k)}"
        log(f"PASS ({network.mode}): {ROWS} loans through {PARTITIONS} Dask partitions with a worker SIGKILLed "
            f"mid-job: output identical to the single-machine run ({len(combined)} bytes), merged summary "
            f"identical (total {time.time() - t0:.1f}s)")
        return 0
    except AssertionError as e:
        print(f"FAIL: {e}", flush=True)
        for s in services:
            print(f"--- {s.name} log tail ---\n{s.tail(20)}", flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        try:
            if client is not None:
                try:
                    client.close(timeout=10)
                except Exception as e:  # the cluster is going away anyway
                    log(f"client.close: {e!r}")
            for s in reversed(services):
                s.signal(signal.SIGCONT)
                s.kill()
            shutil.rmtree(work, ignore_errors=True)
        finally:
            network.teardown()  # after the services: a namespace with a process in it outlives its name


if __name__ == "__main__":
    sys.exit(main())
