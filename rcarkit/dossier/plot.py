"""The storage picture: fdatasync latency CDFs as an inline SVG, drawn in plain Python.

``storage_svg(etcd_doc)`` returns one ``<svg>`` element (no scripts, no external
references, so it can sit inside a self-contained HTML page or next to a
Markdown file) or ``""`` when the document has no distribution to draw.

Axes: x is the latency on a log scale (decades, 0.1 us .. seconds); y is the
share of fdatasync calls at or below it on a "nines" scale
(``-log10(1 - F)``: 0 %, 90 %, 99 %, 99.9 %, 99.99 %), so the tail that
etcd cares about gets as much room as the bulk. One line per measured path:

* from the log histogram of ``etcd-bench`` (``stats.histogram``, cumulative
  share at each bucket's upper bound), or
* from fio's reported percentiles (``percentiles_ms``) when the fio run had
  no per-sample bins (plain ``--output-format=json``).

Marked: etcd's 10 ms line (a dashed vertical line: "p99 duration should be
less than 10ms", etcd FAQ) and, on the 99 % row, each path's p99 point with
its 95 % confidence interval as a bar.

Why no plotting library: the report may be made on the board itself, and
matplotlib with numpy, Pillow and its fonts is tens of MB for an arm64 image;
this is ~200 lines of SVG text with the standard library.
"""

import math
from html import escape

WIDTH, HEIGHT = 800, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 210, 30, 50
Y_NINES = 4.0  # 99.99 %
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
ETCD_P99_MS = 10.0


def _nines(fraction):
    if fraction >= 1.0:
        return Y_NINES
    return min(Y_NINES, -math.log10(1.0 - fraction))


def cdf_points(measurement):
    """``[(latency_ms, share), ...]`` ascending, from the histogram or percentiles."""
    stats = measurement.get("stats") or {}
    hist = stats.get("histogram") or []
    total = sum(int(b.get("count") or 0) for b in hist)
    points = []
    if total > 0:
        low = stats.get("min_ms")
        if low:
            points.append((float(low), 0.0))
        cum = 0
        for bucket in hist:
            cum += int(bucket.get("count") or 0)
            le = bucket.get("le_ms")
            if le == "+Inf" or le is None:
                le = stats.get("max_ms")
            if le is None:
                continue
            points.append((float(le), cum / float(total)))
        mx = stats.get("max_ms")
        if mx and points and mx < points[-1][0]:   # the last bucket ends above the max
            points[-1] = (float(mx), 1.0)
        return points
    pct = measurement.get("percentiles_ms") or {}
    if pct:
        if stats.get("min_ms"):
            points.append((float(stats["min_ms"]), 0.0))
        for key, value in sorted(pct.items(), key=lambda kv: float(kv[0])):
            if value is not None and value > 0:
                points.append((float(value), float(key) / 100.0))
        if stats.get("max_ms"):
            points.append((float(stats["max_ms"]), 1.0))
    return points


def _label(ms):
    """Three significant digits in the readable unit: ``97ms``, ``289us``, ``322ns``."""
    if ms < 0.001:
        return "%.3gns" % (ms * 1e6)
    if ms < 1.0:
        return "%.3gus" % (ms * 1e3)
    if ms < 1000.0:
        return "%.3gms" % ms
    return "%.3gs" % (ms / 1000.0)


def storage_svg(doc):
    """See the module doc."""
    measurements = [m for m in (doc or {}).get("measurements") or [] if cdf_points(m)]
    if not measurements:
        return ""
    series = [(m, cdf_points(m)) for m in measurements]
    xs = [p[0] for _, pts in series for p in pts if p[0] > 0]
    lo = math.floor(math.log10(min(xs)))
    hi = math.ceil(math.log10(max(max(xs), ETCD_P99_MS * 3)))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(ms):
        return LEFT + (math.log10(max(ms, 10.0 ** lo)) - lo) / float(hi - lo) * pw

    def py(fraction):
        return TOP + ph - _nines(fraction) / Y_NINES * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" id="storage-plot" class="plot" '
           'viewBox="0 0 %d %d" width="%d" height="%d" role="img" '
           'aria-labelledby="storage-plot-title">' % (WIDTH, HEIGHT, WIDTH, HEIGHT),
           '<title id="storage-plot-title">fdatasync latency CDF per measured path, log '
           'scale, with etcd\'s 10 ms line and each p99 with its 95 %% interval</title>',
           '<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#999"/>'
           % (LEFT, TOP, pw, ph)]
    for d in range(lo, hi + 1):          # decades: grid and labels
        x = px(10.0 ** d)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (x, TOP, x, TOP + ph))
        out.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%s</text>'
                   % (x, TOP + ph + 16, escape(_label(10.0 ** d))))
    for nines, text in ((0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%")):
        y = TOP + ph - nines / Y_NINES * ph
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (LEFT, y, LEFT + pw, y))
        out.append('<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>'
                   % (LEFT - 6, y + 4, text))
    out.append('<text x="%.1f" y="%d" font-size="12" text-anchor="middle">fdatasync latency '
               '(log scale)</text>' % (LEFT + pw / 2.0, HEIGHT - 12))
    out.append('<text x="14" y="%.1f" font-size="12" text-anchor="middle" '
               'transform="rotate(-90 14 %.1f)">share of calls at or below</text>'
               % (TOP + ph / 2.0, TOP + ph / 2.0))
    x10 = px(ETCD_P99_MS)
    out.append('<line class="etcd-limit" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" '
               'stroke-width="1.5" stroke-dasharray="6 4"/>' % (x10, TOP, x10, TOP + ph))
    out.append('<text x="%.1f" y="%d" font-size="11">etcd: p99 &lt; 10 ms</text>'
               % (x10 + 4, TOP + 12))
    for i, (m, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        path = []
        prev_y = None
        for ms, frac in pts:         # a step line: the share rises at each bound
            x, y = px(ms), py(frac)
            if prev_y is None:
                path.append("M%.1f %.1f" % (x, y))
            else:
                path.append("L%.1f %.1f L%.1f %.1f" % (x, prev_y, x, y))
            prev_y = y
        label = m.get("label") or m.get("path") or "path %d" % (i + 1)
        out.append('<path class="series" d="%s" fill="none" stroke="%s" stroke-width="2">'
                   '<title>%s</title></path>' % (" ".join(path), color, escape(label)))
        stats = m.get("stats") or {}
        ci = stats.get("p99_ci_ms") or [None, None]
        p99 = stats.get("p99_ms")
        y99 = py(0.99)
        if p99:
            lo_ci = ci[0] if ci[0] else p99
            hi_ci = ci[1] if ci[1] else 10.0 ** hi
            out.append('<line class="p99-interval" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                       'stroke="%s" stroke-width="7" stroke-opacity="0.35"/>'
                       % (px(lo_ci), y99, px(hi_ci), y99, color))
            out.append('<circle class="p99" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s p99 '
                       '%s</title></circle>' % (px(p99), y99, color, escape(label),
                                                escape(_label(p99))))
        ly = TOP + 10 + i * 34
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>'
                   % (LEFT + pw + 12, ly, LEFT + pw + 32, ly, color))
        out.append('<text x="%d" y="%d" font-size="12">%s</text>'
                   % (LEFT + pw + 36, ly + 4, escape(label[:22])))
        out.append('<text x="%d" y="%d" font-size="10" fill="#555">p99 %s [%s, %s]</text>'
                   % (LEFT + pw + 36, ly + 18, escape(_label(p99) if p99 else "?"),
                      escape(_label(ci[0]) if ci[0] else "?"),
                      escape(_label(ci[1]) if ci[1] else "?")))
    out.append("</svg>")
    return "\n".join(out) + "\n"
