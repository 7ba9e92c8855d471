"""Plotly figures of the dashboard: how library results look, nothing about how they are computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engagekit import LEVEL_LABELS, LEVELS, format_share

# One colour per level on every chart: green (most) to red (least), grey for not judged.
LEVEL_COLORS: dict[str, str] = {
    "most_engaged": "#15803d",
    "somewhat_engaged": "#60a5fa",
    "least_engaged": "#f97316",
    "everyone_else": "#9ca3af",
}
PREVIOUS_OPACITY = 0.45
FONT = {"family": "sans-serif", "size": 13}


def _layout(fig: go.Figure, *, height: int = 340, **extra) -> go.Figure:
    settings = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "font": FONT,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    fig.update_layout(**{**settings, **extra})
    return fig


def level_bars(changes: pd.DataFrame) -> go.Figure:
    """Contacts per level, previous beside current (``EngagementReport.level_changes()``)."""
    labels = [label.replace(" ", "<br>", 1) for label in changes["label"]]  # horizontal, in two lines
    colors = [LEVEL_COLORS[level] for level in changes["level"]]
    fig = go.Figure(
        [
            go.Bar(
                name="Previous", x=labels, y=changes["previous"], marker_color=colors,
                marker_opacity=PREVIOUS_OPACITY, text=changes["previous"], texttemplate="%{text:,}",
                textposition="outside",
                hovertemplate="%{x}<br>previous: %{y:,}<extra></extra>",
            ),
            go.Bar(
                name="Current", x=labels, y=changes["current"], marker_color=colors,
                text=changes["current"], texttemplate="%{text:,}", textposition="outside",
                hovertemplate="%{x}<br>current: %{y:,}<extra></extra>",
            ),
        ]
    )
    return _layout(fig, barmode="group", yaxis_title="contacts", showlegend=False, xaxis_tickangle=0,
                   yaxis_range=[0, max(changes["current"].max(), changes["previous"].max()) * 1.15])


def score_histogram(scores: np.ndarray, least_max: float, most_min: float) -> go.Figure:
    """Scores of judged contacts in 40 bins, with the two threshold lines.

    Binned here, not in the browser: a million scores would otherwise travel to the page.
    """
    counts, edges = np.histogram(np.asarray(scores, dtype=float), bins=40)
    fig = go.Figure(
        go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges) * 0.95,
               customdata=np.column_stack([edges[:-1], edges[1:]]), marker_color="#94a3b8",
               hovertemplate="score %{customdata[0]:.2f}–%{customdata[1]:.2f}<br>"
               "%{y:,} contacts<extra></extra>")
    )
    # The threshold lines are legend entries, so their labels never sit on top of the bars.
    for value, level, text in ((least_max, "least_engaged", "Least engaged: score ≤ {:.2f}"),
                               (most_min, "most_engaged", "Most engaged: score ≥ {:.2f}")):
        if pd.notna(value):
            fig.add_trace(go.Scatter(
                x=[value, value], y=[0, 1], yaxis="y2", mode="lines", name=text.format(value),
                line={"color": LEVEL_COLORS[level], "width": 3, "dash": "dash"}, hoverinfo="name",
            ))
    fig.data[0].showlegend = False
    return _layout(
        fig, xaxis_title="score (opens and clicks per send)", yaxis_title="contacts", bargap=0.05,
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False},
    )


def share_history(history: pd.DataFrame) -> go.Figure:
    """Share per level at each as-of date, stacked (``level_history`` output)."""
    fig = go.Figure()
    for level in LEVELS:
        rows = history[history["level"] == level]
        fig.add_trace(
            go.Scatter(
                x=rows["as_of"], y=rows["share"], name=LEVEL_LABELS[level], stackgroup="levels",
                mode="lines", line={"color": LEVEL_COLORS[level], "width": 1},
                customdata=rows["contacts"],
                hovertemplate="%{x|%Y-%m-%d}<br>%{y:.1%} (%{customdata:,} contacts)<extra>"
                + LEVEL_LABELS[level] + "</extra>",
            )
        )
    return _layout(fig, yaxis_tickformat=".0%", yaxis_range=[0, 1], hovermode="x unified",
                   legend_traceorder="reversed")


def preview_bars(frame: pd.DataFrame) -> go.Figure:
    """Contacts per level now and under candidate settings (columns level, label, now, preview)."""
    colors = [LEVEL_COLORS[level] for level in frame["level"]]
    fig = go.Figure(
        [
            go.Bar(name="In force", x=frame["label"], y=frame["now"], marker_color=colors,
                   marker_opacity=PREVIOUS_OPACITY, text=frame["now"], texttemplate="%{text:,}",
                   textposition="outside"),
            go.Bar(name="Preview", x=frame["label"], y=frame["preview"], marker_color=colors,
                   text=frame["preview"], texttemplate="%{text:,}", textposition="outside"),
        ]
    )
    top = max(frame["now"].max(), frame["preview"].max()) * 1.15
    return _layout(fig, barmode="group", yaxis_title="contacts", height=320, showlegend=False,
                   yaxis_range=[0, top])


def sankey(counts: pd.DataFrame) -> go.Figure:
    """Previous level (left) to current level (right), from the 4 x 4 transition counts."""
    n = len(LEVELS)
    labels = [f"{LEVEL_LABELS[level]} (before)" for level in LEVELS] + [
        f"{LEVEL_LABELS[level]} (now)" for level in LEVELS
    ]
    sources, targets, values, colors = [], [], [], []
    for i, previous in enumerate(LEVELS):
        for j, current in enumerate(LEVELS):
            value = int(counts.loc[previous, current])
            if value:
                sources.append(i)
                targets.append(n + j)
                values.append(value)
                colors.append(_rgba(LEVEL_COLORS[previous], 0.35))
    node_colors = [LEVEL_COLORS[level] for level in LEVELS] * 2
    left = _stacked_centres([int(counts.loc[level].sum()) for level in LEVELS])
    right = _stacked_centres([int(counts[level].sum()) for level in LEVELS])
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={"label": labels, "color": node_colors, "pad": 14, "thickness": 18,
                  "x": [0.001] * n + [0.999] * n, "y": left + right,
                  "hovertemplate": "%{label}: %{value:,}<extra></extra>"},
            link={"source": sources, "target": targets, "value": values, "color": colors,
                  "hovertemplate": "%{source.label} → %{target.label}: %{value:,}<extra></extra>"},
        )
    )
    return _layout(fig, height=420)


def _stacked_centres(sizes: list[int], gap: float = 0.04) -> list[float]:
    """Node centres (0..1, top down) for nodes stacked in level order, as tall as their size.

    Fixed positions keep the levels in their natural order on both sides; plotly would otherwise
    sort the nodes to shorten the links.
    """
    total = sum(sizes) or 1
    room = 1 - gap * (len(sizes) - 1)
    centres, top = [], 0.0
    for size in sizes:
        height = room * size / total
        centres.append(min(max(top + height / 2, 0.001), 0.999))
        top += height + gap
    return centres


# The matrix is shaded in a neutral slate, not in the colour of a level; dark enough to read at 0 %.
MATRIX_SCALE = [[0.0, "#f8fafc"], [1.0, "#94a3b8"]]


def transition_heatmap(counts: pd.DataFrame, row_shares: pd.DataFrame,
                       chosen: tuple[str, str] | None = None) -> go.Figure:
    """The 4 x 4 matrix: colour by row share, text with count and share; click a cell to pick it;
    the ``chosen`` (previous, current) cell is outlined.

    A heatmap cell cannot be selected in plotly, so an invisible marker sits on each cell: clicking
    it selects that (previous, current) pair through ``st.plotly_chart(on_select=...)``.
    """
    # Two-line labels keep the column headings horizontal in a narrow chart.
    previous_labels = [LEVEL_LABELS[level] for level in LEVELS]
    current_labels = [LEVEL_LABELS[level].replace(" ", "<br>", 1) for level in LEVELS]
    text = [
        [f"{int(counts.loc[p, c]):,}<br>{format_share(row_shares.loc[p, c])}" for c in LEVELS]
        for p in LEVELS
    ]
    fig = go.Figure(
        go.Heatmap(
            z=row_shares.to_numpy(), x=current_labels, y=previous_labels, text=text,
            texttemplate="%{text}", colorscale=MATRIX_SCALE, zmin=0, zmax=1, showscale=False,
            hoverinfo="skip",
        )
    )
    xs, ys, custom = [], [], []
    for p in LEVELS:
        for c in LEVELS:
            xs.append(LEVEL_LABELS[c].replace(" ", "<br>", 1))
            ys.append(LEVEL_LABELS[p])
            custom.append([p, c, int(counts.loc[p, c]), LEVEL_LABELS[p], LEVEL_LABELS[c]])
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="markers", customdata=custom, showlegend=False,
            marker={"size": 60, "symbol": "square", "opacity": 0.01, "color": "#000000"},
            hovertemplate="%{customdata[3]} → %{customdata[4]}<br>%{customdata[2]:,} contacts"
            "<br>click to see them<extra></extra>",
        )
    )
    if chosen is not None:
        row, column = LEVELS.index(chosen[0]), LEVELS.index(chosen[1])
        fig.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                      line={"color": "#111827", "width": 3})
    fig.update_yaxes(autorange="reversed", title="previous level")
    fig.update_xaxes(side="top", title="current level", tickangle=0)
    return _layout(fig, height=400, clickmode="event+select", dragmode=False,
                   margin={"l": 10, "r": 10, "t": 70, "b": 10})


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def lift_chart(lift) -> go.Figure:
    """The measured lift in points with its 95 % interval, against no effect (``engagekit`` ``Lift``)."""
    low, mid, high = (100 * value for value in (lift.absolute_low, lift.absolute, lift.absolute_high))
    color = "#15803d" if low > 0 else "#b91c1c" if high < 0 else "#6b7280"
    fig = go.Figure(go.Scatter(
        x=[mid], y=["Lift"], mode="markers", marker={"size": 14, "color": color},
        error_x={"type": "data", "symmetric": False, "array": [high - mid], "arrayminus": [mid - low],
                 "thickness": 3, "width": 12, "color": color},
        hovertemplate=f"lift {mid:+.1f} points<br>95% interval {low:+.1f} to {high:+.1f}<extra></extra>",
    ))
    fig.add_vline(x=0, line_dash="dash", line_color="#374151", annotation_text="no effect",
                  annotation_position="top")
    span = max(abs(low), abs(high), 1.0) * 1.3
    return _layout(fig, height=170, showlegend=False, xaxis_title="points (treatment rate minus holdout rate)",
                   xaxis_range=[-span, span], yaxis_visible=False)


def success_rates(lift) -> go.Figure:
    """Success rate of the treatment beside the holdout."""
    groups = ["Emailed (treatment)", "Held out"]
    rates = [lift.treatment_rate, lift.holdout_rate]
    fig = go.Figure(go.Bar(
        x=groups, y=rates, marker_color=["#2563eb", "#9ca3af"],
        text=[format_share(rate) for rate in rates], textposition="outside",
        hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    ))
    return _layout(fig, height=260, showlegend=False, yaxis_tickformat=".0%",
                   yaxis_range=[0, max(max(rates), 0.01) * 1.25])


def calibration(table: pd.DataFrame) -> go.Figure:
    """Predicted against observed slip rates per bin of risk, with the diagonal of perfect calibration."""
    top = float(max(table["predicted"].max(), table["observed"].max(), 0.05)) * 1.1
    fig = go.Figure([
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"dash": "dash", "color": "#9ca3af"},
                   name="perfectly calibrated", hoverinfo="skip"),
        go.Scatter(x=table["predicted"], y=table["observed"], mode="lines+markers", name="slip risk",
                   marker={"color": "#2563eb", "size": 9},
                   hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<extra></extra>"),
    ])
    return _layout(fig, height=320, xaxis_title="predicted slip rate", yaxis_title="observed slip rate",
                   xaxis_tickformat=".0%", yaxis_tickformat=".0%")


ACTIVITY_ORDER = ["Ordered", "Clicked", "Opened", "Sent", "Bounced", "Unsubscribed"]
ACTIVITY_COLORS = {"Ordered": "#7c3aed", "Clicked": "#15803d", "Opened": "#60a5fa", "Sent": "#cbd5e1",
                   "Bounced": "#b91c1c", "Unsubscribed": "#f97316"}


def activity_timeline(timeline: pd.DataFrame) -> go.Figure:
    """One contact's sends, opens, clicks and orders over time (``ContactCard.timeline``)."""
    fig = go.Figure([
        go.Scatter(x=rows["at"], y=[what] * len(rows), mode="markers", name=what,
                   marker={"size": 9, "color": ACTIVITY_COLORS[what], "symbol": "line-ns-open"
                           if what == "Sent" else "circle"},
                   customdata=rows["campaign"].fillna("").to_numpy(),
                   hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y} %{customdata}<extra></extra>")
        for what in ACTIVITY_ORDER if len(rows := timeline[timeline["what"] == what])
    ])
    return _layout(fig, height=240, showlegend=False,
                   yaxis={"categoryorder": "array", "categoryarray": ACTIVITY_ORDER[::-1]})
