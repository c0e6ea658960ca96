"""Many users at once: 50 sessions of the rehousing page, each changing its end month every
10 s, on two ``relog serve`` processes (one per core, as behind the deployment's nginx).

The client is Bokeh's own websocket protocol, spoken the way a browser's BokehJS speaks it
(a browser per user would measure the 2 cores' rendering, not the server): each session
requests the page (its HTML, a token), opens the websocket, pulls the document, says it is
ready (the filters are then sent), then chooses an end month at random every 10 s. The time
of a change runs from sending the new value to receiving the message that redraws the chart
and the key figures (one message: the page's refresh holds the document). Memory is the
servers' resident memory: per session (50 opened minus none); once every session closed
(Bokeh drops a closed session 10 to 15 s later), whether the servers hold their sessions no
more and use that memory again for a second wave of 50 (CPython keeps its arenas: resident
memory stays at its high-water mark, a leak would grow it again); and, over a long run
(``tenue``), whether it stays flat. Issue 19's targets: p95 ≤ 1 s, ≤ 30 MB per session,
memory released after the sessions close, flat within ±10 % over 30 minutes.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.dashboard import Measure, _p95, report
from bench.flood import _counters
from data_access.formatting import month_label

SESSIONS, PROCESSES, PERIOD_S = 50, 2, 10.0
TARGETS = {"p95_s": 1.0, "session_mb": 30.0, "flat": 0.10}
OPENING = "?debut=2025-01&fin=2025-12"
START = "2025-02"  # end months after the opening's start (a period of two months or more)
_TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')


@dataclass
class Client:
    """One user's session, spoken to in Bokeh's protocol."""

    base: str  # http://127.0.0.1:port
    route: str = "app"
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    opened_s: float | None = None
    broken: bool = False
    _ws: object = None
    _kpi: str | None = None
    _chart: str | None = None
    _select: str | None = None
    _options: list[str] = field(default_factory=list)
    _value: str | None = None

    # ------------------------------------------------------------------ protocol
    async def _send(self, msgtype: str, content: dict) -> None:
        header = {"msgid": uuid.uuid4().hex.upper(), "msgtype": msgtype}
        for frame in (header, {}, content):
            await self._ws.write_message(json.dumps(frame))

    async def _receive(self) -> tuple[dict, dict]:
        """The next message: (header, content); its buffers read and dropped."""
        frames = []
        while len(frames) < 3:
            frame = await self._ws.read_message()
            if frame is None:
                raise ConnectionError("websocket fermé")
            frames.append(frame)
        header = json.loads(frames[0])
        for _ in range(2 * int(header.get("num_buffers", 0))):
            await self._ws.read_message()
        return header, json.loads(frames[2])

    # ------------------------------------------------------------------ the page
    async def open(self) -> None:
        from tornado.httpclient import AsyncHTTPClient
        from tornado.websocket import websocket_connect

        start = time.perf_counter()
        answer = await AsyncHTTPClient().fetch(f"{self.base}/{self.route}{OPENING}")
        token = _TOKEN.search(answer.body.decode()).group(1)
        ws_url = self.base.replace("http", "ws", 1) + f"/{self.route}/ws{OPENING}"
        self._ws = await websocket_connect(
            ws_url, subprotocols=["bokeh", token], max_message_size=64 * 2**20
        )
        await self._receive()  # ACK
        await self._send("PULL-DOC-REQ", {})
        while True:
            header, content = await self._receive()
            if header["msgtype"] == "PULL-DOC-REPLY":
                break
        self._find(content["doc"])
        ready = {"type": "event", "name": "document_ready", "values": {"type": "map"}}
        event = {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ready}
        await self._send("PATCH-DOC", {"events": [event]})
        while self._select is None:  # the filters arrive once the page said it is ready
            header, content = await self._receive()
            if header["msgtype"] == "PATCH-DOC":
                self._find(content)
        self.opened_s = time.perf_counter() - start

    def _find(self, tree) -> None:
        """The key figures' pane, the chart's data and the end month's select, by what they
        hold (ids differ from session to session)."""
        for model in _models(tree):
            attrs = model.get("attributes", {})
            text = attrs.get("text")
            if isinstance(text, str) and re.search(r'data-valeur=(&quot;|")relogements', text):
                self._kpi = model["id"]
            data = attrs.get("data")
            if model.get("name") == "ColumnDataSource" and "mois" in json.dumps(data)[:2000]:
                self._chart = self._chart or model["id"]
            if "relog-filter-end" in attrs.get("css_classes", []) and "options" in attrs:
                self._select = model["id"]
                self._options = [o[0] if isinstance(o, list) else o for o in attrs["options"]]
                self._value = attrs.get("value")

    async def change(self, timeout_s: float = 60.0) -> None:
        """Choose another end month (from the opening's start on); wait for the message
        that redraws the chart and writes the new period (« … à juin 2025 »): that one
        change's refresh, not a late message of an earlier one."""
        choices = [o for o in self._options if o != self._value and o >= START]
        value = random.choice(choices)
        label = month_label(date.fromisoformat(value[:10]))
        event = {"kind": "ModelChanged", "model": {"id": self._select}, "attr": "value"}
        start = time.perf_counter()
        await self._send("PATCH-DOC", {"events": [{**event, "new": value}]})
        self._value = value
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    header, content = await self._receive()
                    if header["msgtype"] != "PATCH-DOC":
                        continue
                    events = content.get("events", [])
                    touched = {e.get("model", {}).get("id") for e in events}
                    if self._chart in touched and f"à {label}" in json.dumps(
                        events, ensure_ascii=False
                    ):
                        self.latencies.append(time.perf_counter() - start)
                        return
        except TimeoutError:  # a message may be half read: this session stops there
            self.failures += 1
            self.broken = True

    async def run(self, until: float) -> None:
        await asyncio.sleep(random.uniform(0, PERIOD_S))  # users do not click in step
        while time.monotonic() < until and not self.broken:
            started = time.monotonic()
            await self.change()
            await asyncio.sleep(max(0.0, PERIOD_S - (time.monotonic() - started)))

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


def _models(tree):
    """Every serialized Bokeh model in a document or a patch (JSON), depth first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "object" and "id" in node and "attributes" in node:
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def run_apart(coroutine):
    """``asyncio.run(coroutine)`` on a thread of its own: the caller's thread may already
    run an event loop (Playwright's synchronous API leaves one in a test worker)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _rss_mb(pids: list[int]) -> float:
    import psutil

    return sum(psutil.Process(pid).memory_info().rss for pid in pids) / 2**20


def _sessions(bases: list[str]) -> int:
    """The sessions the servers hold (their metrics)."""
    return int(sum(_counters(base).get("relog_sessions", 0) for base in bases))


async def _scenario(bases, pids, sessions, duration_s, sample_s, log):
    clients = [Client(bases[i % len(bases)]) for i in range(sessions)]
    for base in bases:  # each route's first session (the HTML's model) and the caches
        warm = Client(base)
        await warm.open()
        await warm.change()
        warm.close()
    baseline = _rss_mb(pids)
    for client in clients:  # users arriving over a few seconds
        await client.open()
    opened = _rss_mb(pids)
    log(f"{sessions} sessions ouvertes ({_sessions(bases)} sur les serveurs)")
    until = time.monotonic() + duration_s
    tasks = [asyncio.ensure_future(c.run(until)) for c in clients]
    samples = []
    while time.monotonic() < until:
        await asyncio.sleep(min(sample_s, max(0.0, until - time.monotonic())))
        samples.append((duration_s - (until - time.monotonic()), _rss_mb(pids)))
        changes = sum(len(c.latencies) for c in clients)
        log(f"{samples[-1][0]:.0f} s : {changes} changements, {samples[-1][1]:.0f} Mo")
    await asyncio.gather(*tasks)
    peak = _rss_mb(pids)
    for client in clients:
        client.close()
    await asyncio.sleep(20)  # dropped 10 s after their last connection, checked every 5 s
    left = _sessions(bases)
    closed = _rss_mb(pids)
    # a second wave as large: the memory the first one held is used again, or it leaked
    again = [Client(bases[i % len(bases)]) for i in range(sessions)]
    for client in again:
        await client.open()
    for client in again:
        await client.change()
        client.close()
    await asyncio.sleep(20)
    second = _rss_mb(pids)
    return clients, baseline, opened, peak, closed, left, samples, second


def measure(
    demo_path: Path,
    sessions: int = SESSIONS,
    processes: int = PROCESSES,
    duration_s: float = 120.0,
    sample_s: float = 10.0,
    log=print,
) -> dict:
    """Serve ``processes`` servers, run ``sessions`` users for ``duration_s``; the raw
    figures (seconds, MB)."""
    from contextlib import ExitStack

    from bench.served_app import ServedApp

    with ExitStack() as stack:
        apps = [stack.enter_context(ServedApp(demo_path)) for _ in range(processes)]
        bases = [a.url.replace("localhost", "127.0.0.1") for a in apps]
        scenario = _scenario(bases, [a.pid for a in apps], sessions, duration_s, sample_s, log)
        clients, baseline, opened, peak, closed, left, samples, second = run_apart(scenario)
    latencies = [s for c in clients for s in c.latencies]
    return {
        "sessions": sessions,
        "processes": processes,
        "latencies": latencies,
        "failures": sum(c.failures for c in clients),
        "opening": [c.opened_s for c in clients],
        "baseline_mb": baseline,
        "opened_mb": opened,
        "peak_mb": peak,
        "closed_mb": closed,
        "sessions_left": left,
        "second_wave_mb": second,
        "samples": samples,
    }


def measures(raw: dict, soak: bool = False) -> list[Measure]:
    n, lat = raw["sessions"], raw["latencies"]
    per_session = (raw["opened_mb"] - raw["baseline_mb"]) / n
    grown = raw["peak_mb"] - raw["baseline_mb"]
    reused = max(0.0, raw["second_wave_mb"] - raw["closed_mb"])
    out = [
        Measure(
            f"changement de mois, {n} sessions, {raw['processes']} processus "
            f"({len(lat)} changements, {raw['failures']} sans réponse en 60 s)",
            statistics.median(lat),
            _p95(lat),
            "s",
            f"p95 ≤ {TARGETS['p95_s']:g} s",
            _p95(lat) <= TARGETS["p95_s"] and raw["failures"] == 0,
        ),
        Measure(
            "ouverture d'une session (HTML, websocket, document, filtres ; informatif)",
            statistics.median(raw["opening"]),
            _p95(raw["opening"]),
            "s",
            "—",
            None,
        ),
        Measure(
            f"mémoire par session ({n} ouvertes)",
            per_session,
            per_session,
            "Mo",
            f"≤ {TARGETS['session_mb']:g} Mo",
            per_session <= TARGETS["session_mb"],
        ),
        Measure(
            f"sessions fermées : libérées 20 s après ({raw['sessions_left']} restante(s) : "
            "celles d'amorçage)",
            raw["sessions_left"],
            raw["sessions_left"],
            "session(s)",
            f"≤ {raw['processes']}",
            raw["sessions_left"] <= raw["processes"],
        ),
        Measure(
            f"mémoire réemployée : une seconde vague de {n} sessions, après fermeture de la "
            f"première (+{grown:.0f} Mo), ajoute",
            reused,
            reused,
            "Mo",
            f"≤ {0.1 * grown:.0f} Mo (10 % de la première)",
            reused <= 0.1 * grown,
        ),
    ]
    if soak:
        settled = [mb for t, mb in raw["samples"] if t >= 300] or [raw["samples"][-1][1]]
        spread = (max(settled) - min(settled)) / min(settled)
        out.append(
            Measure(
                f"tenue {raw['samples'][-1][0] / 60:.0f} min : écart de la mémoire après "
                f"5 min ({min(settled):.0f}–{max(settled):.0f} Mo)",
                100 * spread,
                100 * spread,
                "%",
                f"± {100 * TARGETS['flat']:g} %",
                spread <= 2 * TARGETS["flat"],
            )
        )
    return out


def main(demo_path: Path, duration_s: float = 120.0, soak: bool = False) -> str:
    title = "tenue de 30 minutes" if soak else "50 sessions simultanées"
    print(f"Sessions : {title} (protocole websocket de Bokeh)…", flush=True)
    raw = measure(demo_path, duration_s=duration_s, sample_s=30.0 if soak else 10.0)
    text = report(measures(raw, soak), f"{title} (département)")
    memory = ", ".join(f"{t / 60:.1f} min {mb:.0f} Mo" for t, mb in raw["samples"])
    return (
        f"{text}\n\nMémoire des serveurs : {raw['baseline_mb']:.0f} Mo avant, "
        f"{raw['opened_mb']:.0f} Mo les sessions ouvertes, {raw['peak_mb']:.0f} Mo à la fin, "
        f"{raw['closed_mb']:.0f} Mo après fermeture (CPython garde ses arènes : la mémoire "
        f"des sessions fermées sert aux suivantes), {raw['second_wave_mb']:.0f} Mo après une "
        f"seconde vague. Relevés : {memory}."
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/demo-departement.duckdb")))
