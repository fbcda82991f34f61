"""The rehearsal's timeline: per rehearsed migration, the workload's latency over time (each
query a dot), the span migrate ran shaded, and the sessions waiting for a lock beneath it.

matplotlib comes with the ``bench`` extra (``make rehearse`` installs it)."""

from pathlib import Path

from .plot import check_available

__all__ = ["check_available", "write"]


def write(run, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [result for result in run.results if result.loaded and result.samples]
    if not shown:
        return
    fig, axes = plt.subplots(len(shown), 1, figsize=(12, 3.2 * len(shown)), squeeze=False)
    for ax, result in zip(axes[:, 0], shown, strict=True):
        base = result.samples[0].at  # every time here is on time.monotonic()'s clock
        ok = [s for s in result.samples if not s.error]
        bad = [s for s in result.samples if s.error]
        ax.scatter([s.at - base for s in ok], [s.latency_ms for s in ok], s=4,
                   label="workload query")
        if bad:
            ax.scatter([s.at - base for s in bad], [s.latency_ms for s in bad], s=12,
                       marker="x", color="red", label="error")
        ax.axvspan(result.started - base, result.ended - base, color="orange", alpha=0.25,
                   label="migrate runs")
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms")
        ax.set_title(f"{result.file}: {result.seconds * 1000:,.0f} ms")
        waiting = ax.twinx()
        waiting.step([s.at - base for s in result.snapshots],
                     [len(s.waiters) for s in result.snapshots], where="post", color="grey",
                     linewidth=1)
        # Whole sessions from 0, also when none waited (matplotlib would centre 0 then).
        waiting.set_ylim(0, max([len(s.waiters) for s in result.snapshots] + [1]) + 0.5)
        waiting.set_ylabel("sessions waiting for a lock (grey)")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("seconds since the workload started")
    fig.suptitle(f"Rehearsal at scale {run.scale:g}, {run.server.get('version', '?').split()[1]}"
                 f", {run.started:%Y-%m-%d}")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
