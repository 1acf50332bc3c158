"""The stage DAG, the task timeline and the shuffle matrices as inline SVG, for the summary a
saved notebook keeps.

The live widget draws the same pictures in the browser (``widgets/dag.js``,
``widgets/timeline.js`` and ``widgets/shuffles.js``); these are their small, script-free
twins: no tooltips beyond SVG ``<title>``, colours that read on light and dark pages, the
shuffle matrix binned as the model bins it, and the timeline's bars merged further so
that a notebook file stays small.
"""

from __future__ import annotations

from html import escape

from sparkbook.notebook.timeline import merged_per_lane

STAGE_COLORS = ("#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948",
                "#9c755f", "#8cd17d", "#a0cbe8", "#d4a6c8")  # as widgets/base.js
BOX_W, GAP_X, GAP_Y, LINE = 150, 80, 12, 12
LANE_H, LABEL_W, PLOT_W = 10, 70, 480
CELL_H, CELL_W_MAX, MATRIX_W, HOT_KEYS_SHOWN = 11, 14, 480, 4  # the shuffle heat map
SUMMARY_BARS = 400  # past this, the summary's timeline shows merged bars only
ARROW, CACHED = "\u2192 ", " \u25cf"  # between pipelined steps; after a cached one
FONT = "font-family='sans-serif' font-size='10' fill='currentColor'"


def _color(stage_id: int) -> str:
    return STAGE_COLORS[stage_id % len(STAGE_COLORS)]


def stage_depths(stages: list[dict]) -> dict[int, int]:
    """Each stage's column: 0 for a stage reading no other, else one past its parents'."""
    by_id = {s["id"]: s for s in stages}
    depth: dict[int, int] = {}

    def visit(stage_id: int, seen: frozenset) -> int:
        if stage_id not in depth:
            parents = [p for p in by_id[stage_id].get("parents", [])
                       if p in by_id and p not in seen]
            depth[stage_id] = 1 + max((visit(p, seen | {stage_id}) for p in parents),
                                      default=-1)
        return depth[stage_id]

    for s in stages:
        visit(s["id"], frozenset())
    return depth


def _arrows(stage: dict) -> list[dict]:
    return stage.get("edges") or [{"from": p} for p in stage.get("parents", [])]


def dag_svg(stages: list[dict]) -> str:
    """A box per stage, left to right by depth, its steps inside, arrows from its parents."""
    if not stages:
        return ""
    depth = stage_depths(stages)
    place: dict[int, tuple[int, int, int]] = {}
    heights: dict[int, int] = {}
    for s in stages:
        col = depth[s["id"]]
        h = LINE * (len(s.get("steps") or [s["name"]]) + 1) + 6
        y = heights.get(col, 4)
        place[s["id"]] = (4 + col * (BOX_W + GAP_X), y, h)
        heights[col] = y + h + GAP_Y
    width = 8 + (max(depth.values()) + 1) * (BOX_W + GAP_X) - GAP_X
    height = max(heights.values())
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='sb-summary-dag' width='{width}' "
             f"height='{height}' {FONT}>"]
    for s in stages:
        tx, ty, th = place[s["id"]]
        for edge in _arrows(s):
            if edge["from"] not in place:
                continue
            fx, fy, fh = place[edge["from"]]
            x1, y1, x2, y2 = fx + BOX_W, fy + fh // 2, tx, ty + th // 2
            parts.append(f"<g class='sb-dag-edge'><path d='M{x1} {y1} C{(x1 + x2) // 2} {y1} "
                         f"{(x1 + x2) // 2} {y2} {x2} {y2}' fill='none' stroke='currentColor' "
                         f"stroke-opacity='0.5'/><path d='M{x2 - 6} {y2 - 3} L{x2} {y2} "
                         f"L{x2 - 6} {y2 + 3}' fill='none' stroke='currentColor'/>")
            if edge.get("bytes") is not None:
                parts.append(f"<text x='{(x1 + x2) // 2}' y='{(y1 + y2) // 2 - 3}' "
                             f"text-anchor='middle' font-size='9'>{size_text(edge['bytes'])}, "
                             f"{edge['records']} rec</text>")
            parts.append("</g>")
    for s in stages:
        x, y, h = place[s["id"]]
        skipped = s["status"] == "SKIPPED"
        done = 0 if skipped else min(s["completed"], s["num_tasks"]) / max(s["num_tasks"], 1)
        cached = set(s.get("cached") or [])
        attempt = f" (attempt {s['attempt']})" if s.get("attempt") else ""
        dashed = " stroke-dasharray='4 3'" if skipped else ""
        tasks = "skipped" if skipped else f"{s['completed']}/{s['num_tasks']}"
        parts.append(
            f"<g class='sb-dag-box' opacity='{0.4 if skipped else 1}'>"
            f"<title>Stage {s['id']}: {escape(s['name'])}, {s['status'].lower()}</title>"
            f"<rect x='{x}' y='{y}' width='{BOX_W}' height='{h}' rx='3' fill='#8884'/>"
            f"<rect x='{x}' y='{y}' width='{BOX_W * done:.0f}' height='{h}' rx='3' "
            f"fill='#59a14f' fill-opacity='0.45'/>"
            f"<rect x='{x}' y='{y}' width='{BOX_W}' height='{h}' rx='3' fill='none' "
            f"stroke='{_color(s['id'])}' stroke-width='1.5'{dashed}/>"
            f"<text x='{x + 4}' y='{y + LINE}' font-weight='bold'>Stage {s['id']}{attempt}"
            f"</text><text x='{x + BOX_W - 4}' y='{y + LINE}' text-anchor='end'>{tasks}</text>")
        for i, step in enumerate(s.get("steps") or [s["name"]]):
            arrow = ARROW if i else ""
            mark = CACHED if step in cached else ""
            parts.append(f"<text x='{x + 8}' y='{y + LINE * (i + 2)}' fill-opacity='0.8'>"
                         f"{arrow}{escape(step)}{mark}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(tasks: list[dict], executors: list[dict]) -> str:
    """A lane per executor core and a bar per task (or merged group), coloured by stage."""
    if not tasks:
        return ""
    if len(tasks) > SUMMARY_BARS:
        tasks = merged_per_lane(tasks)
    lanes: dict[str, int] = {e["id"]: max(e.get("cores", 1), 1) for e in executors}
    for t in tasks:
        lanes[t["executor"]] = max(lanes.get(t["executor"], 1), t["lane"] + 1)
    first_row, row = {}, 0
    for executor_id, n in lanes.items():
        first_row[executor_id], row = row, row + n
    span = max(max(t["end"] or t["start"] for t in tasks), 0.001)
    height = row * LANE_H + 14
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='sb-summary-timeline' "
             f"width='{LABEL_W + PLOT_W + 30}' height='{height}' {FONT}>"]
    for executor_id, row_of in first_row.items():
        y = row_of * LANE_H
        parts.append(f"<text x='0' y='{y + LANE_H - 1}'>executor {escape(executor_id)}</text>")
    for t in tasks:
        y = (first_row[t["executor"]] + t["lane"]) * LANE_H
        x = LABEL_W + PLOT_W * t["start"] / span
        w = max(PLOT_W * ((t["end"] or span) - t["start"]) / span, 1)
        statuses = t.get("statuses") or {t["status"]: 1}
        what = (f"{t['count']} tasks, " + ", ".join(f"{n} {status.lower()}" for status, n
                                                    in statuses.items())
                if t.get("count") else f"task {t['index']}, {t['status'].lower()}")
        stroke = (" stroke='#d32f2f' stroke-width='1.5'" if t["status"] in ("FAILED", "KILLED")
                  else "")
        parts.append(f"<rect class='sb-task' x='{x:.1f}' y='{y + 1}' width='{w:.1f}' "
                     f"height='{LANE_H - 2}' fill='{_color(t['stage'])}'{stroke}><title>stage "
                     f"{t['stage']} {what}</title></rect>")
        failed = statuses.get("FAILED", 0) + statuses.get("KILLED", 0)
        if t["status"] == "MIXED" and failed:
            # a merged bar's failed and killed share, as a red stripe along its foot
            parts.append(f"<rect x='{x:.1f}' y='{y + LANE_H - 3}' "
                         f"width='{w * failed / t['count']:.1f}' height='2' fill='#d32f2f'/>")
    axis = row * LANE_H + 11
    parts.append(f"<text x='{LABEL_W}' y='{axis}'>0 s</text><text x='{LABEL_W + PLOT_W}' "
                 f"y='{axis}' text-anchor='end'>{span:.2f} s</text></svg>")
    return "".join(parts)


def warnings_html(stages: list[dict]) -> str:
    """What the stages warn of (a large closure, say), a line each under the DAG."""
    lines = [f"<li>Stage {s['id']}: {escape(w)}</li>" for s in stages
             for w in s.get("warnings") or []]
    return f"<ul class='sb-summary-warnings'>{''.join(lines)}</ul>" if lines else ""


def _column_name(sh: dict, p: int) -> str:
    runs = sh.get("columns")
    if runs and runs[p][1] - runs[p][0] > 1:
        return f"partitions {runs[p][0]}\u2013{runs[p][1] - 1}"
    return f"partition {runs[p][0] if runs else p}"


def shuffle_html(sh: dict) -> str:
    """A shuffle's heat map (a row per map executor, a cell per reduce partition or run of
    them, shaded by bytes, its bytes and records in a ``<title>``), its top hot keys and
    its hint on skew."""
    unit = sh.get("records_are") or "records"
    rows, executors = sh["bytes"], sh["executors"]
    n = max((len(r) for r in rows), default=0)
    cell_w = max(2, min(CELL_W_MAX, MATRIX_W // max(n, 1)))
    top = max((b for r in rows for b in r), default=0) or 1
    reduce = ", ".join(map(str, sh["reduce_stages"]))
    binned = f" ({n} columns)" if sh.get("columns") else ""
    parts = [f"<div class='sb-summary-shuffle'>Shuffle {sh['shuffle_id']}: stage "
             f"{sh['map_stage']} \u2192 stage {reduce} &middot; {sh['partitions']} partitions"
             f"{binned}, {size_text(sum(sh['partition_bytes']))}<br>"
             f"<svg xmlns='http://www.w3.org/2000/svg' class='sb-summary-matrix' "
             f"width='{LABEL_W + n * cell_w + 4}' height='{len(rows) * CELL_H + 2}' {FONT}>"
             f"<g fill='{STAGE_COLORS[0]}'>"]
    for r, (executor_id, row) in enumerate(zip(executors, rows)):
        # A row's cells share its y (through the group) and its executor (in the label).
        parts.append(f"<g transform='translate(0 {r * CELL_H})'><text y='{CELL_H - 2}' "
                     f"fill='currentColor'>executor {escape(executor_id)}</text>")
        for p, b in enumerate(row):
            shade = f"{0.15 + 0.85 * b / top:.2f}" if b else "0.04"
            parts.append(f"<rect x='{LABEL_W + p * cell_w}' width='{max(cell_w - 1, 1)}' "
                         f"height='{CELL_H - 1}' fill-opacity='{shade}'><title>executor "
                         f"{escape(executor_id)} \u2192 {_column_name(sh, p)}: {size_text(b)}, "
                         f"{sh['records'][r][p]} {unit}</title></rect>")
        parts.append("</g>")
    parts.append("</g></svg>")
    if sh.get("hot_keys"):
        keys = ", ".join(f"{escape(key)} {records} {unit} ({100 * share:.0f} %)"
                         for key, records, share in sh["hot_keys"][:HOT_KEYS_SHOWN])
        parts.append(f"<div class='sb-summary-hot-keys'>hot keys (sampled): {keys}</div>")
    if sh.get("hint"):
        parts.append(f"<div class='sb-summary-hint'>{escape(sh['hint'])}</div>")
    parts.append("</div>")
    return "".join(parts)


def size_text(n: int) -> str:
    """Bytes as a person reads them: 512 B, 1.5 KiB, 3.0 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
