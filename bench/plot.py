"""The report's one plot: ingest rates (left) and query latency before/after (right).

matplotlib comes with the ``bench`` extra, which ``make bench`` installs; the gate's
environment does without it, so it is imported only here, when a plot is drawn.
"""

from pathlib import Path

from .latency import before_and_after

NEEDS = "matplotlib (the 'bench' extra: `make bench` installs it)"


def check_available() -> None:
    """Fail before a long run rather than after it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"error: the benchmark's plot needs {NEEDS}") from exc


def write(run, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rates, times) = plt.subplots(1, 2, figsize=(13, 6.5),
                                       gridspec_kw={"width_ratios": [1, 2.2]})
    _ingest(rates, [i for i in run.ingested if i.bare_s])
    _latency(times, run.latencies)
    fig.suptitle(f"IronArchive schema at scale {run.scale:g} "
                 f"({run.sizes.emails:,} e-mails), PostgreSQL "
                 f"{run.server['version'].split()[1]}, {run.started:%Y-%m-%d}")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ingest(ax, measured) -> None:
    names = [i.table for i in measured]
    x = range(len(names))
    full = [i.full_rate / 1000 for i in measured]
    bare = [i.bare_rate / 1000 for i in measured]
    ax.bar([k - 0.2 for k in x], bare, 0.4, label="bare table (no index, no constraint)",
           color="#9ecae1")
    ax.bar([k + 0.2 for k in x], full, 0.4, label="full schema", color="#3182bd")
    for k, i in zip(x, measured, strict=True):
        ax.annotate(f"bare/full = {i.bare_rate / i.full_rate:.1f}x",
                    (k, max(bare[k], full[k])), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(x), names)
    ax.set_ylabel("COPY ingest, thousand rows/s")
    ax.set_title("Ingest rate")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1)
    ax.margins(y=0.12)


def _latency(ax, latencies) -> None:
    pairs = before_and_after(latencies)
    names = [after.query.name for _before, after in pairs]
    y = list(range(len(names)))[::-1]
    for offset, label, color, results in (
            (0.2, "before (Story 1.2 indexes)", "#fdae6b", [b for b, _after in pairs]),
            (-0.2, "after (migration 000001)", "#31a354", [a for _before, a in pairs])):
        ax.barh([k + offset for k in y], [r.p95_ms for r in results], 0.4,
                label=f"{label}: p95", color=color)
        ax.plot([r.median_ms for r in results], [k + offset for k in y], "k|", markersize=9)
        ax.plot([r.max_ms for r in results], [k + offset for k in y], "kx", markersize=5)
    ax.plot([], [], "k|", label="median")
    ax.plot([], [], "kx", label="maximum")
    ax.set_xscale("log")
    ax.set_yticks(y, names)
    ax.set_xlabel("latency, ms (log scale)")
    ax.set_title("Query latency: p95 (bars), median (|), maximum (x)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
