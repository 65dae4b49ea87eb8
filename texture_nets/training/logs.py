"""The CSV log of a run that may be resumed: one ``logs/metrics.csv`` over all its sittings.

Lightning's CSV logger deletes an existing ``metrics.csv`` when a run starts again, so every
``--resume`` lost the curve of the sittings before it. This one keeps the earlier rows and
continues the file.
"""

from __future__ import annotations

import csv

from lightning.fabric.loggers.csv_logs import _ExperimentWriter as _FabricExperimentWriter
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class ContinuedWriter(ExperimentWriter):
    """Keeps the rows already in ``metrics.csv``; at its first save drops those at or after
    the first step it logs (logged after the checkpoint the run resumed from, so logged again
    now), then appends."""

    def _check_log_dir_exists(self) -> None:
        self._earlier: list[dict[str, str]] | None = None
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self._earlier = list(csv.DictReader(file))

    def save(self) -> None:
        if self._earlier is not None and self.metrics:
            first = min(int(row["step"]) for row in self.metrics)
            kept = [row for row in self._earlier if int(float(row["step"])) < first]
            self._earlier = None
            if not kept:  # nothing to keep: the file starts afresh, as Lightning's would
                self._fs.rm_file(self.metrics_file_path)
            else:
                self.metrics_keys = sorted(set().union(*kept))
                with self._fs.open(self.metrics_file_path, "w", newline="") as file:
                    writer = csv.DictWriter(file, fieldnames=self.metrics_keys)
                    writer.writeheader()
                    writer.writerows(kept)
        super().save()


class RunCSVLogger(CSVLogger):
    """``CSVLogger`` writing ``OUT/logs/metrics.csv`` through a ``ContinuedWriter``."""

    def __init__(self, out: str) -> None:
        super().__init__(out, name="logs", version="")

    @property
    @rank_zero_experiment  # other DDP ranks get a writer that does nothing, as Lightning's
    def experiment(self) -> _FabricExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuedWriter(log_dir=self.log_dir)
        return self._experiment
