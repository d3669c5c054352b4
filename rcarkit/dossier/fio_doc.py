"""fio's JSON output (etcd's storage recipe run by hand) as an etcd-bench document.

``etcd_document_from_fio([(path, device), ...])`` parses each file with
:mod:`rcarkit.etcd.fio`, judges it with :func:`rcarkit.etcd.advice.recommend`
(the same verdict ``etcd-bench --engine fio`` gives) and returns the dict
``etcd-bench --format json`` would print, with two additions per measurement:

``percentiles_ms``  fio's reported fdatasync percentiles (``{"99.0": ms}``): plain
                    ``--output-format=json`` has no per-sample bins, so the
                    histogram is empty and the dossier draws the CDF from these.
``label``           the measured storage's name: the fio file's directory name.

``device`` is a dict of :class:`rcarkit.etcd.device.StorageDevice` fields
(``kind``, ``fstype``, ``persistent``, ...) or None ("unknown", persistent):
fio's JSON does not say what it measured, the caller may.
"""

import math
import os

from rcarkit.etcd.advice import recommend
from rcarkit.etcd.bench import PathMeasurement
from rcarkit.etcd.device import StorageDevice
from rcarkit.etcd.fio import fio_sync_stats, parse_fio_json
from rcarkit.render import json_safe



def _device(label, device):
    fields = {"path": label, "mountpoint": label, "fstype": "unknown", "mount_options": [],
              "device": None, "kind": "unknown", "rotational": None, "model": None,
              "persistent": True}
    fields.update(device or {})
    return StorageDevice(**fields)


def etcd_document_from_fio(items):
    """See the module doc; ``items`` is ``[(fio_json_path, device_dict_or_None)]``."""
    from rcarkit.dossier.reading import read_text_file
    measurements, extras = [], []
    for path, device in items:
        result = parse_fio_json(read_text_file(path), source=os.fspath(path))
        stats = fio_sync_stats(result)
        label = (device or {}).get("path") or os.path.basename(
            os.path.dirname(os.path.abspath(path))) or os.path.basename(path)
        job = result.job
        measurements.append(PathMeasurement(
            path=label, device=_device(label, device), stats=stats, block_size=2300,
            bytes_written=result.bytes_written, elapsed=job.runtime_s or 0.0,
            stopped_because="size", thresholds_decided={}, engine_version=result.version,
            notes=list(result.notes)))
        pct = {("%g" % k): round(v * 1000.0, 6) for k, v in sorted(result.sync.percentiles.items())
               if not math.isnan(v)}
        extras.append({"label": label, "percentiles_ms": pct, "source": os.fspath(path)})
    rec = recommend(measurements)
    doc = {"schema_version": 1, "command": "etcd-bench",
           "measurements": [dict(m.to_dict(), **extra) for m, extra in zip(measurements, extras)],
           "peer": None, "recommendation": rec.to_dict(),
           "emitted": {"directory": None, "kubeadm_api": None, "written": [], "removed": [],
                       "error": None}}
    return json_safe(doc)
